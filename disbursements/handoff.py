"""Hand-off: a READY payment whose receiver wallet is REGISTERED (and whose
disbursement is STARTED, for disbursement payments) becomes PENDING and gets
exactly one live submitter transaction, in one database transaction. The TSS
wakes up when it commits.

Three statements whatever the size: lock and move the payments (with their
history rows), read what the TSS needs, bulk-insert the submitter transactions.
A Circle tenant's payments get a Circle transfer request instead (the ``circle``
rail), in the same transaction.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Now

from auth_org.models import Organization, TenantControls
from circle.services import PaymentOrder as CircleOrder
from circle.services import queue_transfers as queue_circle_transfers
from core.fsm import transition_many
from disbursements.models import Disbursement, Payment
from receivers.models import ReceiverWallet
from tss.services import PaymentOrder, queue_payments


def cooling() -> Q:
    """Held in READY: its receiver's address was set or changed within the
    tenant's cooling period (auth_org.TenantControls; none: no period) and
    staff have not released it (disbursements.cooling)."""
    period = ExpressionWrapper(
        F("organization__controls__cooling_period_hours")
        * Value(timedelta(hours=1), output_field=DurationField()),
        output_field=DurationField(),
    )
    return Q(
        cooling_released_at__isnull=True,
        receiver_wallet__address_changed_at__gt=ExpressionWrapper(
            Now() - period, output_field=DateTimeField()
        ),
    )


def any_cooling_period() -> bool:
    """Whether some tenant has a cooling period (one indexed row read): without
    one, the hand-off's statements stay as they were."""
    return TenantControls.objects.filter(cooling_period_hours__gt=0).exists()


def payments_ready_to_hand_off(
    payments: QuerySet[Payment], *, with_cooling: bool | None = None
) -> QuerySet[Payment]:
    eligible = payments.filter(
        Q(type=Payment.Type.DIRECT)
        | Q(disbursement__status=Disbursement.Status.STARTED),
        status=Payment.Status.READY,
        receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
    )
    if with_cooling is None:
        with_cooling = any_cooling_period()
    return eligible.exclude(cooling()) if with_cooling else eligible


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


COOLING_NOTE = (
    "waiting: the receiver's wallet address is new or changed; it is paid when "
    "the cooling period of {hours} h passes"
)


def _note_cooling(payments: QuerySet[Payment]) -> None:
    """Payments that would go but for the cooling period say so in their
    history, once (READY -> READY)."""
    held = (
        payments.filter(
            Q(type=Payment.Type.DIRECT)
            | Q(disbursement__status=Disbursement.Status.STARTED),
            status=Payment.Status.READY,
            receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
        )
        .filter(cooling())
        .exclude(status_changes__note__startswith="waiting: the receiver's wallet")
        .values_list("pk", "organization__controls__cooling_period_hours")
    )
    by_hours: dict[int, list] = {}
    for pk, hours in held:
        by_hours.setdefault(hours, []).append(pk)
    for hours, pks in by_hours.items():
        transition_many(
            Payment.objects.filter(pk__in=pks),
            from_status=Payment.Status.READY,
            to=Payment.Status.READY,
            note=COOLING_NOTE.format(hours=hours),
        )


@transaction.atomic
def hand_off_payments(payments: QuerySet[Payment]) -> int:
    """Hand every eligible payment of ``payments`` to the TSS; returns how many."""
    with_cooling = any_cooling_period()
    if with_cooling:
        _note_cooling(payments)
    # The eligibility test joins the (nullable) disbursement; PostgreSQL cannot
    # lock through an outer join, so the payments are locked by primary key.
    eligible = payments_ready_to_hand_off(payments, with_cooling=with_cooling)
    eligible = eligible.values("pk")
    moved = transition_many(
        Payment.objects.filter(pk__in=eligible),
        from_status=Payment.Status.READY,
        to=Payment.Status.PENDING,
        note="handed to the transaction submission service",
    )
    if not moved:
        return 0
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
            "organization__distribution_account_type",
        )
        .order_by("pk")
    )
    rows, circle_rows = _split_circle(rows)
    queue_circle_transfers([_circle_order(row) for row in circle_rows])
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


# --- Circle tenants: the payment goes to Circle instead of the TSS ----------------

CIRCLE = Organization.DistributionAccountType.CIRCLE_DB_VAULT


def _split_circle(rows) -> tuple[list[dict], list[dict]]:
    stellar, circle = [], []
    for row in rows:
        kind = row["organization__distribution_account_type"]
        (circle if kind == CIRCLE else stellar).append(row)
    return stellar, circle


def _circle_order(row: dict) -> CircleOrder:
    memo, _ = _memo(row)
    return CircleOrder(
        tenant_id=row["organization_id"],
        external_id=str(row["id"]),
        destination=row["receiver_wallet__stellar_address"],
        asset_code=row["asset__code"],
        asset_issuer=row["asset__issuer"] or "",
        amount=row["amount"],
        memo=memo,
    )
