"""How verification values (date of birth, PIN, national id, year-month) are stored.

SDP bcrypts each value. A 10,000-row upload must validate and store in under
two seconds, and bcrypt at cost 10 takes minutes for such a file
(docs/performance.md), so bcrypt per row is out; so is PBKDF2 at any
iteration count that would make it meaningfully
slower to brute-force.

These values have little entropy (a birth date is one of about 40,000), so no per-row
hashing cost would stop an attacker holding the table: even bcrypt only multiplies
a tiny search space. What protects them is a secret the database does not hold:
HMAC-SHA256 keyed with a key derived from SECRET_KEY (kept in the environment,
never in the database), plus a random per-row salt so equal values never show as
equal hashes. A dump of the database alone cannot be searched at all; with the key,
nothing short of a hardware-backed secret would help. Checking is constant-time.
Rotating SECRET_KEY invalidates stored values (receivers are then asked to be
re-uploaded), which is documented in the README.
"""

from __future__ import annotations

import hmac
import secrets
from hashlib import sha256

from django.conf import settings

PREFIX = "hmac_sha256"


def _key() -> bytes:
    # A sub-key, so SECRET_KEY itself never keys anything else's MAC with this input.
    return hmac.new(
        settings.SECRET_KEY.encode(), b"sdp.receiver-verification", sha256
    ).digest()


def hash_verification_value(value: str, *, key: bytes | None = None) -> str:
    salt = secrets.token_hex(8)
    digest = hmac.new(key or _key(), f"{salt}${value}".encode(), sha256).hexdigest()
    return f"{PREFIX}${salt}${digest}"


def verification_value_matches(hashed: str, value: str) -> bool:
    try:
        prefix, salt, digest = hashed.split("$", 2)
    except ValueError:
        return False
    if prefix != PREFIX:
        return False
    expected = hmac.new(_key(), f"{salt}${value}".encode(), sha256).hexdigest()
    return hmac.compare_digest(expected, digest)
