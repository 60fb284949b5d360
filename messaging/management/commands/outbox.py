"""Read what the dry-run sender "sent": ``manage.py outbox --to EMAIL_OR_PHONE``.

The DRY_RUN sender delivers nothing and logs only a message's length (bodies hold
codes and links); the body stays in the database. This prints the newest bodies
of DRY_RUN messages to one recipient, for the person testing on a development or
testnet deployment (the dashboard's MFA code, a receiver's one-time code). Only
DRY_RUN messages: what a real sender delivered is never printed here.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from messaging.models import Message


class Command(BaseCommand):
    help = "Print the newest dry-run messages to a recipient (e.g. the MFA code)."

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="the email or phone number")
        parser.add_argument(
            "--kind",
            choices=[kind.value for kind in Message.Kind],
            help="only this kind (USER_MFA for the dashboard's sign-in code)",
        )
        parser.add_argument("--last", type=int, default=1, help="how many (newest)")

    def handle(self, *args, **options):
        messages = Message.objects.filter(
            recipient__iexact=options["to"].strip(),
            sender=Message.Sender.DRY_RUN,
        )
        if options["kind"]:
            messages = messages.filter(kind=options["kind"])
        found = list(messages.order_by("-created_at")[: max(1, options["last"])])
        if not found:
            raise CommandError(
                f"no dry-run message to {options['to']} (messages are stored once "
                "the worker has sent them; is the worker running?)"
            )
        for message in found:
            self.stdout.write(
                f"{message.created_at:%Y-%m-%d %H:%M:%S} {message.kind} "
                f"{message.channel}:\n{message.body}\n"
            )
