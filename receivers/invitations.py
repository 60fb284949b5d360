"""Which receiver wallets to invite, and the invitation text (receivers' policy;
messaging only delivers)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.template import Context, Template
from django.utils import timezone

from auth_org.models import Organization
from messaging.models import Message
from messaging.services import queue_message
from receivers.models import ReceiverWallet


def registration_link(receiver_wallet: ReceiverWallet) -> str:
    """Where the receiver starts registering. Signed links come with issue 7/8."""
    return f"{settings.BASE_URL}/wallet-registration/start?rw={receiver_wallet.pk}"


def _channel_and_contact(
    organization: Organization, receiver_wallet: ReceiverWallet
) -> tuple[str, str] | None:
    receiver = receiver_wallet.receiver
    contacts = {
        Message.Channel.SMS: receiver.phone_number,
        Message.Channel.WHATSAPP: receiver.phone_number,
        Message.Channel.EMAIL: receiver.email,
    }
    for channel in organization.message_channel_priority:
        if contacts.get(channel):
            return channel, contacts[channel]
    return None


def queue_invitations(
    organization: Organization,
    receiver_wallets: Iterable[ReceiverWallet],
    *,
    disbursement_id=None,
    template: str = "",
) -> int:
    """Write one invitation message per receiver wallet, in the caller's
    transaction. Returns how many were written."""
    if organization.receiver_invitations_disabled:
        return 0
    compiled = Template(template or organization.receiver_registration_message_template)
    now = timezone.now()
    count = 0
    for receiver_wallet in receiver_wallets:
        target = _channel_and_contact(organization, receiver_wallet)
        if target is None:
            continue
        channel, contact = target
        body = compiled.render(
            Context(
                {
                    "organization_name": organization.display_name,
                    "registration_link": registration_link(receiver_wallet),
                }
            )
        )
        queue_message(
            tenant_id=organization.id,
            kind=Message.Kind.RECEIVER_INVITATION,
            channel=channel,
            recipient=contact,
            body=body,
            title=f"You have a payment waiting from {organization.display_name}",
            receiver_id=receiver_wallet.receiver_id,
            receiver_wallet_id=receiver_wallet.pk,
            disbursement_id=disbursement_id,
        )
        ReceiverWallet.objects.filter(pk=receiver_wallet.pk).update(
            invitation_sent_at=now
        )
        count += 1
    return count
