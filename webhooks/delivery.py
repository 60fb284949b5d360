"""Delivering events to endpoints, at least once, in order per object.

A run (``deliver_due``), by any number of workers at once:

1. Claim up to BATCH due deliveries in one statement (``FOR UPDATE SKIP
   LOCKED``, committed at once): PENDING, due, not leased by a live worker,
   their endpoint enabled, and no earlier PENDING delivery of the same
   endpoint and object (events of one object arrive in order). The claim
   writes a lease; no transaction stays open while the endpoints are called.
2. POST each, signed (webhooks.signing), over one kept connection per
   endpoint (core.safe_http: the address checked once, no redirects).
   Sending stops early enough for every call to end within the lease.
3. Record the answers in a few statements: 2xx is DELIVERED; anything else
   is tried again after an exponential back-off with jitter, until the retry
   window (3 days) has passed since the event: then the delivery is FAILED,
   its endpoint disabled and ``endpoint_disabled`` sent (the owners are told).

A worker killed in step 2 leaves its lease; when it expires, the delivery is
claimed again and sent again: receivers de-duplicate by ``webhook-id``. The
sweeper (beat) queues a run whenever deliveries are due, so nothing depends on
Redis keeping a task.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.bulk import update_from_values
from core.safe_http import PublicHost, UnsafeURL
from core.sqljson import table
from webhooks import signing
from webhooks.models import Attempt, Delivery, Endpoint, Event
from webhooks.signals import endpoint_disabled

logger = logging.getLogger(__name__)

BATCH = 100
RESPONSE_KEPT = 1024
RESPONSE_READ = 64 * 1024
USER_AGENT = "SDP-Webhooks/1"

_CLAIM_SQL = f"""
UPDATE {table(Delivery)} d SET leased_until = %s, attempts = d.attempts + 1,
    updated_at = %s
WHERE d.id IN (
    SELECT c.id FROM {table(Delivery)} c
    JOIN {table(Endpoint)} e ON e.id = c.endpoint_id AND e.enabled
    WHERE c.status = 'PENDING' AND c.next_attempt_at <= %s
        AND (c.leased_until IS NULL OR c.leased_until < %s)
        AND NOT EXISTS (
            SELECT 1 FROM {table(Delivery)} b
            WHERE b.endpoint_id = c.endpoint_id AND b.object_id = c.object_id
                AND b.status = 'PENDING' AND b.id < c.id)
    ORDER BY c.next_attempt_at, c.id
    LIMIT %s
    FOR UPDATE OF c SKIP LOCKED)
RETURNING d.id, d.endpoint_id, d.event_id, d.attempts, d.created_at, d.leased_until
"""  # noqa: S608 - constants of the code


@dataclass
class Claimed:
    id: int
    endpoint_id: str
    event_id: int
    attempts: int
    created_at: datetime
    leased_until: datetime


@dataclass
class Outcome:
    claimed: Claimed
    started_at: datetime
    duration_ms: int
    status_code: int | None
    body: str
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def claim(limit: int = BATCH) -> list[Claimed]:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [now + _lease(), now, now, now, limit])
        rows = cursor.fetchall()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def body_of(event: Event) -> bytes:
    """The Standard Webhooks payload: type, timestamp, data (the object's JSON
    text as rendered when the event happened), plus the event's id, tenant
    and API version."""
    timestamp = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        f'{{"type":"{event.type}","timestamp":"{timestamp}",'
        f'"id":"{event.uid}","tenant_id":"{event.tenant_id}",'
        f'"api_version":"{event.api_version}","data":{event.data}}}'
    ).encode()


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    found = [signing.decrypt(endpoint.secret, endpoint_id=str(endpoint.pk))]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(
            signing.decrypt(endpoint.previous_secret, endpoint_id=str(endpoint.pk))
        )
    return found


def _allow_private() -> bool:
    return settings.NETWORK_PASSPHRASE == settings.LOCALNET_PASSPHRASE


def _send_to(
    endpoint: Endpoint, claimed: list[Claimed], events: dict, stop_at: float
) -> list[Outcome]:
    """POST each claimed delivery to ``endpoint``; those not started before
    ``stop_at`` are left out (released by the caller)."""
    now = timezone.now()
    outcomes = []
    try:
        host = PublicHost(
            endpoint.url,
            allow_private=_allow_private(),
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        )
    except UnsafeURL as exc:
        return [Outcome(c, now, 0, None, "", str(exc)[:255]) for c in claimed]
    secrets_ = signing_secrets(endpoint, now)
    try:
        for item in claimed:
            if time.monotonic() > stop_at:
                break
            event = events[item.event_id]
            body = body_of(event)
            timestamp = int(time.time())
            msg_id = str(event.uid)
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signing.signature_header(
                    secrets_, msg_id=msg_id, timestamp=timestamp, body=body
                ),
            }
            started_at = timezone.now()
            began = time.monotonic()
            try:
                answer = host.request(
                    "POST", endpoint.url, body=body, headers=headers,
                    max_bytes=RESPONSE_READ,
                )  # fmt: skip
                status_code, text, error = (
                    answer.status,
                    answer.body[:RESPONSE_KEPT].decode(errors="replace"),
                    "",
                )
            except UnsafeURL as exc:
                status_code, text, error = None, "", str(exc)[:255]
            duration = int((time.monotonic() - began) * 1000)
            outcomes.append(
                Outcome(item, started_at, duration, status_code, text, error)
            )
    finally:
        host.close()
    return outcomes


def retry_delay(attempts: int) -> float:
    """Exponential back-off with full jitter in its upper half."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 30)
    capped = min(base, settings.WEBHOOK_RETRY_MAX_SECONDS)
    return capped / 2 + random.uniform(0, capped / 2)


def record(outcomes: list[Outcome], released: list[Claimed]) -> float | None:
    """Write the answers; returns the soonest retry delay (seconds), if any."""
    now = timezone.now()
    window = timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
    delivered = [o for o in outcomes if o.delivered]
    failed = [o for o in outcomes if not o.delivered]
    retry = {}
    gave_up = []
    for o in failed:
        if o.claimed.created_at + window <= now:
            gave_up.append(o)
        else:
            retry[o.claimed.id] = o
    delays = {pk: retry_delay(o.claimed.attempts) for pk, o in retry.items()}
    disabled: list[Endpoint] = []
    with transaction.atomic():
        # Deliveries deleted meanwhile (their endpoint was) get no attempt
        # rows; the lock keeps them until this commits.
        alive = set(
            Delivery.objects.select_for_update()
            .filter(pk__in=[o.claimed.id for o in outcomes])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Attempt.objects.bulk_create(
            Attempt(
                delivery_id=o.claimed.id,
                started_at=o.started_at,
                duration_ms=o.duration_ms,
                status_code=o.status_code,
                response_body=o.body,
                error=o.error,
            )
            for o in outcomes
            if o.claimed.id in alive
        )
        # Only while still ours (the lease we took): a worker whose lease
        # expired must not undo the next one's work.
        if delivered:
            update_from_values(
                Delivery,
                {
                    o.claimed.id: {
                        "last_status_code": o.status_code,
                        "leased_until": o.claimed.leased_until,
                    }
                    for o in delivered
                },
                also={
                    "status": Delivery.Status.DELIVERED,
                    "delivered_at": now,
                    "last_error": "",
                    "leased_until": None,
                    "updated_at": now,
                },
                where={"status": Delivery.Status.PENDING},
                match=("leased_until",),
            )
        if retry:
            update_from_values(
                Delivery,
                {
                    pk: {
                        "next_attempt_at": now + timedelta(seconds=delays[pk]),
                        "last_status_code": o.status_code,
                        "last_error": o.error or f"answered {o.status_code}",
                        "leased_until": o.claimed.leased_until,
                    }
                    for pk, o in retry.items()
                },
                also={"leased_until": None, "updated_at": now},
                where={"status": Delivery.Status.PENDING},
                match=("leased_until",),
            )
        if gave_up:
            Delivery.objects.filter(
                pk__in=[o.claimed.id for o in gave_up], status=Delivery.Status.PENDING
            ).update(
                status=Delivery.Status.FAILED,
                leased_until=None,
                last_error="gave up: no 2xx answer within the retry window",
                updated_at=now,
            )
            disabled = _disable(
                {o.claimed.endpoint_id for o in gave_up},
                reason="disabled after failing to deliver for the whole retry window",
            )
        if released:
            # Not tried: the lease and the attempt are given back.
            Delivery.objects.filter(pk__in=[c.id for c in released]).update(
                leased_until=None, attempts=F("attempts") - 1, updated_at=now
            )
    for endpoint in disabled:
        endpoint_disabled.send_robust(sender=Endpoint, endpoint=endpoint)
    soonest = min(delays.values(), default=None)
    return 0.0 if released and soonest is None else soonest


def _disable(endpoint_ids, *, reason: str) -> list[Endpoint]:
    endpoints = list(
        Endpoint.objects.select_for_update().filter(pk__in=endpoint_ids, enabled=True)
    )
    for endpoint in endpoints:
        endpoint.enabled = False
        endpoint.disabled_reason = reason
        endpoint.save(update_fields=["enabled", "disabled_reason", "updated_at"])
        logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return endpoints


def deliver_batch(limit: int = BATCH) -> tuple[int, float | None]:
    """Claim, send, record one batch. Returns (how many were claimed, the
    soonest retry delay)."""
    claimed = claim(limit)
    if not claimed:
        return 0, None
    # Every call must end within the lease: none starts after this.
    stop_at = (
        time.monotonic()
        + settings.WEBHOOK_LEASE_SECONDS
        - settings.WEBHOOK_TIMEOUT_SECONDS
        - 5
    )
    events = Event.objects.in_bulk([c.event_id for c in claimed])
    endpoints = Endpoint.objects.in_bulk(list({c.endpoint_id for c in claimed}))
    by_endpoint = defaultdict(list)
    for item in claimed:
        by_endpoint[item.endpoint_id].append(item)
    outcomes: list[Outcome] = []
    for endpoint_id, items in by_endpoint.items():
        outcomes += _send_to(endpoints[endpoint_id], items, events, stop_at)
    done = {o.claimed.id for o in outcomes}
    released = [c for c in claimed if c.id not in done]
    return len(claimed), record(outcomes, released)


def deliver_due(*, budget_seconds: float = 30.0) -> dict:
    """Deliver due batches until none is left or the budget is spent.
    Returns {"claimed", "retry_in" (the soonest retry, seconds), "more"}."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    soonest: float | None = None
    while True:
        count, retry_in = deliver_batch()
        total += count
        if retry_in is not None:
            soonest = retry_in if soonest is None else min(soonest, retry_in)
        if count == 0:
            return {"claimed": total, "retry_in": soonest, "more": False}
        if time.monotonic() > deadline:
            return {"claimed": total, "retry_in": soonest, "more": True}


def any_due() -> bool:
    """Whether a run would find work now (for the sweeper)."""
    now = timezone.now()
    return (
        Delivery.objects.filter(
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        .exclude(leased_until__gte=now)
        .exists()
    )
