"""Webhooks' write path for endpoints: create, change, delete, roll the
secret, replay a delivery. Callers (auth_org.webhooks) add the audit row in
the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.api import APIError
from core.safe_http import UnsafeURL, resolve
from webhooks import signing
from webhooks.events import EVENT_TYPES, wake_delivery
from webhooks.models import Delivery, Endpoint

MAX_ENDPOINTS_PER_TENANT = 20


def on_localnet() -> bool:
    return settings.NETWORK_PASSPHRASE == settings.LOCALNET_PASSPHRASE


def clean_url(url: str) -> str:
    """The URL if events may be sent there, else APIError naming ``url``:
    https (http too on the localnet), a host that resolves only to public
    addresses (private ones too on the localnet), no credentials."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise APIError(extras={"url": "the URL is not valid"}) from None
    allowed = ("https", "http") if on_localnet() else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise APIError(extras={"url": "the URL must be https with a host"})
    if parts.username or parts.password:
        raise APIError(extras={"url": "the URL must not carry credentials"})
    if len(url) > 2048:
        raise APIError(extras={"url": "the URL is longer than 2048 characters"})
    try:
        resolve(parts.hostname, port, allow_private=on_localnet())
    except UnsafeURL as exc:
        raise APIError(extras={"url": str(exc)}) from None
    return url


def clean_event_types(types: list[str] | None) -> list[str]:
    unknown = sorted(set(types or ()) - set(EVENT_TYPES))
    if unknown:
        raise APIError(
            extras={"event_types": f"unknown event types: {', '.join(unknown)}"}
        )
    return sorted(set(types or ()))


@transaction.atomic
def create_endpoint(
    *,
    tenant_id: uuid.UUID,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    enabled: bool = True,
    created_by_id: uuid.UUID | None = None,
) -> tuple[Endpoint, str]:
    """A new endpoint and its secret (``whsec_...``), which is shown once.
    Raises APIError naming the field."""
    url = clean_url(url)
    types = clean_event_types(event_types)
    if Endpoint.objects.filter(tenant_id=tenant_id).count() >= MAX_ENDPOINTS_PER_TENANT:
        raise APIError(f"a tenant has at most {MAX_ENDPOINTS_PER_TENANT} endpoints")
    endpoint = Endpoint(
        tenant_id=tenant_id,
        url=url,
        event_types=types,
        description=description,
        enabled=enabled,
        created_by_id=created_by_id,
    )
    secret = signing.new_secret()
    endpoint.secret = signing.encrypt(secret, endpoint_id=str(endpoint.pk))
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def update_endpoint(endpoint: Endpoint, **changes) -> dict:
    """Change url, event_types, description or enabled. Enabling clears the
    platform's reason for disabling and wakes the deliveries that waited.
    Returns the changes made (for the audit)."""
    made = {}
    if "url" in changes:
        changes["url"] = clean_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = clean_event_types(changes["event_types"])
    for name in ("url", "event_types", "description", "enabled"):
        if name in changes and getattr(endpoint, name) != changes[name]:
            made[name] = changes[name]
            setattr(endpoint, name, changes[name])
    if made.get("enabled"):
        endpoint.disabled_reason = ""
        transaction.on_commit(wake_delivery, robust=True)
    endpoint.save()
    return made


@transaction.atomic
def delete_endpoint(endpoint: Endpoint) -> None:
    """The endpoint, its deliveries and their attempts."""
    endpoint.delete()


@transaction.atomic
def roll_secret(endpoint: Endpoint) -> str:
    """A new secret, shown once; the current one stays valid (both sign) for
    WEBHOOK_SECRET_ROLL_OVERLAP_SECONDS."""
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = signing.new_secret()
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = timezone.now() + timedelta(
        seconds=settings.WEBHOOK_SECRET_ROLL_OVERLAP_SECONDS
    )
    locked.secret = signing.encrypt(secret, endpoint_id=str(locked.pk))
    locked.save(
        update_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    endpoint.refresh_from_db()
    return secret


@transaction.atomic
def replay_delivery(delivery: Delivery) -> Delivery:
    """Send a delivery's event again to its endpoint: a new PENDING delivery
    (ordered after everything already queued for that object)."""
    now = timezone.now()
    replay = Delivery.objects.create(
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        tenant_id=delivery.tenant_id,
        object_id=delivery.object_id,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    transaction.on_commit(wake_delivery, robust=True)
    return replay
