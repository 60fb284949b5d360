"""OpenAPI descriptions of the authentication schemes (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "auth_org.authentication.JWTAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "auth_org.authentication.APIKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "SDP_<id>.<secret>, with or without 'Bearer '",
        }


class AdminBasicScheme(OpenApiAuthenticationExtension):
    target_class = "auth_org.tenants_api.AdminBasicAuthentication"
    name = "adminBasic"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}
