from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from auth_org.models import Organization, Role
from auth_org.provisioning import add_user


class Command(BaseCommand):
    help = "Add a dashboard user to a tenant."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("first_name")
        parser.add_argument("last_name")
        parser.add_argument("--tenant", required=True, help="tenant name")
        parser.add_argument("--owner", action="store_true")
        parser.add_argument("--roles", default="", help="comma-separated roles")
        parser.add_argument("--password", default=None)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(
            name__iexact=options["tenant"], deleted_at__isnull=True
        ).first()
        if organization is None:
            raise CommandError(f"no tenant named {options['tenant']!r}")
        roles = [role.strip() for role in options["roles"].split(",") if role.strip()]
        if options["owner"] and Role.OWNER not in roles:
            roles.insert(0, Role.OWNER)
        if not roles:
            raise CommandError("give --owner or --roles")
        try:
            user = add_user(
                organization,
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                roles=roles,
                is_owner=options["owner"],
                password=options["password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"added user {user.id} to {organization.name}")
