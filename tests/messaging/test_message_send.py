"""manage.py message_send: SDP's `message send`, to test a configured sender
from the command line, through the real clients against the local fakes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from messaging.models import Message
from tests.messaging.sendgrid_fake import error
from tests.messaging.twilio_fake import SERVICE_SID, invalid_number

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("message_send", *args, stdout=out)
    return out.getvalue()


def test_sms_through_twilio(twilio_settings, fake_twilio):
    out = run(
        "--message-sender-type", "TWILIO_SMS",
        "--phone-number", "+14155550123", "--message", "Testing the SDP",
    )  # fmt: skip
    (request,) = fake_twilio.posts()
    assert request["form"] == {
        "To": "+14155550123",
        "MessagingServiceSid": SERVICE_SID,
        "Body": "Testing the SDP",
    }
    assert fake_twilio.accepted[0]["sid"] in out
    assert "+14155550123" not in out  # masked
    assert not Message.objects.exists()


def test_email_through_sendgrid_by_the_configured_sender(
    sendgrid_settings, fake_sendgrid
):
    out = run(
        "--email", "ops@aid.example.org", "--title", "SDP test",
        "--message", "Testing the SDP",
    )  # fmt: skip
    (request,) = fake_sendgrid.requests
    assert request["json"]["personalizations"] == [
        {"to": [{"email": "ops@aid.example.org"}]}
    ]
    assert request["json"]["subject"] == "SDP test"
    assert "TWILIO_EMAIL" in out


def test_the_providers_refusal_is_the_commands_error(twilio_settings, fake_twilio):
    fake_twilio.script = [invalid_number("+15005550001")]
    with pytest.raises(CommandError, match="TWILIO_SMS did not send it: Twilio 400"):
        run("--phone-number", "+15005550001", "--message", "x")


def test_sendgrid_refusal(sendgrid_settings, fake_sendgrid):
    fake_sendgrid.script = [error(403, "The from address does not match a sender")]
    with pytest.raises(CommandError, match="SendGrid 403"):
        run("--email", "ops@aid.example.org", "--title", "t", "--message", "x")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--message-sender-type", "AWS_EMAIL", "--phone-number", "+14155550123",
          "--message", "x"], "AWS_EMAIL does not send SMS"),
        (["--message-sender-type", "TWILIO_SMS", "--email", "a@example.org",
          "--title", "t", "--message", "x"], "TWILIO_SMS does not send emails"),
        (["--message-sender-type", "TWILIO_WHATSAPP", "--phone-number",
          "+14155550123", "--message", "x"], "must be one of"),
        (["--message-sender-type", "DRY_RUN", "--phone-number", "12",
          "--message", "x"], "phone-number: invalid phone"),
        (["--message-sender-type", "DRY_RUN", "--email", "a@example.org",
          "--message", "x"], "title: a title is required"),
        (["--message-sender-type", "DRY_RUN", "--phone-number", "+14155550123",
          "--message", " "], "message: the message is empty"),
    ],
)  # fmt: skip
def test_bad_input_names_the_flag(args, match, fake_twilio):
    with pytest.raises(CommandError, match=match):
        run(*args)
    assert fake_twilio.posts() == []


def test_dry_run_sends_nothing():
    out = run(
        "--message-sender-type", "DRY_RUN",
        "--phone-number", "+14155550123", "--message", "hello",
    )  # fmt: skip
    assert "sent through DRY_RUN" in out
