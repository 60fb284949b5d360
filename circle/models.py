"""The Circle rail's tables: each tenant's Circle credentials, and one transfer
request per attempt to pay a payment through Circle.

Like the TSS, this app knows a tenant only by its id and a payment only by its
external id (the payment's id as text)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models

from core.fields import amount_field
from core.fsm import StatusChange, StatusModel

# The namespace of the idempotency keys: uuid5(NAMESPACE, "<payment id>/<attempt>").
IDEMPOTENCY_NAMESPACE = uuid.UUID("6b0f2d1e-3c1a-5b8e-9f47-2d6c0e51a9c3")


def idempotency_key(external_id: str, attempt: int) -> uuid.UUID:
    """The key Circle gets for a payment's ``attempt``-th request: derived, so a
    crashed worker's retry (or anyone's) sends the same key and Circle answers
    with the transfer it already made instead of paying again."""
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{external_id}/{attempt}")


class CircleAccount(models.Model):
    """A tenant's Circle wallet and API key (SDP's circle_client_config), the key
    encrypted at rest with DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE."""

    tenant_id = models.UUIDField(primary_key=True)
    wallet_id = models.CharField(max_length=64)
    encrypted_api_key = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant_id} ({self.wallet_id})"


class TransferRequest(StatusModel):
    """One request to Circle to pay one payment (SDP's circle_transfer_requests).

    PENDING until Circle reports the transfer (or payout) complete or failed.
    ``circle_id`` is empty until Circle's answer to the create request is
    stored; until then the request is (re)sent with the same idempotency key.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING"
        SUCCESS = "SUCCESS"
        FAILED = "FAILED"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.SUCCESS, Status.FAILED}),
        Status.SUCCESS: frozenset(),
        Status.FAILED: frozenset(),
    }

    class Kind(models.TextChoices):
        TRANSFER = "TRANSFER"
        PAYOUT = "PAYOUT"

    idempotency_key = models.UUIDField(primary_key=True, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    external_id = models.CharField(max_length=64)
    attempt = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=8, choices=Kind, default=Kind.TRANSFER)
    status = models.CharField(max_length=8, choices=Status, default=Status.PENDING)
    status_message = models.TextField(blank=True)
    wallet_id = models.CharField(max_length=64)
    destination = models.CharField(max_length=69)  # an M... is refused, kept
    memo = models.CharField(max_length=64, blank=True)
    asset_code = models.CharField(max_length=12)
    asset_issuer = models.CharField(max_length=56, blank=True)
    amount = amount_field()
    # Circle's id of the transfer or payout, and of the address-book recipient
    # (payouts); Circle's own status of it (pending, complete, failed).
    circle_id = models.CharField(max_length=64, blank=True, db_index=True)
    circle_recipient_id = models.CharField(max_length=64, blank=True)
    circle_status = models.CharField(max_length=16, blank=True)
    stellar_transaction_hash = models.CharField(max_length=64, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    # True once a send went unanswered (no answer, a timeout, a 5xx): Circle may
    # have made the transfer, so a later refusal must not fail the payment (a
    # retry would pay again); only Circle's record (an operator) can tell.
    maybe_accepted = models.BooleanField(default=False)
    # Sending and polling: a lease while a worker holds the row, a back-off.
    locked_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    sync_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            # One live request per payment; a FAILED one may be followed by another.
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(status="FAILED"),
                name="circle_request_one_live_per_external_id",
            ),
            models.UniqueConstraint(
                fields=["external_id", "attempt"],
                name="circle_request_attempt_uniq",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="circle_request_amount_gt_0"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="circle_request_live_idx",
                condition=models.Q(status="PENDING"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"


class TransferRequestStatusChange(StatusChange):
    transfer_request = models.ForeignKey(
        TransferRequest, on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(StatusChange.Meta):
        pass
