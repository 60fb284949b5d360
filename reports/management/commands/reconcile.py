"""manage.py reconcile --tenant NAME [--date YYYY-MM-DD]: reconcile one tenant's
day now (yesterday by default) and print what was found."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from auth_org.models import Organization
from reports import reconciliation


class Command(BaseCommand):
    help = "Compare a tenant's SUCCESS payments of a day with the Stellar network."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="the tenant's name")
        parser.add_argument("--date", help="the day, YYYY-MM-DD (default: yesterday)")

    def handle(self, *args, tenant: str, date: str | None, **options):
        organization = Organization.objects.filter(
            name=tenant, deleted_at__isnull=True
        ).first()
        if organization is None:
            raise CommandError(f"no tenant named {tenant!r}")
        if date:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError as exc:
                raise CommandError(f"--date: {exc}") from exc
        else:
            today = dt.datetime.now(reconciliation.utc_offset(organization)).date()
            day = today - dt.timedelta(days=1)
        for run in reconciliation.reconcile(organization, day):
            differences = list(run.differences.all())
            self.stdout.write(
                f"{organization.name} {day} {run.asset.code}: "
                f"payments_checked={run.payments_checked} "
                f"operations_checked={run.operations_checked} "
                f"differences={len(differences)}"
            )
            for d in differences:
                self.stdout.write(
                    f"  {d.kind} payment={d.payment_id or '-'} "
                    f"tx={d.transaction_hash or '-'} ours={d.our_amount} "
                    f"network={d.network_amount}"
                )
