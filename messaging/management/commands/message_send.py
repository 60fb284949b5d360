"""Send one message now through a configured sender, to test its settings:
SDP's ``message --message-sender-type X send --phone-number|--email --title
--message``."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messaging import senders
from messaging.services import mask


class Command(BaseCommand):
    help = "Send a test message through a sender (SDP's `message send`)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--message-sender-type",
            help=(
                "one of " + ", ".join(sorted(senders.TEST_SENDERS)) + "; default: "
                "EMAIL_SENDER_TYPE with --email, else SMS_SENDER_TYPE"
            ),
        )
        to = parser.add_mutually_exclusive_group(required=True)
        to.add_argument("--phone-number", help="the recipient, in E.164")
        to.add_argument("--email", help="the recipient's email address")
        parser.add_argument("--title", default="", help="the email's subject")
        parser.add_argument("--message", required=True, help="the text to send")

    def handle(self, *args, **options):
        email = options["email"]
        sender_name = options["message_sender_type"] or (
            settings.EMAIL_SENDER_TYPE if email else settings.SMS_SENDER_TYPE
        )
        recipient = email or options["phone_number"]
        try:
            provider_id = senders.send_test_message(
                sender_name=sender_name,
                email=bool(email),
                recipient=recipient,
                body=options["message"],
                title=options["title"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except senders.SendError as exc:
            raise CommandError(f"{sender_name} did not send it: {exc.reason}") from None
        self.stdout.write(
            f"sent through {sender_name} to {mask(recipient)}"
            f" (provider id {provider_id or 'none'})"
        )
