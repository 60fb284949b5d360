"""DRF authentication for the dashboard and integrations.

- ``Authorization: Bearer <JWT>``: a dashboard session;
- ``Authorization: Bearer SDP_<id>.<secret>`` (or without "Bearer"): an API key.

Every request re-loads the user (or the key and its creator), so a deactivated
user or a deleted key is refused at once, and the request's tenant becomes the
token's or key's tenant.
"""

from __future__ import annotations

import jwt
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from auth_org.apikeys import PREFIX, authenticate_key
from auth_org.models import APIKey, User
from auth_org.tokens import decode_token
from sdp.middleware import client_ip


class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, dict] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != self.keyword or not token or token.strip().startswith(PREFIX):
            return None
        try:
            claims = decode_token(token.strip())
            user_id = claims["user"]["id"]
        except (jwt.InvalidTokenError, KeyError, TypeError) as exc:
            raise exceptions.AuthenticationFailed() from exc
        user = (
            User.objects.select_related("organization")
            .filter(pk=user_id, organization_id=claims["tenant_id"], is_active=True)
            .first()
        )
        if (
            user is None
            or user.organization is None
            or not user.organization.is_serving
        ):
            raise exceptions.AuthenticationFailed()
        request._request.tenant = user.organization
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class APIKeyAuthentication(authentication.BaseAuthentication):
    """``request.auth`` is the APIKey; ``request.user`` its creator."""

    def authenticate(self, request: Request) -> tuple[User, APIKey] | None:
        header = request.headers.get("Authorization", "").strip()
        scheme, _, rest = header.partition(" ")
        raw = rest.strip() if scheme == "Bearer" else header
        if not raw.startswith(PREFIX):
            return None
        try:
            key = authenticate_key(raw, ip=client_ip(request._request))
        except ValueError as exc:  # a malformed id that slipped past parsing
            raise exceptions.AuthenticationFailed() from exc
        if key is None:
            raise exceptions.AuthenticationFailed()
        request._request.tenant = key.organization
        return key.created_by, key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
