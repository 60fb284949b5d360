"""Verification values (date of birth, year and month, PIN, national id) at rest.

A value is normalised for its field, then stored by receivers.verification_hash
(a keyed HMAC-SHA256 with a per-row salt; why, there). Every writer (CSV
ingestion, the receivers API) and the registration check go through the same
normalisation, so an uploaded "ab-123" national id matches a typed "AB-123".
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from receivers import verification_hash
from receivers.models import ReceiverVerification, VerificationField


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
        if not 4 <= len(value) <= 8:
            raise InvalidVerificationValue(_("A PIN has 4 to 8 characters."))
        return value
    if field == VerificationField.NATIONAL_ID_NUMBER:
        if len(value) > 50:
            raise InvalidVerificationValue(
                _("A national id has at most 50 characters.")
            )
        return value.upper()
    raise InvalidVerificationValue(_("Unknown verification field."))


def hash_verification_value(field: str, value: str) -> str:
    """What ReceiverVerification.hashed_value stores for ``value``."""
    return verification_hash.hash_verification_value(
        normalize_verification_value(field, value)
    )


def check_verification_value(verification: ReceiverVerification, value: str) -> bool:
    """True when ``value`` is the one the payer uploaded. Constant-time."""
    try:
        normalized = normalize_verification_value(
            verification.verification_field, value
        )
    except InvalidVerificationValue:
        return False
    return verification_hash.verification_value_matches(
        verification.hashed_value, normalized
    )
