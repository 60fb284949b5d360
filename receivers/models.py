"""Receivers, how they prove who they are, and the wallets they are paid in."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, Upper

from core.fsm import ActorStatusChange, StatusModel
from core.ids import uuid7


class VerificationField(models.TextChoices):
    DATE_OF_BIRTH = "DATE_OF_BIRTH"
    YEAR_MONTH = "YEAR_MONTH"
    PIN = "PIN"
    NATIONAL_ID_NUMBER = "NATIONAL_ID_NUMBER"


class Receiver(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by the composite indexes below, which start with it.
    organization = models.ForeignKey(
        "auth_org.Organization",
        on_delete=models.PROTECT,
        related_name="receivers",
        db_index=False,
    )
    # The CSV's ``id`` column: the payer's own reference for this person.
    external_id = models.CharField(max_length=64)
    phone_number = models.CharField(max_length=32, null=True, blank=True)
    email = models.EmailField(max_length=254, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phone_number__isnull=False)
                | models.Q(email__isnull=False),
                name="receiver_has_contact",
            ),
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(email__isnull=False),
                name="receiver_org_email_uniq",
            ),
            models.UniqueConstraint(
                "organization",
                Lower("phone_number"),
                condition=models.Q(phone_number__isnull=False),
                name="receiver_org_phone_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "external_id"]),
            # The dashboard's list: newest first, by update (default) or creation.
            models.Index(
                fields=["organization", "-updated_at", "-id"],
                name="receiver_org_updated",
            ),
            models.Index(
                fields=["organization", "-created_at", "-id"],
                name="receiver_org_created",
            ),
            # The dashboard's search (``?q=``) is a case-insensitive substring
            # match, UPPER(col) LIKE UPPER('%q%'): trigrams answer it from the
            # index instead of a scan of the organization's receivers. A large
            # pending list: an upload's new entries are appended to it and merged
            # into the index by (auto)vacuum, not by the upload (bench.csv).
            *(
                GinIndex(
                    OpClass(Upper(column), name="gin_trgm_ops"),
                    name=f"receiver_{column}_trgm",
                    fastupdate=True,
                    gin_pending_list_limit=32 * 1024,  # kB
                )
                for column in ("external_id", "phone_number", "email")
            ),
        ]

    def __str__(self) -> str:
        return self.external_id or self.phone_number or self.email or str(self.pk)


class ReceiverVerification(models.Model):
    """A fact the payer uploaded about the receiver, stored hashed."""

    class ConfirmedBy(models.TextChoices):
        RECEIVER = "RECEIVER"
        USER = "USER"

    MAX_ATTEMPTS: ClassVar[int] = 15

    receiver = models.ForeignKey(
        Receiver, on_delete=models.CASCADE, related_name="verifications"
    )
    verification_field = models.CharField(max_length=32, choices=VerificationField)
    hashed_value = models.CharField(max_length=256)
    attempts = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    verification_channel = models.CharField(max_length=16, blank=True)
    confirmed_by_type = models.CharField(max_length=16, choices=ConfirmedBy, blank=True)
    confirmed_by_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["receiver", "verification_field"],
                name="receiver_verification_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verification_field} of {self.receiver_id}"


class ReceiverWallet(StatusModel):
    """A receiver at one wallet provider: invited, then registered with an address."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT"
        READY = "READY"
        REGISTERED = "REGISTERED"
        FLAGGED = "FLAGGED"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.READY}),
        Status.READY: frozenset({Status.REGISTERED, Status.FLAGGED}),
        # REGISTERED -> READY is "unregister", which SDP does outside its state
        # machine; here it is an ordinary, recorded move.
        Status.REGISTERED: frozenset({Status.FLAGGED, Status.READY}),
        Status.FLAGGED: frozenset({Status.READY, Status.REGISTERED}),
    }

    class MemoType(models.TextChoices):
        TEXT = "text"
        ID = "id"
        HASH = "hash"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Both indexed by the (organization, status) index and the unique
    # (receiver, wallet) constraint, which start with them.
    organization = models.ForeignKey(
        "auth_org.Organization",
        on_delete=models.PROTECT,
        related_name="receiver_wallets",
        db_index=False,
    )
    receiver = models.ForeignKey(
        Receiver, on_delete=models.CASCADE, related_name="wallets", db_index=False
    )
    wallet = models.ForeignKey(
        "auth_org.Wallet", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    stellar_address = models.CharField(max_length=69, null=True, blank=True)
    stellar_memo = models.CharField(max_length=128, blank=True)
    stellar_memo_type = models.CharField(max_length=8, choices=MemoType, blank=True)
    otp_hash = models.CharField(max_length=128, blank=True)
    otp_created_at = models.DateTimeField(null=True, blank=True)
    otp_confirmed_at = models.DateTimeField(null=True, blank=True)
    otp_confirmed_with = models.CharField(max_length=254, blank=True)
    otp_attempts = models.PositiveSmallIntegerField(default=0)
    # Shown, never searched: no index (every receiver wallet of an upload would
    # add its empty value to two of them).
    sep24_transaction_id = models.CharField(max_length=64, blank=True)
    invitation_sent_at = models.DateTimeField(null=True, blank=True)
    # When its Stellar address was set or last changed, whatever wrote it: a
    # trigger keeps it (migration 0009). The cooling period counts from it.
    address_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["receiver", "wallet"], name="receiver_wallet_uniq"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.receiver} on {self.wallet.name} ({self.status})"


class ReceiverWalletStatusChange(ActorStatusChange):
    receiver_wallet = models.ForeignKey(
        ReceiverWallet, on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(ActorStatusChange.Meta):
        pass


class ReceiverStellarAddress(models.Model):
    """One Stellar address belongs to one receiver: the database enforces it here,
    where SDP uses a trigger."""

    organization = models.ForeignKey("auth_org.Organization", on_delete=models.CASCADE)
    stellar_address = models.CharField(max_length=69)
    receiver = models.ForeignKey(Receiver, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "stellar_address"],
                name="receiver_address_owner_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.stellar_address


class ReceiverRegistrationAttempt(models.Model):
    """A code request whose contact matched no receiver, kept for support."""

    organization = models.ForeignKey("auth_org.Organization", on_delete=models.CASCADE)
    phone_number = models.CharField(max_length=32, blank=True)
    email = models.CharField(max_length=254, blank=True)
    client_domain = models.CharField(max_length=255, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    wallet_address = models.CharField(max_length=69, blank=True)
    wallet_memo = models.CharField(max_length=128, blank=True)
    attempt_ts = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"attempt at {self.attempt_ts:%Y-%m-%d %H:%M:%S}"


class StrangerCode(models.Model):
    """The code state a contact matching no receiver would have, kept so the
    verify step answers a stranger exactly as a receiver (expired after 5
    minutes, locked after 5 wrong tries): only a digest of the contact."""

    organization = models.ForeignKey("auth_org.Organization", on_delete=models.CASCADE)
    contact_digest = models.CharField(max_length=64)
    otp_created_at = models.DateTimeField()
    otp_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contact_digest"],
                name="stranger_code_one_per_contact",
            )
        ]

    def __str__(self) -> str:
        return f"stranger code at {self.otp_created_at:%Y-%m-%d %H:%M:%S}"


class SepNonce(models.Model):
    """A SEP-10 challenge's nonce, usable once, until it expires."""

    nonce = models.CharField(max_length=128, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.nonce


class ShortURL(models.Model):
    code = models.CharField(max_length=10, primary_key=True)
    original_url = models.TextField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class Sep24Transaction(models.Model):
    """A SEP-24 interactive deposit: the wallet's request to bind its account.

    Registration (``registered_at``) binds it to a receiver wallet; it follows
    the first payment to that wallet whose result is heard afterwards (the
    ``payment_*`` columns, written only by
    ``receivers.sep.interactive.record_payment_results``, which disbursements
    calls when a payment lands, fails or is canceled). Its SEP-24 status is
    derived from these (see receivers.sep.interactive).
    """

    class PaymentStatus(models.TextChoices):
        NONE = ""
        SUCCESS = "SUCCESS"
        FAILED = "FAILED"
        CANCELED = "CANCELED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "auth_org.Organization", on_delete=models.CASCADE, related_name="+"
    )
    # The SEP-10 identity that opened it: only that identity may read it.
    account = models.CharField(max_length=56)
    memo = models.CharField(max_length=32, blank=True)
    client_domain = models.CharField(max_length=255, blank=True)
    home_domain = models.CharField(max_length=255, blank=True)
    asset_code = models.CharField(max_length=12)
    asset_issuer = models.CharField(max_length=56, blank=True)
    lang = models.CharField(max_length=16, blank=True)
    receiver_wallet = models.ForeignKey(
        ReceiverWallet,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sep24_transactions",
    )
    started_at = models.DateTimeField(auto_now_add=True)
    # The receiver finished the pages (or was already registered).
    registered_at = models.DateTimeField(null=True, blank=True)
    # The payment that landed (SEP-24's completed_at).
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    payment_id = models.UUIDField(null=True, blank=True)
    payment_status = models.CharField(
        max_length=16, choices=PaymentStatus, blank=True, default=""
    )
    payment_message = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=19, decimal_places=7, null=True)
    # SEP-38 form: stellar:CODE:ISSUER or stellar:native.
    amount_asset = models.CharField(max_length=80, blank=True)
    stellar_transaction_id = models.CharField(max_length=64, blank=True)
    from_address = models.CharField(max_length=69, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "account", "memo", "-started_at"],
                name="sep24_tx_owner_started",
            ),
            models.Index(fields=["receiver_wallet", "payment_status"]),
            models.Index(
                fields=["stellar_transaction_id"],
                name="sep24_tx_stellar_id",
                condition=~models.Q(stellar_transaction_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"SEP-24 deposit {self.id}"
