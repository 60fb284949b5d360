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
from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from auth_org.apikeys import PREFIX, authenticate_key
from auth_org.models import APIKey, Organization, RevokedSession, User
from auth_org.tokens import decode_token
from core import sqljson
from core.middleware import client_ip


@cache
def _session_user_query() -> tuple[str, list, list, list, list]:
    """The SQL of ``User.objects.select_related("organization").defer(
    "organization__logo").filter(pk=, organization_id=, is_active=True)``,
    compiled once per process: building it through the ORM on every request
    cost far more CPU than running it (docs/performance.md)."""
    user_fields = list(User._meta.concrete_fields)
    org_fields = [f for f in Organization._meta.concrete_fields if f.name != "logo"]
    columns = [f'u."{f.column}"' for f in user_fields] + [
        f'o."{f.column}"' for f in org_fields
    ]
    # Names come from the models' metadata; values are parameters.
    sql = (
        f"SELECT {', '.join(columns)} FROM {User._meta.db_table} u "  # noqa: S608
        f"JOIN {Organization._meta.db_table} o ON o.id = u.organization_id "
        "WHERE u.id = %s AND u.organization_id = %s AND u.is_active "
        f"AND NOT EXISTS (SELECT 1 FROM {RevokedSession._meta.db_table} r "
        "WHERE r.session_id = %s)"
    )

    def converters(model, fields):
        found = []
        for field in fields:
            col = field.get_col(model._meta.db_table)
            funcs = connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            )
            found.append((col, funcs))
        return found

    return (
        sql,
        user_fields,
        org_fields,
        converters(User, user_fields),
        converters(Organization, org_fields),
    )


def _convert(values: list, converters: list) -> list:
    for i, (col, funcs) in enumerate(converters):
        for func in funcs:
            values[i] = func(values[i], col, connection)
    return values


def session_user(user_id, tenant_id, session_id=None) -> User | None:
    """The active user ``user_id`` of organization ``tenant_id`` with its
    organization (logo deferred), read fresh on every request; None when the
    session ``session_id`` was logged out."""
    try:
        user_id, tenant_id = uuid.UUID(str(user_id)), uuid.UUID(str(tenant_id))
        if session_id is not None:
            session_id = uuid.UUID(str(session_id))
    except ValueError:
        return None
    sql, user_fields, org_fields, user_conv, org_conv = _session_user_query()
    row = sqljson.fetch_row(sql, [user_id, tenant_id, session_id])
    if row is None:
        return None
    row = list(row)
    split = len(user_fields)
    user = User.from_db(
        connection.alias,
        [f.attname for f in user_fields],
        _convert(row[:split], user_conv),
    )
    organization = Organization.from_db(
        connection.alias,
        [f.attname for f in org_fields],
        _convert(row[split:], org_conv),
    )
    User.organization.field.set_cached_value(user, organization)
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
