"""Writing events: the outbox half of webhooks.

The app that changes rows calls one of these inside its own transaction, so
the event commits with the change or not at all:

- ``emit(tenant_id, type, object_id, data)``: one event, ``data`` a dict (or
  JSON text);
- ``emit_sql(type, select_sql, params)``: one event per row of a query giving
  ``(tenant_id, object_id, data_text)``, written by one INSERT ... SELECT, so
  PostgreSQL renders the objects' JSON (the dashboard's own SQL) and no row
  passes through Python: the TSS's results for a batch of payments cost one
  statement.

Each event is written together with its deliveries, one for each enabled
endpoint of the tenant that wants its type; an event no endpoint wants is not
written at all (nothing would ever read it). After commit a worker of the
``webhooks`` queue is woken.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from core.sqljson import table
from webhooks.models import Delivery, Endpoint, Event

API_VERSION = "2026-12-01"

# The catalogue: every type, what it means (docs/webhooks.md has an example of each).
EVENT_TYPES = {
    "disbursement.created": "a disbursement was created (DRAFT)",
    "disbursement.started": "a disbursement was started (or resumed)",
    "disbursement.paused": "a started disbursement was paused",
    "disbursement.completed": "every payment of a disbursement is final",
    "payment.submitted": "a payment was handed to the network (PENDING)",
    "payment.succeeded": "a payment is on the ledger (SUCCESS)",
    "payment.failed": "a payment failed (FAILED; it may be retried)",
    "payment.canceled": "a payment was canceled (CANCELED)",
    "payment.retried": "a failed payment was retried (READY again)",
    "receiver.created": "a receiver was created",
    "receiver_wallet.registered": "a receiver linked a wallet (REGISTERED)",
    "receiver_wallet.flagged": "a receiver wallet was flagged (FLAGGED)",
    "message.failed": "a message to a receiver or user failed for good",
    "distribution_account.low_balance": (
        "the distribution account's balance of an asset fell below the tenant's "
        "threshold (told once per fall)"
    ),
}

_WANTS = (
    "e.tenant_id = {row}.tenant_id AND e.enabled"
    " AND (cardinality(e.event_types) = 0 OR {row}.type = ANY(e.event_types))"
)
# One statement: the events (only those an endpoint wants), then a delivery per
# wanting endpoint. ``SELECT_SQL`` gives (tenant_id, object_id, data).
_EMIT_SQL = f"""
WITH ev AS (
    INSERT INTO {table(Event)}
        (uid, tenant_id, type, object_id, api_version, data, created_at)
    SELECT gen_random_uuid(), s.tenant_id, s.type, s.object_id::text, %s, s.data, %s
    FROM (SELECT_SQL) AS s(tenant_id, object_id, data, type)
    WHERE EXISTS (SELECT 1 FROM {table(Endpoint)} e WHERE {_WANTS.format(row="s")})
    RETURNING id, tenant_id, object_id, type
)
INSERT INTO {table(Delivery)} (endpoint_id, event_id, tenant_id, object_id, status,
    attempts, next_attempt_at, last_error, created_at, updated_at)
SELECT e.id, ev.id, ev.tenant_id, ev.object_id, 'PENDING', 0, %s, '', %s, %s
FROM ev JOIN {table(Endpoint)} e ON {_WANTS.format(row="ev")}
ORDER BY ev.id, e.id
"""  # noqa: S608 - constants of the code


def _check(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")


def emit_sql(event_type: str | None, select_sql: str, params: list | tuple = ()) -> int:
    """An event of ``event_type`` for each row of ``select_sql`` (columns:
    tenant id, object id, the object's JSON text; with ``event_type`` None, a
    fourth column gives each row's type), in the caller's transaction.
    Returns the number of deliveries written."""
    if event_type is not None:
        _check(event_type)
        select_sql = f"SELECT q.*, %s::text FROM ({select_sql}) AS q"  # noqa: S608
        params = [event_type, *params]  # its placeholder comes first
    now = timezone.now()
    sql = _EMIT_SQL.replace("SELECT_SQL", select_sql, 1)
    args = [API_VERSION, now, *params, now, now, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        written = cursor.rowcount
    if written > 0:
        transaction.on_commit(wake_delivery, robust=True)
    return written


def emit(
    tenant_id: uuid.UUID | str,
    event_type: str,
    object_id: Any,
    data: dict | str,
) -> int:
    """One event, in the caller's transaction; ``data`` is the object as the
    dashboard API renders it (a dict, or its JSON text)."""
    text = data if isinstance(data, str) else json.dumps(data, cls=DjangoJSONEncoder)
    return emit_sql(
        event_type,
        "SELECT %s::uuid, %s::text, %s::text",
        [str(tenant_id), str(object_id), text],
    )


def emit_many(
    tenant_id: uuid.UUID | str, event_type: str, objects: dict[Any, dict | str]
) -> int:
    """An event per object (``{object_id: data}``), in one statement."""
    if not objects:
        return 0
    ids = [str(pk) for pk in objects]
    texts = [
        v if isinstance(v, str) else json.dumps(v, cls=DjangoJSONEncoder)
        for v in objects.values()
    ]
    return emit_sql(
        event_type,
        "SELECT %s::uuid, o.id, o.data"
        " FROM unnest(%s::text[], %s::text[]) AS o(id, data)",
        [str(tenant_id), ids, texts],
    )


def wake_delivery() -> None:
    """Queue a delivery run; when the broker is away, the sweeper (beat)
    finds the due deliveries later."""
    from webhooks.tasks import deliver_due_task

    deliver_due_task.delay()
