"""Disbursements and their payments."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models

from core.fields import amount_field
from core.fsm import ActorStatusChange, StatusModel
from core.ids import uuid7
from receivers.models import VerificationField


class RegistrationContactType(models.TextChoices):
    EMAIL = "EMAIL"
    EMAIL_AND_WALLET_ADDRESS = "EMAIL_AND_WALLET_ADDRESS"
    PHONE_NUMBER = "PHONE_NUMBER"
    PHONE_NUMBER_AND_WALLET_ADDRESS = "PHONE_NUMBER_AND_WALLET_ADDRESS"


class Disbursement(StatusModel):
    class Status(models.TextChoices):
        DRAFT = "DRAFT"
        READY = "READY"
        STARTED = "STARTED"
        PAUSED = "PAUSED"
        COMPLETED = "COMPLETED"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.READY}),
        # READY -> READY: instructions uploaded again.
        Status.READY: frozenset({Status.READY, Status.STARTED}),
        Status.STARTED: frozenset({Status.PAUSED, Status.COMPLETED}),
        Status.PAUSED: frozenset({Status.STARTED}),
        Status.COMPLETED: frozenset(),
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "auth_org.Organization", on_delete=models.PROTECT, related_name="disbursements"
    )
    name = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    asset = models.ForeignKey(
        "auth_org.Asset", on_delete=models.PROTECT, related_name="+"
    )
    wallet = models.ForeignKey(
        "auth_org.Wallet", on_delete=models.PROTECT, related_name="+"
    )
    verification_field = models.CharField(
        max_length=32, choices=VerificationField, blank=True
    )
    registration_contact_type = models.CharField(
        max_length=40, choices=RegistrationContactType
    )
    receiver_registration_message_template = models.TextField(blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_content = models.BinaryField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="disbursement_org_name_uniq"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class DisbursementStatusChange(ActorStatusChange):
    disbursement = models.ForeignKey(
        Disbursement, on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(ActorStatusChange.Meta):
        pass


class Payment(StatusModel):
    class Status(models.TextChoices):
        DRAFT = "DRAFT"
        READY = "READY"
        PENDING = "PENDING"
        PAUSED = "PAUSED"
        SUCCESS = "SUCCESS"
        FAILED = "FAILED"
        CANCELED = "CANCELED"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        # DRAFT -> CANCELED: a direct payment held for approvals, withdrawn
        # (disbursements.payments.cancel_payment allows it for those only).
        Status.DRAFT: frozenset({Status.READY, Status.CANCELED}),
        # READY -> READY: held by its receiver's address cooling period (the
        # history says why and until when).
        Status.READY: frozenset(
            {
                Status.READY,
                Status.PENDING,
                Status.PAUSED,
                Status.CANCELED,
                Status.FAILED,
            }
        ),
        Status.PAUSED: frozenset({Status.READY}),
        Status.PENDING: frozenset({Status.SUCCESS, Status.FAILED}),
        # FAILED -> READY is the dashboard's retry; FAILED -> PENDING is SDP's
        # direct resubmission.
        Status.FAILED: frozenset({Status.READY, Status.PENDING}),
        Status.SUCCESS: frozenset(),
        Status.CANCELED: frozenset(),
    }

    class Type(models.TextChoices):
        DISBURSEMENT = "DISBURSEMENT"
        DIRECT = "DIRECT"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No single-column indexes where a composite one below starts with the column
    # (organization, disbursement, receiver_wallet): each costs every insert of an
    # upload an index write and finds nothing the composite one cannot.
    organization = models.ForeignKey(
        "auth_org.Organization",
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    disbursement = models.ForeignKey(
        Disbursement,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="payments",
        db_index=False,
    )
    receiver = models.ForeignKey(
        "receivers.Receiver", on_delete=models.PROTECT, related_name="payments"
    )
    receiver_wallet = models.ForeignKey(
        "receivers.ReceiverWallet",
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    asset = models.ForeignKey(
        "auth_org.Asset", on_delete=models.PROTECT, related_name="+"
    )
    amount = amount_field()
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    type = models.CharField(max_length=16, choices=Type, default=Type.DISBURSEMENT)
    stellar_transaction_id = models.CharField(max_length=64, blank=True)
    stellar_operation_id = models.CharField(max_length=32, blank=True)
    external_payment_id = models.CharField(max_length=64, blank=True)
    sender_address = models.CharField(max_length=69, blank=True)
    # Why a FAILED payment failed when the receiver can fix it (no_account,
    # no_trustline, not_authorized, line_full: disbursements.retries); the
    # watcher retries it when the network shows it fixed. Blank otherwise.
    failure_reason = models.CharField(max_length=32, blank=True, default="")
    # Staff released it from its receiver's address cooling period (the who and
    # why are in the audit log): the hand-off no longer holds it.
    cooling_released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_gt_0"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(type="DISBURSEMENT") & models.Q(disbursement__isnull=False)
                )
                | (models.Q(type="DIRECT") & models.Q(disbursement__isnull=True)),
                name="payment_type_matches_disbursement",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"]),
            models.Index(fields=["receiver_wallet", "status"]),
            # The dashboard's lists: newest first, by update (default) or creation.
            models.Index(
                fields=["organization", "-updated_at", "-id"],
                name="payment_org_updated",
            ),
            models.Index(
                fields=["organization", "-created_at", "-id"],
                name="payment_org_created",
            ),
            # A disbursement's payments in upload order (its receivers list).
            models.Index(
                fields=["disbursement", "created_at", "id"],
                name="payment_disb_created",
            ),
            # The watcher's FAILED payments waiting on their receiver: few rows.
            models.Index(
                fields=["failure_reason"],
                condition=models.Q(status="FAILED") & ~models.Q(failure_reason=""),
                name="payment_waiting_receiver",
            ),
        ]

    def __str__(self) -> str:
        # What staff recognise: amount, asset and receiver (the admin selects
        # the asset and receiver with the list, so no query per row).
        amount = format(self.amount.normalize(), "f") if self.amount else "-"
        return f"{amount} {self.asset.code} to {self.receiver} ({self.status})"


class PaymentTally(models.Model):
    """How many payments, and how much, per organization, disbursement, asset and
    status: what the disbursement counters and the statistics show, without
    aggregating the payments themselves.

    Rows are written only by PostgreSQL statement triggers on
    ``disbursements_payment`` (migration 0005), whatever writes the payments (ORM,
    bulk updates, COPY): each statement appends its net change (+count, +amount
    for rows that arrive in a status, - for rows that leave it). Appending only,
    two transactions that move payments of one disbursement never wait on each
    other; a reader sums the rows of its keys, which is exact at its snapshot.
    ``compact_payment_tallies`` folds the appended rows into one per key.
    """

    organization_id = models.UUIDField()
    disbursement_id = models.UUIDField(null=True, blank=True)
    asset_id = models.UUIDField()
    status = models.CharField(max_length=16)
    count = models.BigIntegerField()
    amount = models.DecimalField(max_digits=38, decimal_places=7)
    # False for rows the triggers append, true for the compacted ones.
    folded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["organization_id", "status"], name="tally_org"),
            models.Index(fields=["disbursement_id"], name="tally_disbursement"),
            models.Index(
                fields=["id"],
                condition=models.Q(folded=False),
                name="tally_unfolded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.count:+d} / {self.amount:+f}"


class PaymentStatusChange(ActorStatusChange):
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(ActorStatusChange.Meta):
        pass


class DisbursementApproval(models.Model):
    """One approver's approval of a disbursement above an approval tier
    (``auth_org.ApprovalTier``): who and when. Uploading its instructions again
    removes them (the approvals were for the payments as they were)."""

    disbursement = models.ForeignKey(
        Disbursement, on_delete=models.CASCADE, related_name="approvals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["disbursement", "user"], name="disbursement_approval_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"approved by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class PaymentApproval(models.Model):
    """One approver's approval of a direct payment held (DRAFT) by an approval
    tier: who and when. The payment is handed off when enough are recorded."""

    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="approvals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "user"], name="payment_approval_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"approved by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
