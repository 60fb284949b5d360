"""Dashboard session tokens: ES256 JWTs signed with EC256_PRIVATE_KEY.

Claims are those the dashboard reads: ``exp``, ``user{id,email,roles,...}`` and
``tenant_id``. Only ES256 is accepted when decoding, so ``alg: none`` and an HS256
token signed with the public key are refused.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
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


def issue_token(user: User, *, lifetime: timedelta | None = None) -> str:
    now = timezone.now()
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
        "exp": int((now + (lifetime or settings.JWT_LIFETIME)).timestamp()),
    }
    private_key, _ = _keys(settings.EC256_PRIVATE_KEY)
    return jwt.encode(claims, private_key, algorithm=ALGORITHM)


def decode_token(token: str) -> dict[str, Any]:
    """The claims of a valid token; raises jwt.InvalidTokenError otherwise."""
    _, public_key = _keys(settings.EC256_PRIVATE_KEY)
    return jwt.decode(
        token,
        public_key,
        algorithms=[ALGORITHM],
        options={"require": ["exp", "user", "tenant_id"]},
    )
