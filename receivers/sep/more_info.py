"""The signed link of a SEP-24 transaction's status page (``more_info_url``).

The page shows no personal data, but transaction ids should not be enumerable:
the link carries the id signed with the project's secret, and never expires (a
wallet keeps it in its history)."""

from __future__ import annotations

import uuid

from django.core import signing

_SALT = "receivers.sep24.more_info"


def sign(transaction_id: uuid.UUID | str) -> str:
    return signing.Signer(salt=_SALT).sign(str(transaction_id))


def unsign(value: str) -> str | None:
    """The transaction id, or None for a forged or damaged link."""
    try:
        return str(uuid.UUID(signing.Signer(salt=_SALT).unsign(value)))
    except (signing.BadSignature, ValueError):
        return None
