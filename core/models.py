"""The bottom library's one table: the answers kept for ``Idempotency-Key``.

The row names its tenant by a foreign key given by name ("auth_org.Organization",
no import): the library still imports no app, and the table keeps its constraint.
"""

from __future__ import annotations

from django.db import models


class IdempotencyKey(models.Model):
    """The first answer to a POST or PATCH sent with an ``Idempotency-Key`` header,
    replayed for 24 hours. One row per (organization, key): the unique constraint
    and an advisory lock on the key, held (outside any transaction) while the first
    request runs, give two concurrent requests one effect (core.idempotency)."""

    organization = models.ForeignKey(
        "auth_org.Organization", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], name="idempotency_org_key_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
