from celery import shared_task

from auth_org.models import Organization
from auth_org.provisioning import provision_distribution_account


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
