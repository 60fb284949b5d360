"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret reads ``whsec_<base64 of 32 random bytes>``. A message is signed with
HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}``, keyed by the
decoded secret, and sent as ``webhook-signature: v1,<base64>``; during a roll
both secrets sign (``v1,<a> v1,<b>``), so a receiver with either verifies it.

Secrets are stored encrypted (AES-256-GCM, the endpoint's id as associated
data) with a key derived from SECRET_KEY by HKDF: they must be read back to
sign, unlike API keys, which are only compared.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    digest = hmac.new(
        key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_: list[str], *, msg_id: str, timestamp: int, body: bytes
) -> str:
    return " ".join(
        sign(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_
    )


@functools.cache
def _key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"sdp webhook secrets"
    ).derive(secret_key.encode())


def encrypt(secret: str, *, endpoint_id: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.SECRET_KEY)).encrypt(
        nonce, secret.encode(), endpoint_id.encode()
    )
    return "v1$" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, *, endpoint_id: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.removeprefix("v1$"))
        return (
            AESGCM(_key(settings.SECRET_KEY))
            .decrypt(raw[:12], raw[12:], endpoint_id.encode())
            .decode()
        )
    except (ValueError, InvalidTag) as exc:
        raise ValueError(
            f"cannot decrypt the secret of endpoint {endpoint_id}"
        ) from exc
