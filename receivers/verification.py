"""Verification values (date of birth, year and month, PIN, national id) at rest.

A value is normalised for its field, then kept as a keyed HMAC-SHA256 with a
per-row salt: ``hmac-sha256$<salt>$<hex>``. The values have so few possibilities
(a date of birth is one of ~40,000) that a slow unkeyed hash such as SDP's bcrypt
only delays an offline search of a leaked table; a key held outside the database
(derived from SECRET_KEY) stops it, and hashing 10,000 CSV rows stays instant.
Hashes in Django's password formats (``pbkdf2_sha256$...``, ``bcrypt$...``) are
also accepted by the check, so values hashed another way keep working.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date

from django.contrib.auth.hashers import check_password
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from receivers.models import ReceiverVerification, VerificationField

SCHEME = "hmac-sha256"
_KEY_SALT = "receivers.verification"


class InvalidVerificationValue(ValueError):
    """The value does not have the shape its field needs."""


def normalize_verification_value(field: str, value: str) -> str:
    """The canonical text of ``value`` for ``field``.

    Raises InvalidVerificationValue."""
    value = (value or "").strip()
    if not value:
        raise InvalidVerificationValue(_("A value is required."))
    if field == VerificationField.DATE_OF_BIRTH:
        try:
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidVerificationValue(_("Use the format YYYY-MM-DD.")) from exc
        if parsed > date.today():  # noqa: DTZ011 - a birth date has no time zone
            raise InvalidVerificationValue(_("The date of birth is in the future."))
        return parsed.isoformat()
    if field == VerificationField.YEAR_MONTH:
        try:
            parsed = date.fromisoformat(f"{value}-01")
        except ValueError as exc:
            raise InvalidVerificationValue(_("Use the format YYYY-MM.")) from exc
        return parsed.isoformat()[:7]
    if field == VerificationField.PIN:
        if not value.isdigit() or not 4 <= len(value) <= 8:
            raise InvalidVerificationValue(_("A PIN has 4 to 8 digits."))
        return value
    if field == VerificationField.NATIONAL_ID_NUMBER:
        if len(value) > 50:
            raise InvalidVerificationValue(
                _("A national id has at most 50 characters.")
            )
        return value.upper()
    raise InvalidVerificationValue(_("Unknown verification field."))


def _digest(field: str, normalized: str, salt: str) -> str:
    return salted_hmac(
        _KEY_SALT, f"{field}:{salt}:{normalized}", algorithm="sha256"
    ).hexdigest()


def hash_verification_value(field: str, value: str) -> str:
    """What ReceiverVerification.hashed_value stores for ``value``."""
    normalized = normalize_verification_value(field, value)
    salt = secrets.token_hex(8)
    return f"{SCHEME}${salt}${_digest(field, normalized, salt)}"


def check_verification_value(verification: ReceiverVerification, value: str) -> bool:
    """True when ``value`` is the one the payer uploaded. Constant-time."""
    try:
        normalized = normalize_verification_value(
            verification.verification_field, value
        )
    except InvalidVerificationValue:
        return False
    stored = verification.hashed_value
    if stored.startswith(f"{SCHEME}$"):
        _, salt, digest = stored.split("$", 2)
        expected = _digest(verification.verification_field, normalized, salt)
        return hmac.compare_digest(expected, digest)
    return check_password(normalized, stored)
