from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from auth_org.provisioning import provision_distribution_account, provision_tenant


class Command(BaseCommand):
    help = "Create a tenant (organization) with its owner, wallets and assets."

    def add_arguments(self, parser):
        parser.add_argument("name", help="tenant name: lower-case letters and dashes")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-first-name", required=True)
        parser.add_argument("--owner-last-name", required=True)
        parser.add_argument("--owner-password", default=None)
        parser.add_argument("--base-url", default="")
        parser.add_argument("--sdp-ui-base-url", default="")
        parser.add_argument("--default", action="store_true", help="the default tenant")
        parser.add_argument(
            "--no-distribution-account",
            action="store_true",
            help="skip creating and funding the distribution account on the network",
        )

    def handle(self, *args, **options):
        try:
            organization = provision_tenant(
                options["name"],
                owner_email=options["owner_email"],
                owner_first_name=options["owner_first_name"],
                owner_last_name=options["owner_last_name"],
                owner_password=options["owner_password"],
                base_url=options["base_url"],
                sdp_ui_base_url=options["sdp_ui_base_url"],
                is_default=options["default"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"created tenant {organization.name} ({organization.id})")
        if options["no_distribution_account"]:
            return
        try:
            address = provision_distribution_account(organization)
        except Exception as exc:
            raise CommandError(
                f"tenant created, but its distribution account could not be set up "
                f"({exc}); run `manage.py distribution_account create --tenant "
                f"{organization.name}` once the network answers"
            ) from exc
        self.stdout.write(f"distribution account {address}")
