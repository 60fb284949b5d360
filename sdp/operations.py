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
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from auth_org.models import Organization
from disbursements.models import Payment, PaymentStatusChange
from messaging.models import Message
from tss.models import ChannelAccount

logger = logging.getLogger(__name__)

BALANCE_CACHE_SECONDS = 60


@dataclass
class TenantFigures:
    organization: Organization
    pending_payments: int = 0
    oldest_pending_age_s: float | None = None
    failed_last_day: dict[str, int] = field(default_factory=dict)
    messages_waiting: int = 0
    messages_failed: int = 0
    balances: dict[str, Decimal] | None = None


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
    )
    for row in messages:
        figures = by_id.get(row["tenant_id"])
        if figures:
            figures.messages_waiting = row["waiting"]
            figures.messages_failed = row["failed"]
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


@staff_member_required
def operations_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "admin/operations.html",
        {"figures": operations_figures(), "title": "Operations", "site_header": "SDP"},
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
        yield from gauges.values()
        channels = GaugeMetricFamily(
            "sdp_channel_accounts", "Channel accounts by state", labels=["state"]
        )
        channels.add_metric(["free"], figures.channel_accounts_free)
        channels.add_metric(["leased"], figures.channel_accounts_leased)
        yield channels
