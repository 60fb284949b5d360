"""Upkeep of the payment tallies (``PaymentTally``): the only Python code that
writes them; the triggers of migration 0005 append, this folds."""

from __future__ import annotations

from django.db import connection, transaction

from core.sqljson import table
from disbursements.models import PaymentTally

FOLD = f"""
WITH touched AS (
    SELECT DISTINCT organization_id, disbursement_id, asset_id, status
    FROM {table(PaymentTally)} WHERE NOT folded
), gone AS (
    DELETE FROM {table(PaymentTally)} AS t
    USING touched
    WHERE t.organization_id = touched.organization_id
      AND t.disbursement_id IS NOT DISTINCT FROM touched.disbursement_id
      AND t.asset_id = touched.asset_id
      AND t.status = touched.status
    RETURNING t.organization_id, t.disbursement_id, t.asset_id, t.status,
        t.count, t.amount
)
INSERT INTO {table(PaymentTally)}
    (organization_id, disbursement_id, asset_id, status, count, amount, folded)
SELECT organization_id, disbursement_id, asset_id, status, sum(count),
    sum(amount), true
FROM gone
GROUP BY organization_id, disbursement_id, asset_id, status
HAVING sum(count) <> 0 OR sum(amount) <> 0
"""  # noqa: S608


def compact_payment_tallies() -> int:
    """Fold every key that has appended rows into one row (none when it sums to
    zero, e.g. a deleted disbursement). One statement: a reader sees the rows
    before or after, both summing to the same figures; rows appended meanwhile
    are not in its snapshot and stay for the next run. Returns the rows left
    for the touched keys."""
    with transaction.atomic(), connection.cursor() as cursor:
        # One folder at a time; a second one waits, then finds nothing to fold.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('payment-tally-fold'))")
        cursor.execute(FOLD)
        return cursor.rowcount
