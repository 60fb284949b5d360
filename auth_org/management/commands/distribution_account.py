"""manage.py distribution_account (create | show | rotate) --tenant NAME

Lives in auth_org, not tss: it resolves a tenant by name and keeps the
organization's recorded address in step with the TSS's key.
"""

from django.core.management.base import BaseCommand, CommandError

from auth_org.models import Organization
from auth_org.provisioning import provision_distribution_account
from tss import accounts
from tss.errors import TSSError


class Command(BaseCommand):
    help = "Create, show or rotate a tenant's distribution account."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "show", "rotate"])
        parser.add_argument("--tenant", required=True, help="the tenant's name")

    def handle(self, *args, action, tenant, **options):
        organization = Organization.objects.filter(
            name__iexact=tenant, deleted_at__isnull=True
        ).first()
        if organization is None:
            raise CommandError(f"no tenant named {tenant!r}")
        try:
            if action == "create":
                key = provision_distribution_account(organization)
            elif action == "rotate":
                key = accounts.rotate_distribution_account(organization.id)
                Organization.objects.filter(pk=organization.pk).update(
                    distribution_account_address=key
                )
            else:
                key = accounts.distribution_account_for(organization.id)
        except TSSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(key)
