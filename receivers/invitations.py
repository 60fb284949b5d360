"""Which receiver wallets to invite, and when, and the invitation text
(receivers' policy; messaging only delivers).

- On disbursement start, each READY receiver wallet not yet invited gets one
  invitation (``queue_invitations``), written with bulk INSERTs in the caller's
  transaction.
- ``resend_invitations`` (beat, hourly) invites again those still READY every
  ``receiver_invitation_resend_interval_days``, at most
  ``MAX_INVITATION_RESEND_ATTEMPTS`` times, as SDP §7.3 counts them: resends are
  the invitation messages not failed since ``invitation_sent_at``.
- ``receiver_invitations_disabled`` stops all of it for an organization.
- The channel is the first of the organization's ``message_channel_priority``
  for which the receiver has a contact (SMS and WhatsApp need a phone number,
  EMAIL an email address).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from auth_org.models import Organization
from messaging.models import Message
from messaging.services import MessageDraft, queue_messages
from messaging.texts import render_receiver_invitation, subject_for
from receivers import links
from receivers.models import ReceiverWallet
from receivers.shortlinks import short_link, shorten_many


def registration_link(receiver_wallet: ReceiverWallet, *, asset=None) -> str:
    """The signed registration link (see ``receivers.links``)."""
    return links.registration_link(receiver_wallet, asset=asset)


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
    asset=None,
    resend: bool = False,
) -> int:
    """Write one invitation message per READY receiver wallet, in the caller's
    transaction (bulk INSERTs). Returns how many were written.

    ``template``: the disbursement's text, else the organization's. ``asset``:
    the asset the link names (the disbursement's); without it, each receiver
    wallet's latest READY payment's. Wallets already invited are skipped unless
    ``resend``; ``PATCH /receivers/wallets/{id}`` clears ``invitation_sent_at``
    then calls this to ask for a new invitation.
    """
    if organization.receiver_invitations_disabled:
        return 0
    if isinstance(receiver_wallets, QuerySet):
        # Only what an invitation needs: full rows of 10,000 wallets, receivers
        # and (the same) wallet provider cost seconds to build.
        receiver_wallets = receiver_wallets.select_related("receiver").only(
            "id",
            "status",
            "invitation_sent_at",
            "wallet_id",
            "receiver_id",
            "organization_id",
            "receiver__phone_number",
            "receiver__email",
        )
    wallets = [
        rw
        for rw in receiver_wallets
        if rw.status == ReceiverWallet.Status.READY
        and (resend or rw.invitation_sent_at is None)
    ]
    if not wallets:
        return 0
    template = template or organization.receiver_registration_message_template
    subject = subject_for(
        Message.Kind.RECEIVER_INVITATION, org=organization.display_name
    )
    assets = (
        dict.fromkeys((rw.pk for rw in wallets), asset)
        if asset is not None
        else links.assets_for(wallets)
    )
    # The link names no receiver (SDP's neither: the wallet proves who it is by
    # OTP), so it is signed once per wallet provider and asset, not per receiver.
    by_kind: dict = {}
    signed = {}
    for rw in wallets:
        kind = (rw.wallet_id, getattr(assets[rw.pk], "pk", None))
        if kind not in by_kind:
            by_kind[kind] = links.registration_link(
                rw, organization=organization, asset=assets[rw.pk]
            )
        signed[rw.pk] = by_kind[kind]
    if organization.is_link_shortener_enabled:
        codes = shorten_many(list(signed.values()))
        shown = {
            pk: short_link(organization.base_url, codes[url])
            for pk, url in signed.items()
        }
    else:
        shown = signed
    drafts = []
    invited = []
    for rw in wallets:
        target = _channel_and_contact(organization, rw)
        if target is None:
            continue
        channel, contact = target
        link = shown[rw.pk]
        drafts.append(
            MessageDraft(
                tenant_id=organization.id,
                kind=Message.Kind.RECEIVER_INVITATION,
                channel=channel,
                recipient=contact,
                body=render_receiver_invitation(
                    template,
                    organization_name=organization.display_name,
                    registration_link=link,
                ),
                title=subject,
                receiver_id=rw.receiver_id,
                receiver_wallet_id=rw.pk,
                disbursement_id=disbursement_id,
                daily_cap=organization.sms_daily_cap,
                template_variables={"1": organization.display_name, "2": link},
            )
        )
        invited.append(rw.pk)
    with transaction.atomic():
        queue_messages(drafts)
        # SDP keeps the first invitation's time; resends are counted from it.
        ReceiverWallet.objects.filter(
            pk__any=invited, invitation_sent_at__isnull=True
        ).update(invitation_sent_at=timezone.now())
    return len(drafts)


def receiver_wallets_due_for_resend(organization: Organization) -> QuerySet:
    """READY receiver wallets invited before, still unregistered, whose next
    resend is due: fewer than MAX_INVITATION_RESEND_ATTEMPTS resends so far and
    invitation_sent_at older than interval * (resends + 1) days."""
    interval = organization.receiver_invitation_resend_interval_days
    if not interval or organization.receiver_invitations_disabled:
        return ReceiverWallet.objects.none()
    now = timezone.now()
    candidates = ReceiverWallet.objects.filter(
        organization=organization,
        status=ReceiverWallet.Status.READY,
        invitation_sent_at__isnull=False,
        invitation_sent_at__lte=now - timedelta(days=interval),
    ).values_list("pk", "invitation_sent_at")
    pks = [pk for pk, _ in candidates]
    sent_at = dict(candidates)
    counts: dict = {}
    for receiver_wallet_id, created_at in (
        Message.objects.filter(
            kind=Message.Kind.RECEIVER_INVITATION, receiver_wallet_id__in=pks
        )
        .exclude(status=Message.Status.FAILURE)
        .values_list("receiver_wallet_id", "created_at")
    ):
        # The first invitation is written just before invitation_sent_at is
        # set; the ones after it are resends.
        if created_at > sent_at[receiver_wallet_id]:
            counts[receiver_wallet_id] = counts.get(receiver_wallet_id, 0) + 1
    due = []
    for pk in pks:
        resends = counts.get(pk, 0)
        if resends >= settings.MAX_INVITATION_RESEND_ATTEMPTS:
            continue
        if sent_at[pk] <= now - timedelta(days=interval * (resends + 1)):
            due.append(pk)
    return ReceiverWallet.objects.filter(pk__in=due)


def resend_invitations() -> int:
    """The periodic job: resend due invitations for every active organization."""
    total = 0
    organizations = Organization.objects.filter(
        deleted_at__isnull=True,
        status__in=[Organization.Status.PROVISIONED, Organization.Status.ACTIVATED],
        receiver_invitation_resend_interval_days__isnull=False,
    ).exclude(receiver_invitations_disabled=True)
    for organization in organizations:
        with transaction.atomic():
            total += queue_invitations(
                organization,
                receiver_wallets_due_for_resend(organization),
                resend=True,
            )
    return total
