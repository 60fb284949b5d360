"""Hand-off: a READY payment whose receiver wallet is REGISTERED (and whose
disbursement is STARTED, for disbursement payments) becomes PENDING and gets
exactly one live submitter transaction, in one database transaction. The TSS
wakes up when it commits.

Three statements whatever the size: lock and move the payments (with their
history rows), read what the TSS needs, bulk-insert the submitter transactions.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from core.fsm import transition_many
from disbursements.events import emit_payments
from disbursements.models import Disbursement, Payment
from receivers.models import ReceiverWallet
from tss.services import PaymentOrder, queue_payments


def payments_ready_to_hand_off(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    return payments.filter(
        Q(type=Payment.Type.DIRECT)
        | Q(disbursement__status=Disbursement.Status.STARTED),
        status=Payment.Status.READY,
        receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
    )


def tracing_memo(base_url: str) -> str:
    """SDP's organization tracing memo: ``sdp-`` and 12 hex of sha256(base URL)."""
    return "sdp-" + hashlib.sha256(base_url.encode()).hexdigest()[:12]


def _memo(row: dict) -> tuple[str, str]:
    address = row["receiver_wallet__stellar_address"] or ""
    if address.startswith("C"):
        return "", ""  # contract destinations take no memo
    if row["receiver_wallet__stellar_memo"]:
        return (
            row["receiver_wallet__stellar_memo"],
            row["receiver_wallet__stellar_memo_type"] or "id",
        )
    if row["organization__is_memo_tracing_enabled"]:
        return tracing_memo(row["organization__base_url"] or settings.BASE_URL), "text"
    return "", ""


@transaction.atomic
def hand_off_payments(payments: QuerySet[Payment]) -> int:
    """Hand every eligible payment of ``payments`` to the TSS; returns how many."""
    # The eligibility test joins the (nullable) disbursement; PostgreSQL cannot
    # lock through an outer join, so the payments are locked by primary key.
    eligible = payments_ready_to_hand_off(payments).values("pk")
    moved = transition_many(
        Payment.objects.filter(pk__in=eligible),
        from_status=Payment.Status.READY,
        to=Payment.Status.PENDING,
        note="handed to the transaction submission service",
    )
    if not moved:
        return 0
    emit_payments("payment.submitted", moved)
    # Plain values, not model instances: 10,000 payments with three related
    # rows each cost more to instantiate than to read.
    rows = (
        Payment.objects.filter(pk__in=moved)
        .values(
            "id",
            "amount",
            "organization_id",
            "organization__base_url",
            "organization__is_memo_tracing_enabled",
            "asset__code",
            "asset__issuer",
            "receiver_wallet__stellar_address",
            "receiver_wallet__stellar_memo",
            "receiver_wallet__stellar_memo_type",
        )
        .order_by("pk")
    )
    orders = []
    for row in rows:
        memo, memo_type = _memo(row)
        orders.append(
            PaymentOrder(
                tenant_id=row["organization_id"],
                external_id=str(row["id"]),
                destination=row["receiver_wallet__stellar_address"],
                asset_code=row["asset__code"],
                asset_issuer=row["asset__issuer"] or "",
                amount=row["amount"],
                memo=memo,
                memo_type=memo_type,
            )
        )
    queue_payments(orders)
    return len(moved)
