"""The reconciliation's results: one row per tenant, asset and day checked,
and the differences it found between our payments and the network."""

from __future__ import annotations

from django.db import models

from core.fields import amount_field
from core.ids import uuid7


class Reconciliation(models.Model):
    """One check of a tenant's payments in one asset on one day (re-running a
    day replaces its row and its differences)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization = models.ForeignKey(
        "auth_org.Organization", on_delete=models.CASCADE, related_name="+"
    )
    asset = models.ForeignKey(
        "auth_org.Asset", on_delete=models.CASCADE, related_name="+"
    )
    date = models.DateField()
    distribution_account = models.CharField(max_length=56)
    payments_checked = models.PositiveIntegerField(default=0)
    operations_checked = models.PositiveIntegerField(default=0)
    ran_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "asset", "date"],
                name="reconciliation_one_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.date} {self.asset_id}"


class Difference(models.Model):
    class Kind(models.TextChoices):
        # on the network, but the payment is not SUCCESS here
        NOT_SUCCESS_HERE = "NOT_SUCCESS_HERE"
        # SUCCESS here, but no such payment on the network
        MISSING_ON_NETWORK = "MISSING_ON_NETWORK"
        AMOUNT_DIFFERS = "AMOUNT_DIFFERS"
        DESTINATION_DIFFERS = "DESTINATION_DIFFERS"
        MEMO_DIFFERS = "MEMO_DIFFERS"
        # an outgoing payment of the distribution account we did not make
        UNKNOWN_PAYMENT = "UNKNOWN_PAYMENT"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="differences"
    )
    kind = models.CharField(max_length=24, choices=Kind)
    # No foreign key: a difference outlives an edit or deletion of the payment.
    payment_id = models.UUIDField(null=True, blank=True)
    transaction_hash = models.CharField(max_length=64, blank=True)
    operation_id = models.CharField(max_length=32, blank=True)
    our_amount = amount_field(null=True, blank=True)
    network_amount = amount_field(null=True, blank=True)
    our_destination = models.CharField(max_length=69, blank=True)
    network_destination = models.CharField(max_length=69, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["reconciliation", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.transaction_hash or self.payment_id}"
