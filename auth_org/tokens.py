"""Dashboard session tokens: ES256 JWTs signed with EC256_PRIVATE_KEY.

Claims are those the dashboard reads: ``exp``, ``user{id,email,roles,...}`` and
``tenant_id``, plus the session's: ``sid`` (one id from login to logout, kept by
refresh), ``auth_time`` (the login, bounding the session's whole life) and ``ver``
(the user's token version: a password change or reset raises it and so ends every
session issued before). Only ES256 is accepted when decoding, so ``alg: none``
and an HS256 token signed with the public key are refused.
"""

from __future__ import annotations

import copy
import time
import uuid
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.utils import timezone

from auth_org.models import User

ALGORITHM = "ES256"


@cache
def _keys(pem: str) -> tuple[Any, Any]:
    private_key = serialization.load_pem_private_key(pem.encode(), password=None)
    return private_key, private_key.public_key()


def issue_token(
    user: User,
    *,
    lifetime: timedelta | None = None,
    session_id: str | None = None,
    auth_time: int | None = None,
) -> str:
    """A session token; ``session_id`` and ``auth_time`` carry a refreshed
    session on (a new session otherwise). It never outlives the session's
    absolute lifetime."""
    now = timezone.now()
    auth_time = int(now.timestamp()) if auth_time is None else auth_time
    expires = min(
        int((now + (lifetime or settings.JWT_LIFETIME)).timestamp()),
        auth_time + int(settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()),
    )
    claims = {
        "user": {
            "id": str(user.id),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "is_active": user.is_active,
            "roles": list(user.roles),
        },
        "tenant_id": str(user.organization_id),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": expires,
        "sid": session_id or uuid.uuid4().hex,
        "auth_time": auth_time,
        "ver": user.token_version,
    }
    private_key, _ = _keys(settings.EC256_PRIVATE_KEY)
    return jwt.encode(claims, private_key, algorithm=ALGORITHM)


def decode_token(token: str) -> dict[str, Any]:
    """The claims of a valid token; raises jwt.InvalidTokenError otherwise."""
    claims = _signed_claims(token, settings.EC256_PRIVATE_KEY)
    now = time.time()
    if claims["exp"] <= now:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if claims.get("nbf", 0) > now:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    return copy.deepcopy(claims)


@lru_cache(maxsize=4096)
def _signed_claims(token: str, pem: str) -> dict[str, Any]:
    """The claims of a token whose signature verifies, its times not checked.

    Checking an ES256 signature is a sizeable share of a cheap request
    (docs/performance.md), and the dashboard sends the same token for 15
    minutes: the verdict is kept per
    process (for the token and key; a refused token is not kept) and only the
    times are checked on every use, by decode_token.
    """
    _, public_key = _keys(pem)
    return jwt.decode(
        token,
        public_key,
        algorithms=[ALGORITHM],
        options={
            "require": ["exp", "user", "tenant_id"],
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        },
    )
