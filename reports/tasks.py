"""The daily reconciliation, thin over reports.reconciliation."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from auth_org.models import Organization
from reports import reconciliation

logger = logging.getLogger(__name__)


def tenants_to_reconcile():
    return Organization.objects.filter(
        deleted_at__isnull=True,
        status=Organization.Status.ACTIVATED,
    ).exclude(distribution_account_address="")


@shared_task
def reconcile_yesterday_task() -> int:
    """Every active tenant's yesterday (in its UTC offset); one tenant's
    failure (Horizon down) does not stop the others. Returns the differences."""
    found = 0
    for organization in tenants_to_reconcile():
        today = dt.datetime.now(reconciliation.utc_offset(organization)).date()
        try:
            runs = reconciliation.reconcile(organization, today - dt.timedelta(days=1))
        except Exception:
            logger.exception("reconciliation of %s failed", organization.name)
            continue
        found += sum(run.differences.count() for run in runs)
    return found
