"""EMAIL_SENDER_TYPE=TWILIO_EMAIL: email through Twilio SendGrid with SDP's
variables (TWILIO_SENDGRID_API_KEY, TWILIO_SENDGRID_SENDER_ADDRESS), by the
``sendgrid`` client against a local fake of SendGrid's v3 mail send API."""

from __future__ import annotations

import pytest

from messaging.models import Message
from messaging.services import deliver_message
from tests.factories import MessageFactory
from tests.messaging.sendgrid_fake import API_KEY, error

pytestmark = pytest.mark.django_db


def email(**kw):
    return MessageFactory(
        channel=Message.Channel.EMAIL,
        recipient="ann@example.org",
        title="Your payment from Aid Org",
        **kw,
    )


def test_email_goes_to_sendgrid_with_sdps_variables(sendgrid_settings, fake_sendgrid):
    message = email(body="<p>You have a payment waiting for you.</p>")

    assert deliver_message(message.pk) == "delivered"

    (request,) = fake_sendgrid.requests
    assert request["path"] == "/v3/mail/send"
    assert request["auth"] == f"Bearer {API_KEY}"
    assert request["content_type"].startswith("application/json")
    body = request["json"]
    assert body["from"] == {"email": "no-reply@aid.example.org"}
    assert body["personalizations"] == [{"to": [{"email": "ann@example.org"}]}]
    assert body["subject"] == "Your payment from Aid Org"
    assert body["content"] == [
        {"type": "text/plain", "value": "You have a payment waiting for you."},
        {"type": "text/html", "value": "<p>You have a payment waiting for you.</p>"},
    ]
    message.refresh_from_db()
    assert message.status == Message.Status.SUCCESS
    assert message.sender == Message.Sender.TWILIO_EMAIL
    assert message.provider_message_id == fake_sendgrid.accepted[0]


def test_plain_text_email(sendgrid_settings, fake_sendgrid):
    message = email(body="123456 is your Aid Org verification code.")
    assert deliver_message(message.pk) == "delivered"
    assert fake_sendgrid.requests[0]["json"]["content"] == [
        {"type": "text/plain", "value": "123456 is your Aid Org verification code."}
    ]


def test_a_refused_address_fails_with_sendgrids_reason(
    sendgrid_settings, fake_sendgrid
):
    fake_sendgrid.script = [
        error(400, "Does not contain a valid address: ann@example.org",
              "personalizations.0.to.0.email"),
    ]  # fmt: skip
    message = email()
    assert deliver_message(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == Message.Status.FAILURE
    assert "SendGrid 400" in message.error
    assert "<recipient>" in message.error
    assert "ann@example.org" not in message.error


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttled_or_down_is_tried_again(sendgrid_settings, fake_sendgrid, status):
    fake_sendgrid.script = [error(status, "try later")]
    message = email()
    assert deliver_message(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING
    assert message.attempts == 1
    assert message.not_before is not None


def test_a_bad_key_fails(sendgrid_settings, fake_sendgrid):
    fake_sendgrid.script = [
        error(401, "The provided authorization grant is invalid, expired, or revoked")
    ]
    assert deliver_message(email().pk) == "failed"


def test_unreachable_sendgrid_is_tried_again(sendgrid_settings, fake_sendgrid):
    sendgrid_settings.TWILIO_SENDGRID_API_URL = "http://127.0.0.1:9"
    message = email()
    assert deliver_message(message.pk) == "retry"
    message.refresh_from_db()
    assert "SendGrid unreachable" in message.error


def test_no_answer_is_never_sent_twice(sendgrid_settings, fake_sendgrid, monkeypatch):
    """A timeout after the request went out: SendGrid may have taken it, and
    it can neither dedupe nor list sent mail, so the message fails rather
    than risk a second copy (an operator may retry it)."""
    from messaging import senders

    monkeypatch.setattr(senders, "HTTP_TIMEOUT_SECONDS", 0.5)
    fake_sendgrid.script = ["hold"]
    message = email()
    assert deliver_message(message.pk) == "retry"
    message.refresh_from_db()
    assert message.unconfirmed_since is not None
    Message.objects.filter(pk=message.pk).update(not_before=None)
    assert deliver_message(message.pk) == "failed"
    assert len(fake_sendgrid.requests) == 1
