"""Messaging's one write path: put a message in the outbox, deliver it once."""

from __future__ import annotations

import uuid

from django.db import transaction

from messaging.models import Message


def queue_message(
    *,
    tenant_id: uuid.UUID,
    kind: str,
    channel: str,
    recipient: str,
    body: str,
    title: str = "",
    receiver_id: uuid.UUID | None = None,
    receiver_wallet_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    disbursement_id: uuid.UUID | None = None,
) -> Message:
    """Write a PENDING message in the caller's transaction; deliver after commit.

    The caller renders ``body`` (and ``title`` for email); messaging only delivers.
    """
    message = Message.objects.create(
        tenant_id=tenant_id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        body=body,
        title=title,
        receiver_id=receiver_id,
        receiver_wallet_id=receiver_wallet_id,
        user_id=user_id,
        disbursement_id=disbursement_id,
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id: uuid.UUID) -> None:
    from messaging.tasks import deliver_message_task

    deliver_message_task.delay(str(message_id))


def mask(recipient: str) -> str:
    """A contact as it may appear in logs: enough to tell two apart, no more."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    return f"{recipient[:3]}***{recipient[-2:]}" if len(recipient) > 5 else "***"


def deliver_message(message_id: uuid.UUID | str) -> None:
    """Deliver a PENDING message. Safe to run twice: the row is locked and only a
    PENDING one is sent.

    Only the DRY_RUN sender exists so far: it records the message as delivered and
    logs it with the contact masked.
    """
    import logging

    from sdp.fsm import transition

    logger = logging.getLogger(__name__)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Message.Status.PENDING)
            .first()
        )
        if message is None:
            return
        logger.info(
            "dry-run %s message %s to %s",
            message.channel,
            message.pk,
            mask(message.recipient),
        )
        transition(
            message,
            to=Message.Status.SUCCESS,
            updates={
                "sender": Message.Sender.DRY_RUN,
                "attempts": message.attempts + 1,
            },
        )
