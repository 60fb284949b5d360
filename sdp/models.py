"""The project shell's one table: samples of the operator's figures.

Counts over time (payments confirmed or failed per minute) are read back from
the status histories; levels (the age of the oldest pending payment and
message, what waits) have no history, so a beat task samples them once a
minute and the operations page draws the samples. Two days are kept.
"""

from __future__ import annotations

from django.db import models


class OperationsSample(models.Model):
    tenant_id = models.UUIDField()
    taken_at = models.DateTimeField()
    pending_payments = models.IntegerField(default=0)
    oldest_pending_payment_s = models.FloatField(null=True, blank=True)
    messages_waiting = models.IntegerField(default=0)
    oldest_pending_message_s = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant_id", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id} at {self.taken_at:%Y-%m-%d %H:%M}"
