"""The TSS's entry point for the layers above: put a payment on the ledger, once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from tss.models import ChannelAccount, SubmitterTransaction


@dataclass(frozen=True)
class PaymentOrder:
    """What the TSS needs to pay: no knowledge of disbursements or receivers."""

    tenant_id: uuid.UUID
    external_id: str
    destination: str
    asset_code: str
    asset_issuer: str
    amount: Decimal
    memo: str = ""
    memo_type: str = ""


def queue_payments(orders: list[PaymentOrder]) -> list[SubmitterTransaction]:
    """Create one PENDING submitter transaction per order, in the caller's
    transaction, and wake the engine when it commits. The partial unique index on
    external_id (status not ERROR) makes a second live transaction for the same
    payment impossible: IntegrityError."""
    if not orders:
        return []
    from tss import tasks

    transaction.on_commit(tasks.pump.delay)
    return SubmitterTransaction.objects.bulk_create(
        [
            SubmitterTransaction(
                tenant_id=order.tenant_id,
                external_id=order.external_id,
                destination=order.destination,
                asset_code=order.asset_code,
                asset_issuer=order.asset_issuer,
                amount=order.amount,
                memo=order.memo,
                memo_type=order.memo_type,
            )
            for order in orders
        ],
        batch_size=2000,
    )


def amount_in_flight(tenant_id: Any, asset_code: str, asset_issuer: str) -> Decimal:
    """What the tenant has handed to the TSS and not yet seen final: the sum of
    its PENDING and PROCESSING submitter transactions in the asset."""
    from django.db.models import Sum

    total = SubmitterTransaction.objects.filter(
        tenant_id=tenant_id,
        asset_code=asset_code,
        asset_issuer=asset_issuer,
        status__in=[
            SubmitterTransaction.Status.PENDING,
            SubmitterTransaction.Status.PROCESSING,
        ],
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0")


def amount_completed_since(
    tenant_id: Any, asset_code: str, asset_issuer: str, since: datetime
) -> Decimal:
    """What the tenant's transactions in the asset paid since ``since``: a balance
    read before then may not show their debit yet."""
    from django.db.models import Sum

    total = SubmitterTransaction.objects.filter(
        tenant_id=tenant_id,
        asset_code=asset_code,
        asset_issuer=asset_issuer,
        status=SubmitterTransaction.Status.SUCCESS,
        completed_at__gte=since,
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0")


def live_count() -> int:
    return SubmitterTransaction.objects.filter(
        status__in=[
            SubmitterTransaction.Status.PENDING,
            SubmitterTransaction.Status.PROCESSING,
        ]
    ).count()


def release_stale_channel_leases() -> int:
    """Free channel accounts whose lease has passed the latest ledger and that no
    live row holds an envelope on (their sequence number is settled)."""
    from django.db.models import Exists, OuterRef

    from tss import horizon

    current = horizon.ledger_state().core
    holding = SubmitterTransaction.objects.filter(
        channel_account=OuterRef("public_key"),
        status=SubmitterTransaction.Status.PROCESSING,
        stellar_transaction_hash__isnull=False,
    )
    return (
        ChannelAccount.objects.filter(locked_until_ledger_number__lt=current)
        .filter(~Exists(holding))
        .update(locked_until_ledger_number=None, locked_at=None)
    )


def oldest_pending_created_at() -> datetime | None:
    """When the oldest transaction no engine round has taken yet was queued
    (None when there is none): the readiness check's "is anyone working"."""
    return (
        SubmitterTransaction.objects.filter(status=SubmitterTransaction.Status.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
