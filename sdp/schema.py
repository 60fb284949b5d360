"""The API's OpenAPI description: drf-spectacular's AutoSchema fitted to its views
(DEFAULT_SCHEMA_CLASS), and the SEP token schemes. Kept apart from sdp.openapi:
drf-spectacular's views import the schema class while they load."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, for this API's shape: most views are plain APIViews
    that validate their JSON themselves, so they are described as taking and
    answering a JSON object (instead of a warning per view in `check --deploy`);
    a GET on a collection is a ``list``, and a parameter inside a path names the
    operation (``/receivers/{receiver_id}/wallets/{id}``), so operation ids are
    unique without numeral suffixes."""

    def _has_serializer(self) -> bool:
        view = self.view
        return bool(
            getattr(view, "serializer_class", None)
            or "get_serializer_class" in type(view).__dict__
        )

    def get_request_serializer(self):
        if not self._has_serializer():
            has_body = self.method in ("POST", "PUT", "PATCH")
            return OpenApiTypes.OBJECT if has_body else None
        return super().get_request_serializer()

    def get_response_serializers(self):
        if not self._has_serializer():
            return OpenApiTypes.OBJECT
        return super().get_response_serializers()

    def get_operation_id(self):
        segments = [s for s in self.path.strip("/").split("/") if s]
        tokens = []
        for position, segment in enumerate(segments):
            if segment.startswith("{"):
                if position < len(segments) - 1:
                    tokens.append("by_" + segment.strip("{}"))
                continue
            tokens.append(segment.replace("-", "_").replace(".", "_"))
        if self.method == "GET":
            last_is_param = bool(segments) and segments[-1].startswith("{")
            action = "retrieve" if last_is_param else "list"
        else:
            action = self.method_mapping[self.method.lower()]
        return "_".join([*tokens, action]) if tokens else action


class Sep10Scheme(OpenApiAuthenticationExtension):
    target_class = "receivers.sep.views.Sep10TokenAuthentication"
    name = "sep10Token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class Sep24Scheme(OpenApiAuthenticationExtension):
    target_class = "receivers.sep.views.Sep24TokenAuthentication"
    name = "sep24Token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
