"""Duplicate-payment warnings: a disbursement's payments that look like money
already sent or about to be sent to the same receiver.

Two kinds, each listed with the earlier payment:

- ``recent_payment``: the receiver was paid (SUCCESS) or is being paid
  (PENDING) the same asset, an equal or near amount, in the tenant's last
  ``duplicate_window_days``;
- ``other_disbursement``: another READY or STARTED disbursement holds a payment
  to the same receiver, of the same asset and an equal or near amount, not yet
  paid or canceled.

"Near" is within the tenant's ``duplicate_tolerance_percent`` of this payment's
amount (0: equal). Shown on upload and in the pre-flight; a start with any of
them needs ``acknowledge_duplicates`` (services.start_disbursement).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from auth_org.controls import tenant_settings
from disbursements.models import Disbursement

MAX_LISTED = 1000

DUPLICATES = """
SELECT p.id, r.external_id, p.amount,
       e.id, e.amount, e.status, e.created_at, e.disbursement_id, d.name,
       CASE WHEN e.status IN ('SUCCESS', 'PENDING') AND e.created_at >= %(since)s
            THEN 'recent_payment' ELSE 'other_disbursement' END AS kind
FROM disbursements_payment p
JOIN receivers_receiver r ON r.id = p.receiver_id
JOIN disbursements_payment e
    ON e.receiver_id = p.receiver_id
    AND e.asset_id = p.asset_id
    AND e.organization_id = p.organization_id
    AND e.disbursement_id IS DISTINCT FROM p.disbursement_id
    AND abs(e.amount - p.amount) <= p.amount * %(tolerance)s
LEFT JOIN disbursements_disbursement d ON d.id = e.disbursement_id
WHERE p.disbursement_id = %(disbursement)s
  AND (
    (e.status IN ('SUCCESS', 'PENDING') AND e.created_at >= %(since)s)
    OR (d.status IN ('READY', 'STARTED')
        AND e.status IN ('DRAFT', 'READY', 'PAUSED', 'PENDING'))
  )
ORDER BY p.created_at, p.id, e.created_at
LIMIT %(limit)s
"""


def find_duplicates(
    disbursement: Disbursement, *, limit: int = MAX_LISTED
) -> list[dict[str, Any]]:
    """The disbursement's duplicate warnings, each with the earlier payment."""
    settings = tenant_settings(disbursement.organization)
    params = {
        "disbursement": disbursement.pk,
        "since": timezone.now() - timedelta(days=settings.duplicate_window_days),
        "tolerance": settings.duplicate_tolerance_percent / Decimal(100),
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(DUPLICATES, params)
        rows = cursor.fetchall()
    return [
        {
            "kind": kind,
            "payment_id": str(pid),
            "receiver_external_id": external_id,
            "amount": f"{amount:.7f}",
            "earlier_payment": {
                "id": str(earlier_id),
                "amount": f"{earlier_amount:.7f}",
                "status": earlier_status,
                "created_at": created_at.isoformat(),
                "disbursement_id": str(disbursement_id) if disbursement_id else None,
                "disbursement_name": disbursement_name,
            },
        }
        for (
            pid,
            external_id,
            amount,
            earlier_id,
            earlier_amount,
            earlier_status,
            created_at,
            disbursement_id,
            disbursement_name,
            kind,
        ) in rows
    ]


def has_duplicates(disbursement: Disbursement) -> bool:
    return bool(find_duplicates(disbursement, limit=1))
