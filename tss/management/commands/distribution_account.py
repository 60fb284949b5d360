"""manage.py distribution_account (create | show | rotate) --tenant NAME"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from tss import accounts
from tss.errors import TSSError


class Command(BaseCommand):
    help = "Create, show or rotate a tenant's distribution account."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "show", "rotate"])
        parser.add_argument("--tenant", required=True, help="the tenant's name")

    def handle(self, *args, action, tenant, **options):
        # The TSS knows tenants by id only; the name is resolved through the app
        # registry so that the tss package imports no app above it.
        organization_model = apps.get_model("auth_org", "Organization")
        organization = organization_model.objects.filter(name=tenant).first()
        if organization is None:
            raise CommandError(f"no tenant named {tenant!r}")
        try:
            if action == "create":
                key = accounts.create_distribution_account(organization.id)
            elif action == "rotate":
                key = accounts.rotate_distribution_account(organization.id)
            else:
                key = accounts.distribution_account_for(organization.id)
        except TSSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(key)
