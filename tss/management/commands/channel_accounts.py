"""manage.py channel_accounts create N | delete (--id G... | --all) | ensure N |
verify [--delete-invalid] | list"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tss import channels
from tss.errors import TSSError
from tss.models import ChannelAccount


class Command(BaseCommand):
    help = "Create, delete, verify and list the TSS's channel accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("count", type=int)
        delete = sub.add_parser("delete")
        group = delete.add_mutually_exclusive_group(required=True)
        group.add_argument("--id", action="append", dest="ids")
        group.add_argument("--all", action="store_true")
        ensure = sub.add_parser("ensure")
        ensure.add_argument("count", type=int)
        verify = sub.add_parser("verify")
        verify.add_argument("--delete-invalid", action="store_true")
        sub.add_parser("list")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "create":
                created = channels.create(options["count"])
                self.stdout.write(f"created {len(created)} channel accounts")
            elif action == "delete":
                deleted = channels.delete(None if options["all"] else options["ids"])
                self.stdout.write(f"deleted {len(deleted)} channel accounts")
            elif action == "ensure":
                added, removed = channels.ensure(options["count"])
                self.stdout.write(f"created {added}, deleted {removed}")
            elif action == "verify":
                invalid = channels.verify(delete_invalid=options["delete_invalid"])
                for key in invalid:
                    self.stdout.write(f"invalid {key}")
                self.stdout.write(f"{len(invalid)} invalid channel accounts")
            else:
                for row in ChannelAccount.objects.order_by("created_at"):
                    leased = row.locked_until_ledger_number or "-"
                    self.stdout.write(f"{row.public_key} leased_until={leased}")
        except TSSError as exc:
            raise CommandError(str(exc)) from exc
