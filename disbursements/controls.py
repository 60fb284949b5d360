"""The controls enforced where money moves: approval tiers and spending limits.

The figures live in ``auth_org.controls`` (per tenant and asset, audited); the
checks are here, called by the services that start a disbursement or create a
direct payment, so every client (dashboard, API, admin) obeys them.

The limit checks run inside the caller's transaction after ``check_balance``
has locked the asset's row: two starts (or a start and a direct payment) of one
asset run them one after the other, and the second counts what the first
committed (READ COMMITTED: each statement sees what committed before it).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from auth_org.controls import Limits, limits_for
from auth_org.models import Asset, Organization, User
from core.api import APIError, Forbidden
from core.sqljson import table
from disbursements.models import (
    Disbursement,
    DisbursementApproval,
    DisbursementStatusChange,
    Payment,
    PaymentApproval,
    PaymentStatusChange,
)
from receivers.models import Receiver

NOT_SPENT = (Payment.Status.DRAFT, Payment.Status.CANCELED)
OFFSET_RE = re.compile(r"^([+-])(\d{2}):(\d{2})$")


class LimitExceeded(APIError):
    """400 with the figures, as the insufficient-funds answer gives them."""

    status_code = 400


def _text(value: Decimal) -> str:
    return f"{value:.7f}"


# --- approval tiers -----------------------------------------------------------


def disbursement_total(disbursement: Disbursement) -> Decimal:
    total = Payment.objects.filter(disbursement=disbursement).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0")


def initiators(disbursement: Disbursement) -> set:
    """Whoever created it or uploaded its instructions."""
    ids = set(
        DisbursementStatusChange.objects.filter(
            disbursement=disbursement,
            to_status__in=[Disbursement.Status.DRAFT, Disbursement.Status.READY],
            actor__isnull=False,
        ).values_list("actor_id", flat=True)
    )
    if disbursement.created_by_id:
        ids.add(disbursement.created_by_id)
    return ids


def approvals_needed(disbursement: Disbursement) -> tuple[int, Decimal | None]:
    limits = limits_for(disbursement.asset)
    if not limits.tiers:
        return 0, None
    return limits.approvals_required(disbursement_total(disbursement))


def record_approval(disbursement: Disbursement, actor: User | None) -> None:
    """The actor's approval of a READY disbursement, committed on its own (before
    the start that counts it): two approvers at once each commit theirs, and
    whichever start counts last sees both. 403 for its initiator."""
    if actor is None or not actor.pk:
        raise Forbidden("an approval needs a user")
    with transaction.atomic():
        locked = Disbursement.objects.select_for_update().get(pk=disbursement.pk)
        if locked.status != Disbursement.Status.READY:
            return  # the start refuses it with the status
        if actor.pk in initiators(locked):
            raise Forbidden(
                "the initiator of a disbursement (who created it or uploaded its "
                "instructions) cannot approve it",
                extras={"approver": "is its initiator"},
            )
        DisbursementApproval.objects.get_or_create(disbursement=locked, user=actor)


def check_approvals(locked: Disbursement, limits: Limits) -> None:
    """403 naming what is missing unless enough distinct approvers who are not
    its initiator approved it (under the disbursement's lock)."""
    required, threshold = limits.approvals_required(disbursement_total(locked))
    if not required:
        return
    excluded = initiators(locked)
    approvals = [
        approval
        for approval in DisbursementApproval.objects.filter(disbursement=locked)
        .select_related("user")
        .order_by("created_at", "id")
        if approval.user_id not in excluded
    ]
    if len(approvals) >= required:
        return
    raise _missing_approvals(
        "disbursement", locked.asset, required, threshold, approvals
    )


def _missing_approvals(
    what: str,
    asset: Asset,
    required: int,
    threshold: Decimal | None,
    approvals: list,
) -> Forbidden:
    """The 403 naming the approvals so far and how many are missing."""
    missing = required - len(approvals)
    return Forbidden(
        f"this {what} is above {threshold} {asset.code} and needs "
        f"{required} approvals from users who did not prepare it; "
        f"{len(approvals)} so far, {missing} missing",
        extras={
            "approvals_required": required,
            "approvals_missing": missing,
            "tier_above": None if threshold is None else _text(threshold),
            "approvals": [
                {
                    "user_id": str(a.user_id),
                    "email": a.user.email,
                    "approved_at": a.created_at.isoformat(),
                }
                for a in approvals
            ],
        },
    )


def direct_payment_approvals(asset: Asset, amount: Decimal) -> tuple[int, Decimal]:
    """(approvals, tier) a direct payment of ``amount`` waits for: 0 when it is
    paid at once (no tier, or a tier of one approval: its creator's own)."""
    required, threshold = limits_for(asset).approvals_required(amount)
    if required > 1 and threshold is not None:
        return required, threshold
    return 0, Decimal("0")


def payment_initiators(payment: Payment) -> set:
    """Whoever created the direct payment (the actor of its DRAFT line)."""
    return set(
        PaymentStatusChange.objects.filter(
            payment=payment,
            to_status=Payment.Status.DRAFT,
            actor__isnull=False,
        ).values_list("actor_id", flat=True)
    )


def record_payment_approval(payment: Payment, actor: User | None) -> None:
    """The actor's approval of a held direct payment, committed on its own
    (before the check that counts it), as ``record_approval``. 400 unless the
    payment waits for approvals; 403 for its creator."""
    if actor is None or not actor.pk:
        raise Forbidden("an approval needs a user")
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.type != Payment.Type.DIRECT or locked.status != Payment.Status.DRAFT:
            raise APIError(
                "only a direct payment waiting for approvals can be approved "
                f"(status {locked.status})"
            )
        if actor.pk in payment_initiators(locked):
            raise Forbidden(
                "the creator of a payment cannot approve it",
                extras={"approver": "is its initiator"},
            )
        PaymentApproval.objects.get_or_create(payment=locked, user=actor)


def check_payment_approvals(locked: Payment) -> None:
    """403 naming what is missing unless enough distinct approvers who did not
    create it approved the direct payment (under the payment's lock)."""
    required, threshold = direct_payment_approvals(locked.asset, locked.amount)
    if not required:
        return
    excluded = payment_initiators(locked)
    approvals = [
        approval
        for approval in PaymentApproval.objects.filter(payment=locked)
        .select_related("user")
        .order_by("created_at", "id")
        if approval.user_id not in excluded
    ]
    if len(approvals) < required:
        raise _missing_approvals(
            "payment", locked.asset, required, threshold, approvals
        )


# --- spending limits ------------------------------------------------------------


def day_start(organization: Organization, now: datetime | None = None) -> datetime:
    """Midnight of today in the organization's time zone (its UTC offset)."""
    now = now or timezone.now()
    offset = timedelta(0)
    if match := OFFSET_RE.match(organization.timezone_utc_offset or ""):
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if sign == "-":
            offset = -offset
    local = now.astimezone(dt_timezone(offset))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def committed_since(
    organization: Organization,
    asset: Asset,
    since: datetime,
    *,
    exclude_disbursement: Disbursement | None = None,
) -> Decimal:
    """What was committed to be paid since ``since``: the payments of the
    disbursements first started since then and the direct payments created since
    then, but those canceled (a failed payment counts: it may be retried)."""
    started = (
        DisbursementStatusChange.objects.filter(
            disbursement__organization=organization,
            disbursement__asset=asset,
            to_status=Disbursement.Status.STARTED,
        )
        .values("disbursement_id")
        .annotate(first=Min("created_at"))
        .filter(first__gte=since)
        .values("disbursement_id")
    )
    payments = Payment.objects.filter(organization=organization, asset=asset).filter(
        Q(disbursement_id__in=started)
        | Q(type=Payment.Type.DIRECT, created_at__gte=since)
    )
    if exclude_disbursement is not None:
        payments = payments.exclude(disbursement=exclude_disbursement)
    total = payments.exclude(status__in=NOT_SPENT).aggregate(total=Sum("amount"))
    return total["total"] or Decimal("0")


def _check_per_disbursement(limits: Limits, asset: Asset, total: Decimal) -> None:
    if limits.per_disbursement_max is not None and total > limits.per_disbursement_max:
        over = total - limits.per_disbursement_max
        raise LimitExceeded(
            f"the disbursement's total is {_text(total)} {asset.code}, over the "
            f"per-disbursement limit of {_text(limits.per_disbursement_max)} "
            f"{asset.code} by {_text(over)} {asset.code}",
            extras={
                "limit": "per_disbursement_max",
                "limit_amount": _text(limits.per_disbursement_max),
                "requested": _text(total),
                "over_by": _text(over),
            },
        )


def _check_daily(
    organization: Organization,
    asset: Asset,
    limits: Limits,
    amount: Decimal,
    exclude_disbursement: Disbursement | None,
) -> None:
    if limits.daily_max is None:
        return
    used = committed_since(
        organization,
        asset,
        day_start(organization),
        exclude_disbursement=exclude_disbursement,
    )
    if used + amount > limits.daily_max:
        over = used + amount - limits.daily_max
        raise LimitExceeded(
            f"the daily limit for {asset.code} is {_text(limits.daily_max)}, of "
            f"which {_text(used)} is already committed today; {_text(amount)} "
            f"{asset.code} are requested, {_text(over)} {asset.code} over the limit",
            extras={
                "limit": "daily_max",
                "limit_amount": _text(limits.daily_max),
                "used_today": _text(used),
                "requested": _text(amount),
                "over_by": _text(over),
            },
        )


# What is asked now per receiver: a disbursement's payments, or one payment.
MINE_OF_DISBURSEMENT = f"""
    SELECT receiver_id, SUM(amount) AS amount
    FROM {table(Payment)}
    WHERE disbursement_id = %(disbursement)s
    GROUP BY receiver_id
"""  # noqa: S608 (table names from the models)
MINE_OF_PAYMENT = (
    "SELECT %(receiver)s::uuid AS receiver_id, %(amount)s::numeric AS amount"
)
RECEIVERS_OVER = f"""
WITH mine AS ({{mine}})
SELECT r.id, r.external_id, mine.amount, COALESCE(SUM(p.amount), 0) AS earlier
FROM mine
JOIN {table(Receiver)} r ON r.id = mine.receiver_id
LEFT JOIN {table(Payment)} p
    ON p.receiver_id = mine.receiver_id
    AND p.organization_id = %(organization)s
    AND p.asset_id = %(asset)s
    AND p.status NOT IN ('DRAFT', 'CANCELED')
    AND p.created_at >= %(since)s
    AND (%(disbursement)s::uuid IS NULL
         OR p.disbursement_id IS DISTINCT FROM %(disbursement)s::uuid)
GROUP BY r.id, r.external_id, mine.amount
HAVING mine.amount + COALESCE(SUM(p.amount), 0) > %(maximum)s
ORDER BY r.external_id
LIMIT %(limit)s
"""  # noqa: S608 (table names from the models)


def receivers_over_limit(
    disbursement: Disbursement | None,
    limits: Limits,
    *,
    organization: Organization | None = None,
    asset: Asset | None = None,
    receiver_id=None,
    amount: Decimal | None = None,
    limit: int | None = None,
) -> list[tuple]:
    """(receiver id, external id, asked now, paid earlier in the window) of each
    receiver the disbursement (or one direct payment) would take over the
    per-receiver limit."""
    if limits.per_receiver_max is None:
        return []
    if disbursement is not None:
        organization, asset = disbursement.organization, disbursement.asset
    params = {
        "organization": organization.pk,
        "asset": asset.pk,
        "since": timezone.now() - timedelta(days=limits.per_receiver_window_days),
        "disbursement": disbursement.pk if disbursement else None,
        "maximum": limits.per_receiver_max,
        "receiver": receiver_id,
        "amount": amount,
        "limit": limit,
    }
    mine = MINE_OF_DISBURSEMENT if disbursement is not None else MINE_OF_PAYMENT
    with connection.cursor() as cursor:
        cursor.execute(RECEIVERS_OVER.format(mine=mine), params)
        return cursor.fetchall()


def _check_per_receiver(
    organization: Organization,
    asset: Asset,
    limits: Limits,
    *,
    disbursement: Disbursement | None,
    receiver_id=None,
    amount: Decimal | None = None,
) -> None:
    over = receivers_over_limit(
        disbursement,
        limits,
        organization=organization,
        asset=asset,
        receiver_id=receiver_id,
        amount=amount,
        limit=10,
    )
    if not over:
        return
    names = ", ".join(
        f"{external_id or '-'} ({_text(earlier)} + {_text(mine_amount)})"
        for _, external_id, mine_amount, earlier in over
    )
    raise LimitExceeded(
        f"over the per-receiver limit of {_text(limits.per_receiver_max)} "
        f"{asset.code} in {limits.per_receiver_window_days} days: {names}",
        extras={
            "limit": "per_receiver_max",
            "limit_amount": _text(limits.per_receiver_max),
            "window_days": limits.per_receiver_window_days,
            "receivers": [
                {
                    "external_id": external_id,
                    "earlier": _text(earlier),
                    "requested": _text(mine_amount),
                }
                for _, external_id, mine_amount, earlier in over
            ],
        },
    )


def disbursement_problems(
    disbursement: Disbursement, limits: Limits, total: Decimal
) -> list[dict]:
    """The disbursement-wide limits a start would be refused by now, as the
    refusal would name them (for the pre-flight)."""
    problems = []
    for check in (
        lambda: _check_per_disbursement(limits, disbursement.asset, total),
        lambda: _check_daily(
            disbursement.organization,
            disbursement.asset,
            limits,
            total,
            disbursement,
        ),
    ):
        try:
            check()
        except LimitExceeded as exc:
            problems.append({**(exc.extras or {}), "message": exc.message})
    return problems


def check_disbursement_limits(locked: Disbursement, limits: Limits) -> None:
    """Inside the start's transaction, after check_balance locked the asset."""
    if limits == Limits(
        per_receiver_window_days=limits.per_receiver_window_days, tiers=limits.tiers
    ):
        return  # no limit set
    organization, asset = locked.organization, locked.asset
    total = disbursement_total(locked)
    _check_per_disbursement(limits, asset, total)
    _check_daily(organization, asset, limits, total, locked)
    _check_per_receiver(organization, asset, limits, disbursement=locked)


def check_direct_payment_limits(
    organization: Organization, asset: Asset, *, receiver_id, amount: Decimal
) -> None:
    """Inside the direct payment's transaction, after check_balance."""
    limits = limits_for(asset)
    _check_daily(organization, asset, limits, amount, None)
    _check_per_receiver(
        organization,
        asset,
        limits,
        disbursement=None,
        receiver_id=receiver_id,
        amount=amount,
    )
