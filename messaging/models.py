"""The outbox: every SMS, WhatsApp message and email the platform sends.

Messaging is at the bottom of the layers: it knows a tenant only by its id and
the rows it was asked about (receiver wallet, user, disbursement) only as ids.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from core.fsm import StatusChange, StatusModel
from core.ids import uuid7


class Message(StatusModel):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        SUCCESS = "SUCCESS"
        FAILURE = "FAILURE"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.SUCCESS, Status.FAILURE}),
        Status.SUCCESS: frozenset(),
        Status.FAILURE: frozenset({Status.PENDING}),
    }

    class Channel(models.TextChoices):
        SMS = "SMS"
        WHATSAPP = "WHATSAPP"
        EMAIL = "EMAIL"

    class Kind(models.TextChoices):
        RECEIVER_INVITATION = "RECEIVER_INVITATION"
        RECEIVER_OTP = "RECEIVER_OTP"
        USER_INVITATION = "USER_INVITATION"
        USER_FORGOT_PASSWORD = "USER_FORGOT_PASSWORD"  # noqa: S105 - a kind
        USER_MFA = "USER_MFA"
        # the owners told of the daily reconciliation's differences (reports)
        RECONCILIATION_DIFFERENCES = "RECONCILIATION_DIFFERENCES"

    class Sender(models.TextChoices):
        """The messenger used, SDP's message ``type``."""

        TWILIO_SMS = "TWILIO_SMS"
        TWILIO_WHATSAPP = "TWILIO_WHATSAPP"
        AWS_SMS = "AWS_SMS"
        AWS_EMAIL = "AWS_EMAIL"
        TWILIO_EMAIL = "TWILIO_EMAIL"
        DRY_RUN = "DRY_RUN"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=32, choices=Kind)
    channel = models.CharField(max_length=16, choices=Channel)
    sender = models.CharField(max_length=32, choices=Sender, blank=True)
    recipient = models.CharField(max_length=254)
    title = models.CharField(max_length=128, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    # What the message is about, as opaque ids owned by higher layers.
    receiver_id = models.UUIDField(null=True, blank=True, db_index=True)
    receiver_wallet_id = models.UUIDField(null=True, blank=True, db_index=True)
    user_id = models.UUIDField(null=True, blank=True)
    disbursement_id = models.UUIDField(null=True, blank=True, db_index=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Not sent before this time: back-off after a transient error, or a daily cap.
    not_before = models.DateTimeField(null=True, blank=True)
    # Why a PENDING message is waiting (a daily cap, a back-off), for the admin.
    hold_reason = models.CharField(max_length=255, blank=True)
    # SMS/WhatsApp messages the tenant may send a day, as the caller passed it.
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    # Variables of a provider-side template (Twilio WhatsApp content templates).
    template_variables = models.JSONField(default=dict, blank=True)
    # A worker is talking to the provider since then (a lease; see services).
    sending_started_at = models.DateTimeField(null=True, blank=True)
    # An earlier attempt may have reached the provider (killed worker, timeout):
    # the next attempt asks the provider before sending again.
    unconfirmed_since = models.DateTimeField(null=True, blank=True)
    # When the provider accepted it; counts towards the daily cap.
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                name="message_pending_idx",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(
                fields=["tenant_id", "sent_at"], name="message_tenant_sent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} via {self.channel} ({self.status})"


class MessageStatusChange(StatusChange):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(StatusChange.Meta):
        pass
