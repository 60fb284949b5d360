"""The providers a message can go through, chosen by SMS_SENDER_TYPE and
EMAIL_SENDER_TYPE as in SDP.

A sender's ``send`` returns the provider's message id, or raises
``TransientError`` (try again later) or ``PermanentError`` (give up now, with the
provider's reason). ``find_accepted`` answers, after an attempt whose outcome is
unknown (worker killed, read timeout), whether the provider already took the
message, so that it is never sent twice.

What the providers offer for that:

- Twilio's Messages API takes no idempotency key (``I-Twilio-Idempotency-Token``
  is a header Twilio puts on *its* webhooks). But sent messages can be listed by
  recipient, so ``find_accepted`` looks for one created since the unconfirmed
  attempt, with the same body, whose sid no other message row holds.
- AWS SES (SendRawEmail / SendEmail v2) and SNS Publish to a phone number take no
  idempotency key (SNS deduplication ids exist only for FIFO topics) and sent
  messages cannot be listed. ``find_accepted`` raises ``CannotReconcile``: the
  message fails with that reason rather than risk a second copy; an operator may
  retry it from the admin.
- Twilio SendGrid's mail send takes no idempotency key either, and listing
  sent messages needs a paid add-on: ``CannotReconcile`` as with SES.
- DRY_RUN sends nothing, so sending again is harmless.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from messaging.models import Message

logger = logging.getLogger(__name__)

# The twilio client logs request URLs and query strings (phone numbers) at INFO.
_twilio_http_logger = logging.getLogger("messaging.senders.twilio_http")
_twilio_http_logger.setLevel(logging.WARNING)

HTTP_TIMEOUT_SECONDS = 15
# Clocks of ours and the provider's may differ a little.
CLOCK_SKEW = timedelta(minutes=2)


class SendError(Exception):
    def __init__(self, reason: str, *, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientError(SendError):
    """Try again later. ``maybe_accepted``: the request may have reached the
    provider (a read timeout), so the next attempt must ask before sending."""

    def __init__(self, reason: str, *, code: str = "", maybe_accepted: bool = False):
        super().__init__(reason, code=code)
        self.maybe_accepted = maybe_accepted


class PermanentError(SendError):
    """The provider refused this message for good (invalid number, unsubscribed)."""


class CannotReconcile(Exception):
    """The provider cannot tell whether it accepted an earlier attempt."""


class Sender:
    name: str = ""

    def send(self, message: Message) -> str:
        raise NotImplementedError

    def find_accepted(self, message: Message, since) -> str | None:
        raise CannotReconcile(
            f"{self.name} has no idempotency key and no way to list sent messages"
        )


class DryRunSender(Sender):
    name = Message.Sender.DRY_RUN

    def send(self, message: Message) -> str:
        from messaging.services import mask

        # The body holds links and codes: only its length is logged.
        logger.info(
            "dry-run %s %s message %s to %s (%d characters)",
            message.kind,
            message.channel,
            message.pk,
            mask(message.recipient),
            len(message.body),
        )
        return f"dry-run-{message.pk}"

    def find_accepted(self, message: Message, since) -> str | None:
        return None


# --- Twilio ----------------------------------------------------------------

# Twilio error codes that will not change on a retry.
# https://www.twilio.com/docs/api/errors
TWILIO_TRANSIENT_CODES = {20429, 20500, 20503, 30001}


def _twilio_http_client():
    from twilio.http.http_client import TwilioHttpClient

    base_url = settings.TWILIO_API_BASE_URL

    class _Client(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if base_url:
                # Local fakes only: keep Twilio's path, swap the host.
                base = urlsplit(base_url)
                parts = urlsplit(url)
                url = urlunsplit(
                    (base.scheme, base.netloc, parts.path, parts.query, "")
                )
            return super().request(method, url, *args, **kwargs)

    return _Client(timeout=HTTP_TIMEOUT_SECONDS, logger=_twilio_http_logger)


def twilio_client():
    from twilio.rest import Client

    return Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=_twilio_http_client(),
    )


class TwilioSMSSender(Sender):
    name = Message.Sender.TWILIO_SMS

    def to(self, message: Message) -> str:
        return message.recipient

    def create_params(self, message: Message) -> dict:
        return {
            "to": self.to(message),
            "messaging_service_sid": settings.TWILIO_SERVICE_SID,
            "body": message.body,
        }

    def send(self, message: Message) -> str:
        import requests
        from twilio.base.exceptions import TwilioRestException

        try:
            created = twilio_client().messages.create(**self.create_params(message))
        except TwilioRestException as exc:
            raise _twilio_error(exc, message) from None
        except (requests.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise TransientError(f"Twilio unreachable: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise TransientError(
                f"Twilio did not answer: {type(exc).__name__}", maybe_accepted=True
            ) from None
        return created.sid

    def matches(self, message: Message, provider_message) -> bool:
        return provider_message.body == message.body

    def find_accepted(self, message: Message, since) -> str | None:
        known = set(
            Message.objects.filter(
                recipient=message.recipient, sender=self.name
            ).values_list("provider_message_id", flat=True)
        )
        for provider_message in twilio_client().messages.list(
            to=self.to(message), limit=50
        ):
            created = provider_message.date_created
            if created is None or created < since - CLOCK_SKEW:
                continue
            if provider_message.sid in known:
                continue
            if self.matches(message, provider_message):
                return provider_message.sid
        return None


class TwilioWhatsAppSender(TwilioSMSSender):
    """WhatsApp through Twilio Content templates, as SDP: the invitation template
    takes {1: organization name, 2: registration link}, the OTP one {1: code}."""

    name = Message.Sender.TWILIO_WHATSAPP

    def to(self, message: Message) -> str:
        return f"whatsapp:{message.recipient}"

    def content_sid(self, message: Message) -> str:
        sid = ""
        if message.kind == Message.Kind.RECEIVER_INVITATION:
            sid = settings.TWILIO_WHATSAPP_RECEIVER_INVITATION_TEMPLATE_SID
        elif message.kind == Message.Kind.RECEIVER_OTP:
            sid = settings.TWILIO_WHATSAPP_RECEIVER_OTP_TEMPLATE_SID
        if not sid:
            raise PermanentError(
                f"no Twilio WhatsApp content template for {message.kind}"
            )
        return sid

    def create_params(self, message: Message) -> dict:
        return {
            "to": self.to(message),
            "from_": f"whatsapp:{settings.TWILIO_WHATSAPP_FROM_NUMBER}",
            "content_sid": self.content_sid(message),
            "content_variables": json.dumps(message.template_variables, sort_keys=True),
        }

    def matches(self, message: Message, provider_message) -> bool:
        # A content-template message's body is rendered by Twilio.
        return True


def _twilio_error(exc, message: Message) -> SendError:
    code = str(exc.code or "")
    # Twilio's messages quote the phone number: keep it out of our records.
    reason = f"Twilio {exc.status} error {code}: {exc.msg}".replace(
        message.recipient, "<recipient>"
    )
    if exc.status == 429 or exc.status >= 500 or (exc.code in TWILIO_TRANSIENT_CODES):
        return TransientError(reason, code=code)
    return PermanentError(reason, code=code)


# --- AWS -------------------------------------------------------------------

AWS_TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
}


def _aws_kwargs() -> dict:
    kwargs = {"region_name": settings.AWS_REGION}
    if settings.AWS_ACCESS_KEY_ID:
        kwargs["aws_access_key_id"] = settings.AWS_ACCESS_KEY_ID
        kwargs["aws_secret_access_key"] = settings.AWS_SECRET_ACCESS_KEY
    return kwargs


def _aws_error(exc, message: Message) -> SendError:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        reason = f"AWS {code}: {error.get('Message', '')}".replace(
            message.recipient, "<recipient>"
        )
        if code in AWS_TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientError(reason, code=code)
        return PermanentError(reason, code=code)
    if isinstance(exc, (ConnectTimeoutError, EndpointConnectionError)):
        return TransientError(f"AWS unreachable: {type(exc).__name__}")
    return TransientError(
        f"AWS did not answer: {type(exc).__name__}", maybe_accepted=True
    )


class AwsSMSSender(Sender):
    name = Message.Sender.AWS_SMS

    def send(self, message: Message) -> str:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        attributes = {
            "AWS.SNS.SMS.SMSType": {
                "DataType": "String",
                "StringValue": "Transactional",
            }
        }
        if settings.AWS_SNS_SENDER_ID:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": settings.AWS_SNS_SENDER_ID,
            }
        try:
            response = boto3.client("sns", **_aws_kwargs()).publish(
                PhoneNumber=message.recipient,
                Message=message.body,
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _aws_error(exc, message) from None
        return response["MessageId"]


class AwsEmailSender(Sender):
    """Email through AWS SES, by django-ses as the Django email backend."""

    name = Message.Sender.AWS_EMAIL

    def send(self, message: Message) -> str:
        from botocore.exceptions import BotoCoreError, ClientError
        from django.core.mail import EmailMultiAlternatives, get_connection
        from django.utils.html import strip_tags

        connection = get_connection(
            "django_ses.SESBackend",
            fail_silently=False,
            aws_access_key=settings.AWS_ACCESS_KEY_ID or None,
            aws_secret_key=settings.AWS_SECRET_ACCESS_KEY or None,
            aws_region_name=settings.AWS_REGION,
        )
        is_html = message.body.lstrip().startswith("<")
        email = EmailMultiAlternatives(
            subject=message.title,
            body=strip_tags(message.body) if is_html else message.body,
            from_email=settings.AWS_SES_SENDER_ID or settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            connection=connection,
        )
        if is_html:
            email.attach_alternative(message.body, "text/html")
        try:
            email.send()
        except (ClientError, BotoCoreError) as exc:
            raise _aws_error(exc, message) from None
        return email.extra_headers["message_id"]


# --- Twilio SendGrid ---------------------------------------------------------
#
# Through Twilio's ``sendgrid`` library (maintained: 6.12 in 2025), as SDP does
# with its Go client. SendGrid's mail send takes no idempotency key and its
# sent messages can only be listed with a paid add-on: find_accepted cannot
# reconcile (the base class), as with SES.


class TwilioEmailSender(Sender):
    name = Message.Sender.TWILIO_EMAIL

    def mail(self, message: Message):
        from django.utils.html import strip_tags
        from sendgrid.helpers.mail import Mail

        is_html = message.body.lstrip().startswith("<")
        return Mail(
            from_email=settings.TWILIO_SENDGRID_SENDER_ADDRESS,
            to_emails=message.recipient,
            subject=message.title or settings.INSTANCE_NAME,
            plain_text_content=strip_tags(message.body) if is_html else message.body,
            html_content=message.body if is_html else None,
        )

    def send(self, message: Message) -> str:
        from urllib.error import URLError

        from python_http_client.exceptions import HTTPError
        from sendgrid import SendGridAPIClient

        client = SendGridAPIClient(
            settings.TWILIO_SENDGRID_API_KEY, host=settings.TWILIO_SENDGRID_API_URL
        )
        try:
            response = client.client.mail.send.post(
                request_body=self.mail(message).get(), timeout=HTTP_TIMEOUT_SECONDS
            )
        except HTTPError as exc:
            raise _sendgrid_error(exc, message) from None
        except TimeoutError:
            # The request was sent; SendGrid may have taken it.
            raise TransientError(
                "SendGrid did not answer: timeout", maybe_accepted=True
            ) from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransientError(
                f"SendGrid unreachable: {type(reason).__name__}"
            ) from None
        return response.headers.get("X-Message-Id") or ""


def _sendgrid_error(exc, message: Message) -> SendError:
    status = int(exc.status_code or 0)
    try:
        errors = json.loads(exc.body or b"{}").get("errors") or []
        detail = "; ".join(str(e.get("message", "")) for e in errors)[:300]
    except (ValueError, AttributeError):
        detail = ""
    reason = f"SendGrid {status} error: {detail}".replace(
        message.recipient, "<recipient>"
    )
    if status == 429 or status >= 500:
        return TransientError(reason, code=str(status))
    return PermanentError(reason, code=str(status))


SENDERS: dict[str, type[Sender]] = {
    cls.name: cls
    for cls in (
        DryRunSender,
        TwilioSMSSender,
        TwilioWhatsAppSender,
        AwsSMSSender,
        AwsEmailSender,
        TwilioEmailSender,
    )
}

SMS_SENDERS = {"DRY_RUN", "TWILIO_SMS", "TWILIO_WHATSAPP", "AWS_SMS"}
EMAIL_SENDERS = {"DRY_RUN", "AWS_EMAIL", "TWILIO_EMAIL"}


def sender_name_for(channel: str) -> str:
    """The configured sender for a channel. Raises PermanentError when the
    configuration names one this platform does not have."""
    if channel == Message.Channel.EMAIL:
        name = settings.EMAIL_SENDER_TYPE
        if name not in EMAIL_SENDERS:
            raise PermanentError(f"EMAIL_SENDER_TYPE {name} is not supported")
        return name
    name = settings.SMS_SENDER_TYPE
    if name not in SMS_SENDERS:
        raise PermanentError(f"SMS_SENDER_TYPE {name} is not supported")
    if channel == Message.Channel.WHATSAPP and name != "DRY_RUN":
        return Message.Sender.TWILIO_WHATSAPP
    return name


def get_sender(name: str) -> Sender:
    return SENDERS[name]()


# --- a test message (manage.py message_send, SDP's `message send`) ----------

# WhatsApp goes only through Twilio content templates, which a free text
# cannot fill; SDP's command does not offer it either.
TEST_SENDERS = {"DRY_RUN", "TWILIO_SMS", "AWS_SMS", "AWS_EMAIL", "TWILIO_EMAIL"}


def send_test_message(
    *, sender_name: str, email: bool, recipient: str, body: str, title: str = ""
) -> str:
    """Send one text now through ``sender_name``, by email or else SMS, to check
    its configuration. Nothing is recorded (no Message row: it is no tenant's
    message). Returns the provider's id; raises ValueError naming what is
    wrong in the input, SendError with the provider's reason."""
    from core.validators import validate_email, validate_phone

    if sender_name not in TEST_SENDERS:
        raise ValueError(
            f"message sender type must be one of {', '.join(sorted(TEST_SENDERS))}"
        )
    if sender_name not in (EMAIL_SENDERS if email else SMS_SENDERS):
        raise ValueError(
            f"{sender_name} does not send "
            + ("emails: use --phone-number" if email else "SMS: use --email")
        )
    if not body.strip():
        raise ValueError("message: the message is empty")
    if email:
        if error := validate_email(recipient):
            raise ValueError(f"email: {error}")
        if not title.strip():
            raise ValueError("title: a title is required for an email")
    elif error := validate_phone(recipient):
        raise ValueError(f"phone-number: {error}")
    message = Message(
        kind=Message.Kind.USER_MFA,
        channel=Message.Channel.EMAIL if email else Message.Channel.SMS,
        sender=sender_name,
        recipient=recipient,
        title=title,
        body=body,
    )
    return get_sender(sender_name).send(message)
