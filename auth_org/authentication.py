"""DRF authentication for the dashboard: ``Authorization: Bearer <JWT>``.

Every request re-loads the user, so a deactivated user is refused at once, and the
request's tenant becomes the token's tenant.
"""

from __future__ import annotations

import jwt
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from auth_org.models import User
from auth_org.tokens import decode_token


class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, dict] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != self.keyword or not token or token.startswith("SDP_"):
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
        if user is None or user.organization is None or user.organization.deleted_at:
            raise exceptions.AuthenticationFailed()
        request._request.tenant = user.organization
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
