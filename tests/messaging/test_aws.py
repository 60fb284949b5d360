import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from messaging.models import Message
from messaging.services import deliver_message
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

SENDER = "no-reply@aid.example.org"


@pytest.fixture
def aws(settings, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_REGION = "us-east-1"
    settings.AWS_SES_SENDER_ID = SENDER
    with mock_aws():
        yield settings


def test_email_goes_through_ses_with_a_verified_sender(aws):
    aws.EMAIL_SENDER_TYPE = "AWS_EMAIL"
    boto3.client("ses", region_name="us-east-1").verify_email_identity(
        EmailAddress=SENDER
    )
    message = MessageFactory(
        channel=Message.Channel.EMAIL,
        kind=Message.Kind.USER_MFA,
        recipient="ada@example.org",
        title="Verification code to access your account",
        body="<p>Your code is <b>123456</b></p>",
    )
    assert deliver_message(message.pk) == "delivered"

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    (sent,) = backend.sent_messages
    assert sent.source == SENDER
    assert set(sent.destinations) == {"ada@example.org"}
    assert "Subject: Verification code to access your account" in sent.raw_data
    assert "text/html" in sent.raw_data
    message.refresh_from_db()
    assert message.status == Message.Status.SUCCESS
    assert message.sender == Message.Sender.AWS_EMAIL
    assert message.provider_message_id == sent.id


def test_ses_rejection_of_an_unverified_sender_is_permanent(aws):
    aws.EMAIL_SENDER_TYPE = "AWS_EMAIL"
    message = MessageFactory(channel=Message.Channel.EMAIL, recipient="b@example.org")
    assert deliver_message(message.pk) == "failed"
    message.refresh_from_db()
    assert "MessageRejected" in message.error
    assert ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages == []


def test_interrupted_ses_attempt_is_not_sent_twice(aws):
    from datetime import timedelta

    from django.utils import timezone

    aws.EMAIL_SENDER_TYPE = "AWS_EMAIL"
    message = MessageFactory(channel=Message.Channel.EMAIL, recipient="c@example.org")
    Message.objects.filter(pk=message.pk).update(
        sender=Message.Sender.AWS_EMAIL,
        attempts=1,
        sending_started_at=timezone.now() - timedelta(hours=1),
    )
    assert deliver_message(message.pk) == "failed"
    message.refresh_from_db()
    assert "not sent again to avoid a duplicate" in message.error
    assert ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages == []


def test_sms_through_sns(aws):
    aws.SMS_SENDER_TYPE = "AWS_SMS"
    aws.AWS_SNS_SENDER_ID = "AIDORG"
    message = MessageFactory(recipient="+14155550199", body="You have a payment")
    assert deliver_message(message.pk) == "delivered"
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    ((provider_id, (number, text)),) = backend.sms_messages.items()
    assert (number, text) == ("+14155550199", "You have a payment")
    message.refresh_from_db()
    assert message.provider_message_id == provider_id
    assert message.sender == Message.Sender.AWS_SMS
