from django.core.management.base import BaseCommand, CommandError

from auth_org.models import Organization
from auth_org.provisioning import setup_for_network


class Command(BaseCommand):
    help = "Seed the network's wallets and assets (SDP's `db setup-for-network`)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="one tenant; default: all tenants")

    def handle(self, *args, **options):
        organizations = Organization.objects.filter(deleted_at__isnull=True)
        if options["tenant"]:
            organizations = organizations.filter(name__iexact=options["tenant"])
            if not organizations.exists():
                raise CommandError(f"no tenant named {options['tenant']!r}")
        for organization in organizations:
            setup_for_network(organization)
            self.stdout.write(f"seeded {organization.name}")
