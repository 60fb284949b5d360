"""Helpers for auth_org tests: read codes and links from the message outbox."""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time

from auth_org.tokens import issue_token
from messaging.models import Message

DEVICE_ID = "8f6f4a1e-5c1b-4a52-9d5e-2b8c8e0b7c11"


def mfa_code_for(user) -> str:
    """The code of the latest MFA email sent to ``user`` (from the outbox)."""
    message = (
        Message.objects.filter(user_id=user.pk, kind=Message.Kind.USER_MFA)
        .order_by("-created_at")
        .first()
    )
    assert message is not None, "no MFA email in the outbox"
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def link_token_for(user, kind: str) -> str:
    message = (
        Message.objects.filter(user_id=user.pk, kind=kind)
        .order_by("-created_at")
        .first()
    )
    assert message is not None, f"no {kind} email in the outbox"
    return re.search(r"reset-password\?token=([\w-]+)", message.body).group(1)


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def totp(key: bytes, *, at: float | None = None) -> str:
    """The RFC 6238 code an authenticator app shows for ``key`` (django-otp's
    default: SHA-1, 30 s steps, 6 digits), computed independently of django-otp."""
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
