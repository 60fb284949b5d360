"""Hand-off: a READY payment whose receiver wallet is REGISTERED (and whose
disbursement is STARTED, for disbursement payments) becomes PENDING and gets
exactly one live submitter transaction, in one database transaction."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet

from disbursements.models import Disbursement, Payment
from receivers.models import ReceiverWallet
from sdp.fsm import transition_many
from tss.services import PaymentOrder, queue_payments


def payments_ready_to_hand_off(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    return payments.filter(
        Q(type=Payment.Type.DIRECT)
        | Q(disbursement__status=Disbursement.Status.STARTED),
        status=Payment.Status.READY,
        receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
    )


@transaction.atomic
def hand_off_payments(payments: QuerySet[Payment]) -> int:
    """Hand every eligible payment of ``payments`` to the TSS; returns how many."""
    moved = transition_many(
        payments_ready_to_hand_off(payments),
        from_status=Payment.Status.READY,
        to=Payment.Status.PENDING,
        note="handed to the transaction submission service",
    )
    if not moved:
        return 0
    rows = (
        Payment.objects.filter(pk__in=moved)
        .select_related("asset", "receiver_wallet")
        .order_by("pk")
    )
    queue_payments(
        [
            PaymentOrder(
                tenant_id=payment.organization_id,
                external_id=str(payment.pk),
                destination=payment.receiver_wallet.stellar_address,
                asset_code=payment.asset.code,
                asset_issuer=payment.asset.issuer,
                amount=payment.amount,
                memo=payment.receiver_wallet.stellar_memo,
                memo_type=payment.receiver_wallet.stellar_memo_type,
            )
            for payment in rows
        ]
    )
    return len(moved)
