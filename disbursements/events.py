"""Webhook events of disbursements and payments (webhooks.events), each with
the object's JSON as the dashboard API renders it, written by PostgreSQL in
the caller's transaction: one statement for any number of payments."""

from __future__ import annotations

from collections.abc import Iterable

from core.sqljson import table
from disbursements.models import Disbursement, Payment
from webhooks.events import emit_sql

PAYMENT_RESULTS = {
    "SUCCESS": "payment.succeeded",
    "FAILED": "payment.failed",
    "CANCELED": "payment.canceled",
}


def emit_payments(event_type: str, payment_pks: Iterable) -> int:
    """An event per payment."""
    from disbursements.api import PAYMENT_JOINS, PAYMENT_SQL

    pks = [str(pk) for pk in payment_pks]
    if not pks:
        return 0
    return emit_sql(
        event_type,
        f"SELECT p.organization_id, p.id, {PAYMENT_SQL}"  # noqa: S608
        f" FROM {table(Payment)} p {PAYMENT_JOINS}"
        " WHERE p.id = ANY(%s::uuid[])",
        [pks],
    )


_RESULT_TYPE = (
    "CASE p.status "
    + " ".join(f"WHEN '{s}' THEN '{t}'" for s, t in PAYMENT_RESULTS.items())
    + " END"
)


def emit_payment_results(payment_pks: Iterable) -> int:
    """payment.succeeded, .failed or .canceled for each payment, by its
    status, in one statement."""
    from disbursements.api import PAYMENT_JOINS, PAYMENT_SQL

    pks = [str(pk) for pk in payment_pks]
    if not pks:
        return 0
    return emit_sql(
        None,
        f"SELECT p.organization_id, p.id, {PAYMENT_SQL}, {_RESULT_TYPE}"  # noqa: S608
        f" FROM {table(Payment)} p {PAYMENT_JOINS}"
        " WHERE p.id = ANY(%s::uuid[]) AND p.status = ANY(%s)",
        [pks, list(PAYMENT_RESULTS)],
    )


def emit_disbursements(event_type: str, disbursement_pks: Iterable) -> int:
    from disbursements.api import DISBURSEMENT_JOINS, DISBURSEMENT_SQL

    pks = [str(pk) for pk in disbursement_pks]
    if not pks:
        return 0
    return emit_sql(
        event_type,
        f"SELECT d.organization_id, d.id, {DISBURSEMENT_SQL}"  # noqa: S608
        f" FROM {table(Disbursement)} d {DISBURSEMENT_JOINS}"
        " WHERE d.id = ANY(%s::uuid[])",
        [pks],
    )
