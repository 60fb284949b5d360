"""Reads of the reports: one payment's notice, a day's reconciliation."""

from __future__ import annotations

import datetime as dt

from core.api import NotFound
from disbursements.models import Payment
from reports.models import Difference, Reconciliation


def notice(organization, payment_id) -> dict:
    """What the payment notice shows; another tenant's payment is a 404."""
    payment = (
        Payment.objects.filter(organization=organization, pk=payment_id)
        .select_related("asset", "receiver", "receiver_wallet", "disbursement")
        .first()
    )
    if payment is None:
        raise NotFound("payment not found")
    history = [
        {
            "at": change.created_at,
            "from_status": change.from_status,
            "to_status": change.to_status,
            "note": change.note,
        }
        for change in payment.status_changes.order_by("created_at", "pk")
    ]
    return {
        "id": str(payment.pk),
        "status": payment.status,
        "amount": payment.amount,
        "asset_code": payment.asset.code,
        "asset_issuer": payment.asset.issuer,
        "receiver_external_id": payment.receiver.external_id,
        "destination": payment.receiver_wallet.stellar_address or "",
        "disbursement": payment.disbursement.name if payment.disbursement else "",
        "created_at": payment.created_at,
        "sender": payment.sender_address,
        "hash": payment.stellar_transaction_id,
        "history": history,
    }


def reconciliation(organization, day: dt.date) -> dict:
    runs = Reconciliation.objects.filter(organization=organization, date=day)
    differences = Difference.objects.filter(reconciliation__in=runs).select_related(
        "reconciliation__asset"
    )
    return {
        "date": day.isoformat(),
        "reconciled": [
            {
                "asset_code": run.asset.code,
                "asset_issuer": run.asset.issuer,
                "distribution_account": run.distribution_account,
                "payments_checked": run.payments_checked,
                "operations_checked": run.operations_checked,
                "ran_at": run.ran_at.isoformat(),
            }
            for run in runs.select_related("asset").order_by("asset__code")
        ],
        "differences": [
            {
                "kind": d.kind,
                "asset_code": d.reconciliation.asset.code,
                "payment_id": str(d.payment_id) if d.payment_id else None,
                "transaction_hash": d.transaction_hash,
                "operation_id": d.operation_id,
                "our_amount": _amount(d.our_amount),
                "network_amount": _amount(d.network_amount),
                "our_destination": d.our_destination,
                "network_destination": d.network_destination,
                "detail": d.detail,
            }
            for d in differences.order_by("kind", "pk")
        ],
    }


def _amount(value) -> str | None:
    return None if value is None else f"{value:.7f}"


def latest_differences(limit: int = 50) -> list[Difference]:
    """The operations page: the latest differences found, newest day first."""
    return list(
        Difference.objects.select_related(
            "reconciliation__organization", "reconciliation__asset"
        ).order_by("-reconciliation__date", "kind")[:limit]
    )
