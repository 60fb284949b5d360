"""Invitations (receivers.invitations): a short link to the signed registration
link, the channel chosen by the tenant's priority, templates, resends."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from messaging.models import Message
from receivers.invitations import queue_invitations, resend_invitations
from receivers.links import verify_signed_url
from receivers.models import ReceiverWallet, ShortURL
from tests.factories import (
    AssetFactory,
    OrganizationFactory,
    ReceiverWalletFactory,
)

pytestmark = pytest.mark.django_db


def ready_wallets(organization, n, **receiver):
    return [
        ReceiverWalletFactory(
            receiver__organization=organization,
            status=ReceiverWallet.Status.READY,
            **{f"receiver__{k}": v for k, v in receiver.items()},
        )
        for _ in range(n)
    ]


def test_invitation_has_a_short_link_to_the_signed_registration_link(client):
    organization = OrganizationFactory(base_url="https://aid.sdp.example")
    (rw,) = ready_wallets(organization, 1)
    asset = AssetFactory(organization=organization)
    assert queue_invitations(organization, [rw], asset=asset) == 1
    message = Message.objects.get(receiver_wallet_id=rw.pk)
    assert message.channel == Message.Channel.SMS
    assert message.recipient == rw.receiver.phone_number
    short = message.body.split("Click ")[1].split(" to register")[0]
    assert short.startswith("https://aid.sdp.example/r/")
    response = client.get(urlsplit(short).path)
    assert response.status_code == 302
    assert verify_signed_url(response["Location"])
    assert ShortURL.objects.count() == 1
    rw.refresh_from_db()
    assert rw.invitation_sent_at is not None
    # Invited once: a second start does not invite again.
    assert queue_invitations(organization, [rw], asset=asset) == 0


def test_unknown_short_code_is_404(client):
    assert client.get("/r/nope").status_code == 404


def test_channel_priority_falls_back_to_the_next_contact():
    organization = OrganizationFactory(
        message_channel_priority=["WHATSAPP", "EMAIL", "SMS"],
        is_link_shortener_enabled=False,
    )
    (with_phone,) = ready_wallets(organization, 1)
    (email_only,) = ready_wallets(
        organization, 1, phone_number=None, email="e@example.org"
    )
    queue_invitations(organization, [with_phone, email_only])
    wa = Message.objects.get(receiver_wallet_id=with_phone.pk)
    assert wa.channel == Message.Channel.WHATSAPP
    assert wa.template_variables["1"] == organization.display_name
    assert verify_signed_url(wa.template_variables["2"])
    email = Message.objects.get(receiver_wallet_id=email_only.pk)
    assert email.channel == Message.Channel.EMAIL
    assert (
        email.title
        == f"You have a payment waiting for you from {organization.display_name}"
    )


def test_invitations_disabled_and_non_ready_wallets_get_nothing():
    organization = OrganizationFactory(receiver_invitations_disabled=True)
    assert queue_invitations(organization, ready_wallets(organization, 2)) == 0
    other = OrganizationFactory()
    draft = ReceiverWalletFactory(receiver__organization=other)
    assert queue_invitations(other, [draft]) == 0
    assert Message.objects.count() == 0


def test_disbursement_template_wins_and_link_is_appended_when_missing():
    organization = OrganizationFactory(is_link_shortener_enabled=False)
    (rw,) = ready_wallets(organization, 1)
    queue_invitations(organization, [rw], template="Hi from {{ organization_name }}!")
    body = Message.objects.get().body
    assert body.startswith(f"Hi from {organization.display_name}! wallet")


def test_resend_every_interval_up_to_the_limit(settings):
    settings.MAX_INVITATION_RESEND_ATTEMPTS = 2
    organization = OrganizationFactory(receiver_invitation_resend_interval_days=2)
    (rw,) = ready_wallets(organization, 1)
    queue_invitations(organization, [rw])
    start = timezone.now()
    assert resend_invitations() == 0
    with time_machine.travel(start + timedelta(days=2, hours=1)):
        assert resend_invitations() == 1
        assert resend_invitations() == 0
    with time_machine.travel(start + timedelta(days=3)):
        assert resend_invitations() == 0
    with time_machine.travel(start + timedelta(days=4, hours=2)):
        assert resend_invitations() == 1
    with time_machine.travel(start + timedelta(days=30)):
        assert resend_invitations() == 0
    assert Message.objects.filter(receiver_wallet_id=rw.pk).count() == 3
