"""The operator's view: per tenant, what is waiting, what failed, what is left.

One selector feeds both the admin page (/admin/operations/) and the Prometheus
collector on /metrics, so the two always show the same figures. Balances come
from Horizon and are cached briefly, so a scrape never waits on the network
for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from auth_org.models import Asset, Organization
from core.sqljson import table
from disbursements.models import Payment, PaymentStatusChange, PaymentTally
from messaging.models import Message, MessageStatusChange
from reports import selectors as reconciliation_selectors
from tss.models import ChannelAccount

logger = logging.getLogger(__name__)

BALANCE_CACHE_SECONDS = 60
IN_FLIGHT = ("READY", "PAUSED", "PENDING")


@dataclass
class TenantFigures:
    organization: Organization
    pending_payments: int = 0
    oldest_pending_age_s: float | None = None
    failed_last_day: dict[str, int] = field(default_factory=dict)
    messages_waiting: int = 0
    messages_failed: int = 0
    oldest_message_age_s: float | None = None
    balances: dict[str, Decimal] | None = None
    # READY, PAUSED and PENDING payments by asset code: what the balance must cover.
    in_flight: dict[str, Decimal] = field(default_factory=dict)
    # Payments finished in the last hour, by result (SUCCESS, FAILED).
    finished_last_hour: dict[str, int] = field(default_factory=dict)


@dataclass
class Figures:
    tenants: list[TenantFigures]
    channel_accounts_free: int
    channel_accounts_leased: int


def operations_figures(*, with_balances: bool = True) -> Figures:
    now = timezone.now()
    organizations = list(Organization.objects.filter(deleted_at__isnull=True))
    by_id = {org.id: TenantFigures(org) for org in organizations}
    pending = (
        Payment.objects.filter(status=Payment.Status.PENDING)
        .values("organization_id")
        .annotate(count=Count("id"), oldest=Min("updated_at"))
    )
    for row in pending:
        figures = by_id.get(row["organization_id"])
        if figures:
            figures.pending_payments = row["count"]
            figures.oldest_pending_age_s = (now - row["oldest"]).total_seconds()
    failed = (
        PaymentStatusChange.objects.filter(
            to_status=Payment.Status.FAILED, created_at__gte=now - timedelta(days=1)
        )
        .values("payment__organization_id", "note")
        .annotate(count=Count("id"))
    )
    for row in failed:
        figures = by_id.get(row["payment__organization_id"])
        if figures:
            reason = row["note"] or "unknown"
            figures.failed_last_day[reason] = row["count"]
    messages = Message.objects.values("tenant_id").annotate(
        waiting=Count("id", filter=Q(status=Message.Status.PENDING)),
        failed=Count("id", filter=Q(status=Message.Status.FAILURE)),
        oldest=Min("updated_at", filter=Q(status=Message.Status.PENDING)),
    )
    for row in messages:
        figures = by_id.get(row["tenant_id"])
        if figures:
            figures.messages_waiting = row["waiting"]
            figures.messages_failed = row["failed"]
            if row["oldest"] is not None:
                figures.oldest_message_age_s = (now - row["oldest"]).total_seconds()
    in_flight = (
        PaymentTally.objects.filter(status__in=IN_FLIGHT)
        .values("organization_id", "asset_id")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    codes = dict(Asset.objects.values_list("pk", "code"))
    for row in in_flight:
        figures = by_id.get(row["organization_id"])
        if figures and row["amount"]:
            code = codes.get(row["asset_id"], "?")
            figures.in_flight[code] = figures.in_flight.get(code, 0) + row["amount"]
    finished = (
        PaymentStatusChange.objects.filter(
            to_status__in=[Payment.Status.SUCCESS, Payment.Status.FAILED],
            created_at__gte=now - timedelta(hours=1),
        )
        .values("payment__organization_id", "to_status")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in finished:
        figures = by_id.get(row["payment__organization_id"])
        if figures:
            figures.finished_last_hour[row["to_status"]] = row["count"]
    if with_balances:
        for figures in by_id.values():
            figures.balances = distribution_balances(figures.organization)
    latest = ChannelAccount.objects.aggregate(
        total=Count("public_key"),
        leased=Count("public_key", filter=Q(locked_at__isnull=False)),
    )
    return Figures(
        tenants=sorted(by_id.values(), key=lambda f: f.organization.name),
        channel_accounts_free=latest["total"] - latest["leased"],
        channel_accounts_leased=latest["leased"],
    )


def distribution_balances(organization: Organization) -> dict[str, Decimal] | None:
    """The tenant's distribution account balances, or None when Horizon does not
    answer (shown as unknown rather than failing the page)."""
    key = f"ops:balances:{organization.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    from tss import accounts

    try:
        raw = accounts.balances(organization.id)
    except Exception:
        logger.warning("balances of tenant %s unavailable", organization.name)
        return None
    balances = {code: amount for (code, _issuer), amount in raw.items()}
    cache.set(key, balances, BALANCE_CACHE_SECONDS)
    return balances


# --- over time ----------------------------------------------------------------

LEDGER_SECONDS = 5  # a ledger closes about every 5 seconds
SAMPLE_DAYS = 2
WINDOWS = (
    ("last hour", timedelta(hours=1), timedelta(minutes=1)),
    ("last day", timedelta(days=1), timedelta(minutes=15)),
)


def ledger_capacity_per_minute() -> int:
    """Payments the network admits per minute (the TSS's own
    reading of Horizon's max_tx_set_size), cached like the balances."""
    key = "ops:ledger_capacity"
    cached = cache.get(key)
    if cached is not None:
        return cached
    from tss.engine import ledger_capacity

    capacity = ledger_capacity() * (60 // LEDGER_SECONDS)
    cache.set(key, capacity, BALANCE_CACHE_SECONDS)
    return capacity


def sample_operations(now=None) -> int:
    """Write one sample per tenant of the levels drawn over time; drop old ones."""
    from sdp.models import OperationsSample

    now = now or timezone.now()
    figures = operations_figures(with_balances=False)
    OperationsSample.objects.bulk_create(
        OperationsSample(
            tenant_id=tenant.organization.pk,
            taken_at=now,
            pending_payments=tenant.pending_payments,
            oldest_pending_payment_s=tenant.oldest_pending_age_s,
            messages_waiting=tenant.messages_waiting,
            oldest_pending_message_s=tenant.oldest_message_age_s,
        )
        for tenant in figures.tenants
    )
    OperationsSample.objects.filter(
        taken_at__lt=now - timedelta(days=SAMPLE_DAYS)
    ).delete()
    return len(figures.tenants)


COUNTS_SQL = f"""
SELECT p.organization_id, c.to_status,
       floor(extract(epoch FROM c.created_at - %(start)s) / %(bucket)s)::int AS b,
       count(*)
FROM {table(PaymentStatusChange)} c
JOIN {table(Payment)} p ON p.id = c.payment_id
WHERE c.created_at >= %(start)s AND c.created_at < %(end)s
  AND c.to_status IN ('SUCCESS', 'FAILED')
GROUP BY 1, 2, 3
UNION ALL
SELECT m.tenant_id, 'MESSAGE_FAILURE',
       floor(extract(epoch FROM c.created_at - %(start)s) / %(bucket)s)::int,
       count(*)
FROM {table(MessageStatusChange)} c
JOIN {table(Message)} m ON m.id = c.message_id
WHERE c.created_at >= %(start)s AND c.created_at < %(end)s
  AND c.to_status = 'FAILURE'
GROUP BY 1, 2, 3
"""  # noqa: S608


@dataclass
class TenantHistory:
    confirmed_per_minute: list[float]
    capacity_share: list[float]
    failures: list[float]
    oldest_payment_s: list[float | None]
    oldest_message_s: list[float | None]


def history(tenant_ids, *, window: timedelta, bucket: timedelta, now=None) -> dict:
    """Per tenant, ``window`` cut into buckets of ``bucket``, oldest first."""
    from django.db import connection

    from sdp.models import OperationsSample

    now = now or timezone.now()
    start = now - window
    n = int(window / bucket)
    minutes = bucket.total_seconds() / 60
    capacity = ledger_capacity_per_minute()
    counts: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(
            COUNTS_SQL,
            {"start": start, "end": now, "bucket": bucket.total_seconds()},
        )
        for tenant_id, kind, b, count in cursor.fetchall():
            if 0 <= b < n:
                counts.setdefault((tenant_id, kind), [0] * n)[b] += count
    ages: dict = {}
    samples = OperationsSample.objects.filter(
        tenant_id__in=list(tenant_ids), taken_at__gte=start
    ).values_list(
        "tenant_id", "taken_at", "oldest_pending_payment_s", "oldest_pending_message_s"
    )
    for tenant_id, taken_at, payment_age, message_age in samples:
        b = min(int((taken_at - start) / bucket), n - 1)
        slots = ages.setdefault(tenant_id, ([None] * n, [None] * n))
        for slot, value in zip(slots, (payment_age or 0.0, message_age or 0.0),
                               strict=True):  # fmt: skip
            slot[b] = max(slot[b] or 0.0, value)
    result = {}
    for tenant_id in tenant_ids:
        confirmed = counts.get((tenant_id, "SUCCESS"), [0] * n)
        per_minute = [c / minutes for c in confirmed]
        failed = counts.get((tenant_id, "FAILED"), [0] * n)
        messages_failed = counts.get((tenant_id, "MESSAGE_FAILURE"), [0] * n)
        payment_ages, message_ages = ages.get(tenant_id, ([None] * n, [None] * n))
        result[tenant_id] = TenantHistory(
            confirmed_per_minute=per_minute,
            capacity_share=[c / capacity for c in per_minute],
            failures=[a + b for a, b in zip(failed, messages_failed, strict=True)],
            oldest_payment_s=payment_ages,
            oldest_message_s=message_ages,
        )
    return result


def tenant_charts(figures: Figures, now=None) -> list[dict]:
    """Each tenant's charts for each window, linked to the admin lists."""
    from django.urls import reverse

    from sdp.charts import Series, svg

    payments = reverse("admin:disbursements_payment_changelist")
    messages_url = reverse("admin:messaging_message_changelist")
    ids = [t.organization.pk for t in figures.tenants]
    windows = [
        (label, history(ids, window=window, bucket=bucket, now=now))
        for label, window, bucket in WINDOWS
    ]
    out = []
    for tenant in figures.tenants:
        org = tenant.organization.pk
        of_org = f"organization__id__exact={org}"
        rows = []
        for label, by_tenant in windows:
            h = by_tenant[org]
            rows.append({
                "label": label,
                "charts": [
                    svg(Series("confirmed / min", h.confirmed_per_minute,
                               href=f"{payments}?status__exact=SUCCESS&{of_org}")),
                    svg(Series("ledger capacity used", h.capacity_share, unit="%",
                               kind="line", scale=max(0.01, *h.capacity_share),
                               href=f"{payments}?status__exact=SUCCESS&{of_org}")),
                    svg(Series("oldest pending payment", h.oldest_payment_s,
                               unit="s", kind="line",
                               href=f"{payments}?status__exact=PENDING&{of_org}")),
                    svg(Series("oldest pending message", h.oldest_message_s,
                               unit="s", kind="line",
                               href=f"{messages_url}?status__exact=PENDING"
                                    f"&tenant_id={org}")),
                    svg(Series("failures (payments + messages)", h.failures,
                               href=f"{payments}?status__exact=FAILED&{of_org}")),
                ],
            })  # fmt: skip
        out.append({"tenant": tenant, "windows": rows})
    return out


def disbursements_in_progress(limit: int = 50) -> list[dict]:
    """Disbursements under way (and those finished in the last day): their
    payments beside their invitations' delivery."""
    from disbursements.models import Disbursement
    from disbursements.selectors import disbursement_stats

    since = timezone.now() - timedelta(days=1)
    disbursements = list(
        Disbursement.objects.filter(
            Q(status__in=["STARTED", "PAUSED"])
            | Q(status="COMPLETED", updated_at__gte=since)
        )
        .select_related("organization")
        .order_by("-updated_at")[:limit]
    )
    ids = [d.pk for d in disbursements]
    stats = disbursement_stats(ids) if ids else {}
    invitations = {
        row["disbursement_id"]: row
        for row in Message.objects.filter(
            kind=Message.Kind.RECEIVER_INVITATION, disbursement_id__in=ids
        )
        .values("disbursement_id")
        .annotate(
            sent=Count("id"),
            waiting=Count("id", filter=Q(status=Message.Status.PENDING)),
            delivered=Count("id", filter=Q(status=Message.Status.SUCCESS)),
            failed=Count("id", filter=Q(status=Message.Status.FAILURE)),
        )
        .order_by()
    }
    empty = {"sent": 0, "waiting": 0, "delivered": 0, "failed": 0}
    return [
        {
            "disbursement": d,
            "payments": stats.get(d.pk, {}),
            "invitations": invitations.get(d.pk, empty),
        }
        for d in disbursements
    ]


@staff_member_required
def operations_view(request: HttpRequest) -> HttpResponse:
    figures = operations_figures()
    return render(
        request,
        "admin/operations.html",
        {
            "figures": figures,
            "charts": tenant_charts(figures),
            "disbursements": disbursements_in_progress(),
            "reconciliation": reconciliation_selectors.latest_differences(),
            "title": "Operations",
            "site_header": "SDP",
        },
    )


class OperationsCollector:
    """The operator view's figures as gauges with a tenant label."""

    def describe(self):
        return []

    def collect(self):
        try:
            figures = operations_figures()
        except Exception:
            logger.exception("operations metrics unavailable")
            return
        gauges = {
            "pending": GaugeMetricFamily(
                "sdp_payments_pending", "PENDING payments", labels=["tenant"]
            ),
            "oldest": GaugeMetricFamily(
                "sdp_payments_pending_oldest_age_seconds",
                "Age of the oldest PENDING payment",
                labels=["tenant"],
            ),
            "failed": GaugeMetricFamily(
                "sdp_payments_failed_last_day",
                "Payments failed in the last 24 hours, by reason",
                labels=["tenant", "reason"],
            ),
            "messages": GaugeMetricFamily(
                "sdp_messages",
                "Messages waiting or failed",
                labels=["tenant", "status"],
            ),
            "balance": GaugeMetricFamily(
                "sdp_distribution_account_balance",
                "Distribution account balance",
                labels=["tenant", "asset"],
            ),
            "oldest_message": GaugeMetricFamily(
                "sdp_messages_pending_oldest_age_seconds",
                "Age of the oldest PENDING message",
                labels=["tenant"],
            ),
            "in_flight": GaugeMetricFamily(
                "sdp_payments_in_flight_amount",
                "Amount of READY, PAUSED and PENDING payments, by asset",
                labels=["tenant", "asset"],
            ),
            "finished": GaugeMetricFamily(
                "sdp_payments_finished_last_hour",
                "Payments that became SUCCESS or FAILED in the last hour",
                labels=["tenant", "result"],
            ),
        }
        for tenant in figures.tenants:
            name = tenant.organization.name
            gauges["pending"].add_metric([name], tenant.pending_payments)
            gauges["oldest"].add_metric([name], tenant.oldest_pending_age_s or 0)
            for reason, count in tenant.failed_last_day.items():
                gauges["failed"].add_metric([name, reason[:100]], count)
            gauges["messages"].add_metric([name, "PENDING"], tenant.messages_waiting)
            gauges["messages"].add_metric([name, "FAILURE"], tenant.messages_failed)
            for asset, amount in (tenant.balances or {}).items():
                gauges["balance"].add_metric([name, asset], float(amount))
            gauges["oldest_message"].add_metric(
                [name], tenant.oldest_message_age_s or 0
            )
            for asset, amount in tenant.in_flight.items():
                gauges["in_flight"].add_metric([name, asset], float(amount))
            for result in ("SUCCESS", "FAILED"):
                gauges["finished"].add_metric(
                    [name, result], tenant.finished_last_hour.get(result, 0)
                )
        yield from gauges.values()
        try:
            capacity = ledger_capacity_per_minute()
        except Exception:
            logger.warning("ledger capacity unavailable")
        else:
            yield GaugeMetricFamily(
                "sdp_ledger_capacity_payments_per_minute",
                "Fee-bumped payments the network admits per minute",
                value=capacity,
            )
        channels = GaugeMetricFamily(
            "sdp_channel_accounts", "Channel accounts by state", labels=["state"]
        )
        channels.add_metric(["free"], figures.channel_accounts_free)
        channels.add_metric(["leased"], figures.channel_accounts_leased)
        yield channels
