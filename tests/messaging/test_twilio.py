import base64
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from messaging.models import Message
from messaging.services import deliver_message, queue_message
from tests.factories import MessageFactory, OrganizationFactory
from tests.messaging.twilio_fake import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SERVICE_SID,
    TOO_MANY_REQUESTS,
    invalid_number,
)

pytestmark = pytest.mark.django_db


def test_sms_goes_to_twilio_with_the_exact_form_body(twilio_settings, fake_twilio):
    message = MessageFactory(recipient="+14155550123", body="Hello from Aid Org")

    assert deliver_message(message.pk) == "delivered"

    (request,) = fake_twilio.posts()
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["form"] == {
        "To": "+14155550123",
        "MessagingServiceSid": SERVICE_SID,
        "Body": "Hello from Aid Org",
    }
    expected_auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["auth"] == f"Basic {expected_auth}"
    message.refresh_from_db()
    assert message.status == Message.Status.SUCCESS
    assert message.sender == Message.Sender.TWILIO_SMS
    assert message.provider_message_id == fake_twilio.accepted[0]["sid"]
    assert message.sent_at is not None
    assert list(message.status_changes.values_list("to_status", flat=True)) == [
        "SUCCESS"
    ]


def test_whatsapp_uses_content_template_and_prefixes_numbers(
    twilio_settings, fake_twilio
):
    message = MessageFactory(
        channel=Message.Channel.WHATSAPP,
        recipient="+14155550124",
        template_variables={"1": "Aid Org", "2": "https://x.example/r/abc"},
    )
    assert deliver_message(message.pk) == "delivered"
    (request,) = fake_twilio.posts()
    assert request["form"] == {
        "To": "whatsapp:+14155550124",
        "From": "whatsapp:+14155550000",
        "ContentSid": "HX" + "a" * 32,
        "ContentVariables": '{"1": "Aid Org", "2": "https://x.example/r/abc"}',
    }
    message.refresh_from_db()
    assert message.sender == Message.Sender.TWILIO_WHATSAPP


def test_invalid_number_fails_at_once_with_twilios_reason(twilio_settings, fake_twilio):
    fake_twilio.script = [invalid_number("+1555")]
    message = MessageFactory(recipient="+1555")

    assert deliver_message(message.pk) == "failed"

    message.refresh_from_db()
    assert message.status == Message.Status.FAILURE
    assert "21211" in message.error
    assert "is not a valid phone number" in message.error
    assert "+1555" not in message.error
    assert message.attempts == 1
    assert len(fake_twilio.posts()) == 1


def test_429_backs_off_then_delivers(twilio_settings, fake_twilio, settings):
    settings.MESSAGE_RETRY_BASE_SECONDS = 30
    fake_twilio.script = [TOO_MANY_REQUESTS, (503, {"code": 20503, "status": 503})]
    message = MessageFactory()

    assert deliver_message(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING
    assert "20429" in message.error
    assert message.not_before > timezone.now() + timedelta(seconds=25)
    assert "transient" in message.hold_reason
    # Not due yet: nothing is sent.
    assert deliver_message(message.pk) == "skipped"
    assert len(fake_twilio.posts()) == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert deliver_message(message.pk) == "retry"
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.not_before > timezone.now() + timedelta(seconds=55)

    with time_machine.travel(timezone.now() + timedelta(seconds=200)):
        assert deliver_message(message.pk) == "delivered"
    message.refresh_from_db()
    assert message.status == Message.Status.SUCCESS
    assert message.attempts == 3
    assert len(fake_twilio.posts()) == 3


def test_transient_errors_give_up_at_the_limit(twilio_settings, fake_twilio, settings):
    settings.MESSAGE_MAX_ATTEMPTS = 2
    settings.MESSAGE_RETRY_BASE_SECONDS = 1
    fake_twilio.script = [TOO_MANY_REQUESTS] * 5
    message = MessageFactory()
    deliver_message(message.pk)
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        assert deliver_message(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == Message.Status.FAILURE
    assert message.error.startswith("gave up after 2 attempts")
    assert len(fake_twilio.posts()) == 2


def test_interrupted_attempt_that_twilio_accepted_is_not_sent_again(
    twilio_settings, fake_twilio
):
    # A worker sent it, Twilio accepted, the worker died before recording it.
    message = MessageFactory(recipient="+14155550125", body="Your code")
    fake_twilio.accept(
        {"To": "+14155550125", "Body": "Your code", "MessagingServiceSid": SERVICE_SID}
    )
    Message.objects.filter(pk=message.pk).update(
        sender=Message.Sender.TWILIO_SMS,
        attempts=1,
        sending_started_at=timezone.now() - timedelta(minutes=5),
    )
    assert deliver_message(message.pk) == "delivered"
    message.refresh_from_db()
    assert message.provider_message_id == fake_twilio.accepted[0]["sid"]
    assert fake_twilio.posts() == []
    (lookup,) = [r for r in fake_twilio.requests if r["method"] == "GET"]
    assert lookup["query"]["To"] == "+14155550125"


def test_interrupted_attempt_that_twilio_never_got_is_sent(
    twilio_settings, fake_twilio
):
    message = MessageFactory(recipient="+14155550126")
    Message.objects.filter(pk=message.pk).update(
        sender=Message.Sender.TWILIO_SMS,
        attempts=1,
        sending_started_at=timezone.now() - timedelta(minutes=5),
    )
    assert deliver_message(message.pk) == "delivered"
    assert len(fake_twilio.posts()) == 1


def test_a_live_lease_is_respected(twilio_settings, fake_twilio):
    message = MessageFactory()
    Message.objects.filter(pk=message.pk).update(sending_started_at=timezone.now())
    assert deliver_message(message.pk) == "skipped"
    assert fake_twilio.requests == []


def test_queue_message_keeps_its_keyword_signature(django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        message = queue_message(
            tenant_id=organization.id,
            kind=Message.Kind.USER_MFA,
            channel=Message.Channel.EMAIL,
            recipient="ada@example.org",
            body="123456",
            title="Verification code to access your account",
        )
    assert len(callbacks) == 1
    assert message.status == Message.Status.PENDING
    assert message.daily_cap is None
