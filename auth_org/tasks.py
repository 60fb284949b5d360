import logging

from celery import shared_task

from auth_org import low_balance
from auth_org.models import Organization
from auth_org.provisioning import provision_distribution_account

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def provision_distribution_account_task(organization_id: str) -> None:
    """Create and fund a new tenant's distribution account (network I/O, so out of
    the provisioning transaction). Idempotent: the TSS reuses the stored key."""
    organization = Organization.objects.filter(
        pk=organization_id, deleted_at__isnull=True
    ).first()
    if organization is not None:
        provision_distribution_account(organization)


@shared_task(ignore_result=True)
def watch_low_balances_task() -> None:
    """Beat: tell ``distribution_account.low_balance`` (auth_org.low_balance).
    Nothing escapes: an unreadable tenant is logged there, anything else here."""
    try:
        result = low_balance.watch()
    except Exception:
        logger.exception("low-balance watch failed")
        return
    if result.told or result.unreadable:
        logger.info("low-balance watch: %s", result)
