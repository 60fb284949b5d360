"""Secrets at rest: AES-256-GCM with a key derived from a passphrase by scrypt.

A stored secret reads ``v1$<salt>$<nonce+ciphertext>`` (URL-safe base64). The
account's public key is the associated data, so a ciphertext copied onto another
account's row does not decrypt. Deriving a key is slow on purpose; one
process derives a key once per (passphrase, salt) and encrypts new
secrets under one salt of its own, so a thousand channel accounts cost one
derivation, not a thousand.
"""

from __future__ import annotations

import base64
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

VERSION = "v1"
_PROCESS_SALT = os.urandom(16)


class DecryptionError(Exception):
    """The ciphertext was not made with this passphrase for this account."""


@functools.lru_cache(maxsize=64)
def _key(passphrase: str, salt: bytes) -> bytes:
    if not passphrase:
        raise ValueError("an encryption passphrase is required")
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def encrypt(secret: str, *, passphrase: str, associated_data: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(passphrase, _PROCESS_SALT)).encrypt(
        nonce, secret.encode(), associated_data.encode()
    )
    return f"{VERSION}${_b64(_PROCESS_SALT)}${_b64(nonce + sealed)}"


def decrypt(token: str, *, passphrase: str, associated_data: str) -> str:
    try:
        version, salt, payload = token.split("$")
        if version != VERSION:
            raise ValueError(version)
        raw = base64.urlsafe_b64decode(payload)
        key = _key(passphrase, base64.urlsafe_b64decode(salt))
        return (
            AESGCM(key).decrypt(raw[:12], raw[12:], associated_data.encode()).decode()
        )
    except (ValueError, InvalidTag) as exc:
        raise DecryptionError(
            f"cannot decrypt the secret of {associated_data}: wrong passphrase or "
            "tampered ciphertext"
        ) from exc
