"""DRF authentication for the dashboard and integrations.

- ``Authorization: Bearer <JWT>``: a dashboard session;
- ``Authorization: Bearer SDP_<id>.<secret>`` (or without "Bearer"): an API key.

Every request re-loads the user (or the key and its creator), so a deactivated
user or a deleted key is refused at once, and the request's tenant becomes the
token's or key's tenant. A session token is refused once its session was logged
out, or once the user's password changed after it was issued (token version).
"""

from __future__ import annotations

import uuid
from functools import cache

import jwt
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from auth_org.apikeys import PREFIX, authenticate_key
from auth_org.models import APIKey, Organization, RevokedSession, User
from auth_org.tokens import decode_token
from core import sqljson
from core.middleware import client_ip
from core.modelrows import RowReader


@cache
def _session_user_query() -> tuple[str, RowReader, RowReader]:
    """The SQL of ``User.objects.select_related("organization").defer(
    "organization__logo").filter(pk=, organization_id=, is_active=True)``, and
    the readers of its row (core.modelrows), built once per process: the ORM
    would compile it again on every request, for more CPU than it takes to run."""
    users = RowReader(User)
    organizations = RowReader(
        Organization,
        [f for f in Organization._meta.concrete_fields if f.name != "logo"],
    )
    columns = users.columns("u") + organizations.columns("o")
    # Names come from the models' metadata; values are parameters.
    sql = (
        f"SELECT {', '.join(columns)} FROM {User._meta.db_table} u "  # noqa: S608
        f"JOIN {Organization._meta.db_table} o ON o.id = u.organization_id "
        "WHERE u.id = %s AND u.organization_id = %s AND u.is_active "
        f"AND NOT EXISTS (SELECT 1 FROM {RevokedSession._meta.db_table} r "
        "WHERE r.session_id = %s)"
    )
    return sql, users, organizations


def session_user(user_id, tenant_id, session_id=None) -> User | None:
    """The active user ``user_id`` of organization ``tenant_id`` with its
    organization (logo deferred), read fresh on every request in one query;
    None when the session ``session_id`` was logged out."""
    try:
        user_id, tenant_id = uuid.UUID(str(user_id)), uuid.UUID(str(tenant_id))
        if session_id is not None:
            session_id = uuid.UUID(str(session_id))
    except ValueError:
        return None
    sql, users, organizations = _session_user_query()
    row = sqljson.fetch_row(sql, [user_id, tenant_id, session_id])
    if row is None:
        return None
    split = len(users.fields)
    user = users.instance(row[:split])
    user.organization = organizations.instance(row[split:])
    return user


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
        user = session_user(user_id, claims["tenant_id"], claims.get("sid"))
        if (
            user is None
            # Issued before the user's last password change or reset.
            or claims.get("ver", 0) != user.token_version
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
