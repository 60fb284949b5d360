"""The Transaction Submission Service's tables: what to put on the ledger, and the
accounts it is put there with.

The TSS is at the bottom of the layers: it knows a tenant only by its id and a
payment only by its external id (``SDP's "Core and TSS meet at the
submitter_transactions table"``).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from core.fields import amount_field
from core.fsm import StatusChange, StatusModel
from core.ids import uuid7


class SubmitterTransaction(StatusModel):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        PROCESSING = "PROCESSING"
        SUCCESS = "SUCCESS"
        ERROR = "ERROR"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.PROCESSING}),
        Status.PROCESSING: frozenset({Status.SUCCESS, Status.ERROR}),
        Status.SUCCESS: frozenset(),
        Status.ERROR: frozenset(),
    }

    class MemoType(models.TextChoices):
        TEXT = "text"
        ID = "id"
        HASH = "hash"
        RETURN = "return"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    external_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    status_message = models.TextField(blank=True)
    asset_code = models.CharField(max_length=12)
    asset_issuer = models.CharField(max_length=56, blank=True)
    amount = amount_field()
    destination = models.CharField(max_length=69)
    memo = models.CharField(max_length=128, blank=True)
    memo_type = models.CharField(max_length=8, choices=MemoType, blank=True)
    # The fee payer and payment source actually used.
    distribution_account = models.CharField(max_length=56, blank=True)
    channel_account = models.CharField(max_length=56, blank=True)
    # Lease: who holds the row and until which ledger the envelope can land.
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_until_ledger_number = models.BigIntegerField(null=True, blank=True)
    # Whether the destination is known to accept the payment (an account with
    # the trustline, or an account for lumens), checked on the network before
    # the payment may share a transaction; None: not known (sent alone).
    destination_ok = models.BooleanField(null=True, blank=True)
    # The signed envelope, stored before it is sent; re-sent only as it is. A
    # batch's payments share its hash, each with its operation's index; the
    # envelope itself is stored once, on the row of operation 0.
    stellar_transaction_hash = models.CharField(max_length=64, null=True, blank=True)
    operation_index = models.PositiveSmallIntegerField(null=True, blank=True)
    envelope_xdr = models.TextField(null=True, blank=True)
    result_xdr = models.TextField(blank=True)
    ledger = models.BigIntegerField(null=True, blank=True)
    attempts_count = models.PositiveIntegerField(default=0)
    # The stored envelope's channel sequence number and ledger bound: after the
    # bound has passed (and Horizon ingested past it) the envelope can never land.
    channel_sequence = models.BigIntegerField(null=True, blank=True)
    envelope_max_ledger = models.BigIntegerField(null=True, blank=True)
    # The last closed ledger when the envelope was built: it can only land in a
    # later one (the engine's ledger scan knows which ledgers it has read).
    envelope_built_ledger = models.BigIntegerField(null=True, blank=True)
    # True once any send of the stored envelope may have reached the network; from
    # then on only the ledger (by hash) and the bound decide its fate.
    maybe_accepted = models.BooleanField(default=False)
    last_sent_ledger = models.BigIntegerField(null=True, blank=True)
    # Back-off after a transient error.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set once the result has been handed up to the payment (the hook ran).
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            # Exactly one live transaction per payment; an ERROR one may be replaced.
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(status="ERROR"),
                name="submitter_tx_one_live_per_external_id",
            ),
            # One payment per operation of an envelope.
            models.UniqueConstraint(
                fields=["stellar_transaction_hash", "operation_index"],
                name="submitter_tx_one_per_operation",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="submitter_tx_amount_gt_0"
            ),
            models.CheckConstraint(
                condition=(models.Q(asset_code="XLM") & models.Q(asset_issuer=""))
                | (~models.Q(asset_code="XLM") & ~models.Q(asset_issuer="")),
                name="submitter_tx_asset_issuer",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                name="submitter_tx_live_idx",
                condition=models.Q(status__in=["PENDING", "PROCESSING"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.status})"


class SubmitterTransactionStatusChange(StatusChange):
    submitter_transaction = models.ForeignKey(
        SubmitterTransaction, on_delete=models.CASCADE, related_name="status_changes"
    )
    stellar_transaction_hash = models.CharField(max_length=64, blank=True)

    class Meta(StatusChange.Meta):
        pass


class ChannelAccount(models.Model):
    """A sponsored account used only as the source of payment transactions, for its
    sequence number. Shared by all tenants."""

    public_key = models.CharField(max_length=56, primary_key=True)
    encrypted_secret = models.TextField()
    sequence = models.BigIntegerField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_until_ledger_number = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.public_key


class DistributionAccount(models.Model):
    """A tenant's distribution account key, encrypted at rest (SDP's DB vault)."""

    public_key = models.CharField(max_length=56, primary_key=True)
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    encrypted_secret = models.TextField()
    # Set when the key was rotated away; the tenant pays from its one live key.
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id"],
                condition=models.Q(retired_at__isnull=True),
                name="distribution_account_one_live_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return self.public_key
