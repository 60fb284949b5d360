"""The reconciliation's differences on /metrics: read from the database at
scrape time (the runs happen in a worker), per tenant and kind, for each
tenant's latest reconciled day."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily


class DifferencesCollector:
    def describe(self):
        return []  # no query at registration time

    def collect(self):
        from django.db import DatabaseError
        from django.db.models import Count, Max

        from reports.models import Difference, Reconciliation

        try:
            latest = dict(
                Reconciliation.objects.values("organization__name")
                .annotate(day=Max("date"))
                .values_list("organization__name", "day")
            )
            rows = list(
                Difference.objects.filter(reconciliation__date__in=set(latest.values()))
                .values(
                    "reconciliation__organization__name", "reconciliation__date", "kind"
                )
                .annotate(count=Count("pk"))
                .order_by()
            )
        except DatabaseError:
            return
        gauge = GaugeMetricFamily(
            "sdp_reconciliation_differences",
            "Differences between our payments and the network on the tenant's "
            "latest reconciled day",
            labels=["tenant", "kind"],
        )
        for tenant in latest:
            counts = {
                row["kind"]: row["count"]
                for row in rows
                if row["reconciliation__organization__name"] == tenant
                and row["reconciliation__date"] == latest[tenant]
            }
            for kind in Difference.Kind.values:
                gauge.add_metric([tenant, kind], counts.get(kind, 0))
        yield gauge
        yield GaugeMetricFamily(
            "sdp_reconciliation_latest_day_timestamp",
            "The latest day any tenant was reconciled (Unix time of its start)",
            value=max((_unix(day) for day in latest.values()), default=0),
        )


def _unix(day) -> float:
    import datetime as dt

    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()
