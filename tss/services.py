"""The TSS's entry point for the layers above: put a payment on the ledger, once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from tss.models import SubmitterTransaction


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
    transaction. The partial unique index on external_id (status not ERROR) makes a
    second live transaction for the same payment impossible: IntegrityError."""
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


def amount_in_flight(tenant_id, asset_code: str, asset_issuer: str) -> Decimal:
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
