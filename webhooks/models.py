"""Events and their delivery to the tenants' webhook endpoints.

Webhooks sit below messaging and the TSS: every app that changes rows writes
their events here, in its own transaction (an outbox). Like messaging, this app
knows a tenant only by its id and the objects only by type and id.

- Endpoint: where a tenant wants its events (url, the types it wants, a
  signing secret, encrypted at rest; the previous one stays valid for a while
  after a roll).
- Event: one change, with the object's JSON as the dashboard renders it, kept
  as text so it is sent byte for byte as rendered.
- Delivery: one event to one endpoint (written with the event, for each
  endpoint that wanted it). PENDING until the endpoint answers 2xx
  (DELIVERED) or the retry window passes (FAILED). ``leased_until`` is the
  claim of the worker sending it; a worker killed mid-delivery leaves a lease
  that expires and the delivery is sent again (at least once).
- Attempt: every POST made, with its answer: the delivery's history.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.ids import uuid7


class Endpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    url = models.CharField(max_length=2048)
    # Empty: every event type.
    event_types = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    description = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    # Why it was disabled by the platform (repeated failure); blank otherwise.
    disabled_reason = models.CharField(max_length=255, blank=True)
    secret = models.TextField()  # encrypted (webhooks.signing)
    previous_secret = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    # The public id (webhook-id); ``id`` orders the events of one object.
    uid = models.UUIDField(unique=True, default=uuid7, editable=False)
    # Few indexes: events are written inside the TSS's transactions, and are
    # read by key (their deliveries).
    tenant_id = models.UUIDField()
    type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    api_version = models.CharField(max_length=16)
    data = models.TextField()  # the object's JSON text
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        DELIVERED = "DELIVERED"
        FAILED = "FAILED"

    # Indexed by webhook_delivery_list_idx (endpoint first); events are
    # never deleted one by one, so their key needs no index here.
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tenant_id = models.UUIDField()
    # The event's object: a delivery waits for an earlier PENDING one of the
    # same endpoint and object (events of one object arrive in order).
    object_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(
                fields=["endpoint", "object_id", "id"],
                name="webhook_delivery_order_idx",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_list_idx"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class Attempt(models.Model):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_set"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # the first KB
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.started_at:%H:%M:%S}"
