"""Prometheus metrics of the TSS (SDP's ``tss_*`` names where they exist).

Counters and the latency histogram live in the process that does the work (the
worker). The gauges (queue depth, age of the oldest, channel accounts) are read
from the database at scrape time by ``DatabaseCollector``, registered by the app
so that the web process's ``/metrics`` shows them without a worker in reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

submissions = Counter(
    "tss_tx_processing_processed_count",
    "Submitter transactions finished, by result and error type",
    ["result", "error_type"],
)
retries = Counter(
    "tss_tx_processing_retry_count",
    "Envelopes rebuilt or re-sent, by reason",
    ["reason"],
)
latency = Histogram(
    "tss_tx_processing_queued_to_completed_latency_seconds",
    "From hand-off to a final result",
    ["result"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
horizon_errors = Counter(
    "tss_horizon_client_error_count",
    "Horizon errors by HTTP status and result code",
    ["status_code", "result_code"],
)
horizon_calls = Counter(
    "tss_horizon_client_request_count", "Horizon requests by endpoint", ["endpoint"]
)
bad_seq = Counter("tss_bad_seq_count", "tx_bad_seq answers (sequence reloaded)")
rpc_calls = Counter(
    "tss_rpc_client_request_count", "Stellar RPC requests by method", ["method"]
)
rpc_errors = Counter(
    "tss_rpc_client_error_count",
    "Stellar RPC failures by method and HTTP status (0: no answer)",
    ["method", "status_code"],
)
contract_payments = Counter(
    "tss_contract_payments_processed_count",
    "Payments to contract accounts (C...) finished, by result",
    ["result"],
)
contract_maintenance = Counter(
    "tss_contract_maintenance_count",
    "Restores of archived entries and asset contract deployments sent, by answer",
    ["kind", "status"],
)


class DatabaseCollector:
    """Gauges read from the database when /metrics is scraped."""

    def describe(self) -> list[Any]:
        return []  # no query at registration time

    def collect(self) -> Iterator[Any]:
        from django.db import DatabaseError
        from django.db.models import Count, Min, Q
        from django.utils import timezone

        from tss.models import ChannelAccount, SubmitterTransaction

        try:
            live = SubmitterTransaction.objects.filter(
                status__in=["PENDING", "PROCESSING"]
            ).aggregate(
                pending=Count("pk", filter=Q(status="PENDING")),
                processing=Count("pk", filter=Q(status="PROCESSING")),
                oldest=Min("created_at"),
            )
            channels = ChannelAccount.objects.aggregate(
                total=Count("pk"),
                leased=Count("pk", filter=Q(locked_until_ledger_number__isnull=False)),
            )
        except DatabaseError:
            return
        depth = GaugeMetricFamily(
            "tss_queue_depth", "Live submitter transactions", labels=["status"]
        )
        depth.add_metric(["PENDING"], live["pending"])
        depth.add_metric(["PROCESSING"], live["processing"])
        yield depth
        oldest = live["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "tss_queue_oldest_age_seconds",
            "Age of the oldest live submitter transaction",
            value=age,
        )
        accounts = GaugeMetricFamily(
            "tss_channel_accounts", "Channel accounts by state", labels=["state"]
        )
        accounts.add_metric(["free"], channels["total"] - channels["leased"])
        accounts.add_metric(["leased"], channels["leased"])
        yield accounts
