"""No phone number, email address, code or link appears in the logs."""

import logging

import pytest

from messaging.models import Message
from messaging.services import deliver_message
from receivers.invitations import queue_invitations
from receivers.models import ReceiverWallet
from tests.factories import MessageFactory, OrganizationFactory, ReceiverWalletFactory
from tests.messaging.twilio_fake import invalid_number

pytestmark = pytest.mark.django_db


def test_no_contact_or_code_in_logs(caplog, twilio_settings, fake_twilio):
    organization = OrganizationFactory(is_link_shortener_enabled=False)
    rw = ReceiverWalletFactory(
        receiver__organization=organization,
        receiver__phone_number="+14155559876",
        status=ReceiverWallet.Status.READY,
    )
    otp = MessageFactory(
        kind=Message.Kind.RECEIVER_OTP, recipient="+14155559877", body="918273 code"
    )
    email = MessageFactory(
        channel=Message.Channel.EMAIL, recipient="secret.person@example.org", body="x"
    )
    dry = MessageFactory(recipient="+14155559878", body="564738")
    caplog.set_level(logging.DEBUG)
    queue_invitations(organization, [rw])
    invitation = Message.objects.get(receiver_wallet_id=rw.pk)
    fake_twilio.script = [invalid_number("+14155559877")]
    twilio_settings.EMAIL_SENDER_TYPE = "DRY_RUN"
    for message in (otp, invitation, email):
        deliver_message(message.pk)
    # A dry-run pass too.
    twilio_settings.SMS_SENDER_TYPE = "DRY_RUN"
    deliver_message(dry.pk)

    text = "\n".join(r.getMessage() for r in caplog.records)
    # The logs did record the deliveries and the failure.
    assert "delivered" in text
    assert "failed" in text
    for secret in (
        "+14155559876",
        "14155559876",
        "+14155559877",
        "+14155559878",
        "secret.person@example.org",
        "918273",
        "564738",
        "signature=",
    ):
        assert secret not in text, secret
