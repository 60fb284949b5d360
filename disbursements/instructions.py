"""Store validated instructions (reference §5 "Processing"), inside the caller's
transaction with the disbursement locked. Four steps:

1. parse: every row valid on its own is staged, as it is read, in a temporary
   table (one COPY streamed from the reader: neither the file nor its rows are
   ever held whole, and PostgreSQL stores a chunk while the next is parsed);
2. validate: the checks that need the whole file (duplicates, in SQL over the
   staged rows) and the organization's receivers (receivers.ingest); every bad
   row is reported, and nothing is written unless the whole file is valid;
3. resolve the receivers: receivers.ingest creates the missing receivers and
   wallets and stores verifications or addresses (the receivers' write path);
4. write the payments: the old DRAFT ones go, the file's come in, with their
   history, each in one INSERT ... SELECT from the staged rows.

A handful of statements whatever the file's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from core.bulk import insert_select
from core.ids import uuid7_texts
from disbursements.csv_ingest import CSVError, Instruction, InstructionReader
from disbursements.models import Disbursement, Payment, PaymentStatusChange
from receivers import ingest
from receivers.ingest import ReceiverBatch

STAGING = "csv_instructions"
# The payments' own staged columns, after the receivers' (ingest.STAGED).
PAYMENT_COLUMNS = (
    ("position", "integer"),  # the row's place among the file's payments
    ("amount", "numeric(19, 7)"),
    ("external_payment_id", "text"),
    ("payment_id", "uuid"),
)


@dataclass
class Staged:
    batch: ReceiverBatch
    rows: int


def store_instructions(disbursement: Disbursement, reader: InstructionReader) -> int:
    """The file's payments (replacing the disbursement's DRAFT ones); raises
    CSVError naming every bad row. Returns the number of payments."""
    staged = stage(disbursement, reader)
    errors = {**reader.errors, **duplicate_errors(staged)}
    if not errors:
        for line, (column, message) in ingest.match_receivers(staged.batch).items():
            errors[f"line {line} - {column}"] = message
    if errors:
        raise CSVError(_in_file_order(errors))
    if not staged.rows:
        raise CSVError({"file": "the file has no instructions"})
    ingest.store_receivers(staged.batch)
    return write_payments(disbursement, staged)


# --- 1. parse -------------------------------------------------------------------


def stage(disbursement: Disbursement, instructions: Iterable[Instruction]) -> Staged:
    """COPY every instruction into the staging table, as it comes."""
    contact_type = disbursement.registration_contact_type
    batch = ReceiverBatch(
        table=STAGING,
        organization_id=disbursement.organization_id,
        wallet_id=disbursement.wallet_id,
        by_phone=contact_type.startswith("PHONE"),
        with_address=contact_type.endswith("WALLET_ADDRESS"),
        verification_field=disbursement.verification_field,
    )
    ingest.create_staging(STAGING, PAYMENT_COLUMNS)
    rows = ingest.copy_staged(
        STAGING,
        tuple(name for name, _ in PAYMENT_COLUMNS),
        _staged_rows(batch, instructions),
    )
    return Staged(batch=batch, rows=rows)


def _staged_rows(
    batch: ReceiverBatch, instructions: Iterable[Instruction]
) -> Iterator[tuple]:
    values = ingest.staged_values(
        "" if batch.with_address else batch.verification_field
    )
    # Three new ids a row (receiver, receiver wallet, payment), made a thousand at
    # a time: the file's length is not known before it is read.
    ids: Iterator[str] = iter(())
    for position, instruction in enumerate(instructions):
        try:
            receiver_id, wallet_id, payment_id = next(ids), next(ids), next(ids)
        except StopIteration:
            ids = uuid7_texts(3000)
            receiver_id, wallet_id, payment_id = next(ids), next(ids), next(ids)
        yield (
            *values(
                instruction.line,
                instruction.phone or instruction.email,
                instruction.external_id,
                instruction.verification,
                instruction.wallet_address,
                instruction.memo,
                instruction.memo_type,
                receiver_id,
                wallet_id,
            ),
            position,
            instruction.amount,
            instruction.payment_id,
            payment_id,
        )


# --- 2. validate ----------------------------------------------------------------


def duplicate_errors(staged: Staged) -> dict[str, str]:
    """SDP's duplicate rules, in file order: a contact seen on an earlier row; then,
    among the rows left, an address seen earlier; then, among those left, a
    payment id seen earlier. Each names the earlier line."""
    contact = "phone" if staged.batch.by_phone else "email"
    with connection.cursor() as cursor:
        # Most files have no duplicate: three hash aggregates tell, where the
        # windows below sort the whole file three times.
        cursor.execute(
            f"""
            SELECT EXISTS (SELECT FROM {STAGING} GROUP BY contact
                           HAVING count(*) > 1)
                OR EXISTS (SELECT FROM {STAGING} WHERE wallet_address <> ''
                           GROUP BY wallet_address HAVING count(*) > 1)
                OR EXISTS (SELECT FROM {STAGING} WHERE external_payment_id <> ''
                           GROUP BY external_payment_id HAVING count(*) > 1)
            """  # noqa: S608
        )
        if not cursor.fetchone()[0]:
            return {}
        cursor.execute(
            f"""
            WITH contacts AS (
                SELECT *, min(line) OVER (PARTITION BY contact) AS first
                FROM {STAGING}
            ), addresses AS (
                SELECT *, CASE WHEN wallet_address <> '' THEN
                    min(line) OVER (PARTITION BY wallet_address) END AS first_address
                FROM contacts WHERE line = first
            ), payment_ids AS (
                SELECT *, CASE WHEN external_payment_id <> '' THEN
                    min(line) OVER (PARTITION BY external_payment_id) END AS first_id
                FROM addresses WHERE line = coalesce(first_address, line)
            )
            SELECT line, 'contact', first FROM contacts WHERE line <> first
            UNION ALL
            SELECT line, 'address', first_address FROM addresses
            WHERE line <> first_address
            UNION ALL
            SELECT line, 'payment', first_id FROM payment_ids WHERE line <> first_id
            """  # noqa: S608
        )
        found = cursor.fetchall()
    messages = {
        "contact": (contact, "duplicate contact information"),
        "address": ("walletAddress", "duplicate wallet address"),
        "payment": ("paymentID", "duplicate payment id"),
    }
    errors = {}
    for line, kind, first in found:
        column, message = messages[kind]
        errors[f"line {line} - {column}"] = f"{message}. Also found on line {first}"
    return errors


_LINE = re.compile(r"line (\d+) - ")


def _in_file_order(errors: dict[str, str]) -> dict[str, str]:
    """Errors by line (those of the whole file first), each line's in the order
    found."""

    def line(item: tuple[str, str]) -> int:
        found = _LINE.match(item[0])
        return int(found.group(1)) if found else 0

    return dict(sorted(errors.items(), key=line))


# --- 4. write the payments -------------------------------------------------------


def write_payments(disbursement: Disbursement, staged: Staged) -> int:
    """The old DRAFT payments go, the staged ones come in (a microsecond apart, so
    lists keep the file's order), with their history."""
    now = timezone.now()
    _delete_payments(disbursement)
    insert_select(
        Payment,
        {
            "id": "payment_id",
            "receiver_id": "receiver_id",
            "receiver_wallet_id": "receiver_wallet_id",
            "amount": "amount",
            "external_payment_id": "external_payment_id",
            "created_at": "%s::timestamptz + position * interval '1 microsecond'",
        },
        {
            "organization_id": disbursement.organization_id,
            "disbursement_id": disbursement.pk,
            "asset_id": disbursement.asset_id,
            "status": Payment.Status.DRAFT.value,
            "type": Payment.Type.DISBURSEMENT.value,
        },
        f"FROM {STAGING}",
        now=now,
        params=[now],
    )
    with connection.cursor() as cursor:
        # Their history, from the rows just written.
        cursor.execute(
            f"INSERT INTO {PaymentStatusChange._meta.db_table} "  # noqa: S608
            "(payment_id, from_status, to_status, note, created_at) "
            f"SELECT payment_id, '', %s, %s, %s FROM {STAGING}",
            [Payment.Status.DRAFT, "instructions uploaded", now],
        )
        return cursor.rowcount


def _delete_payments(disbursement: Disbursement) -> None:
    """The disbursement's DRAFT payments and their history, in two statements (a
    re-upload of 100,000 rows must not load 100,000 payments to delete them).
    Nothing else points at a DRAFT payment."""
    payments = Payment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {PaymentStatusChange._meta.db_table} "  # noqa: S608
            f"WHERE payment_id IN (SELECT id FROM {payments} "
            "WHERE disbursement_id = %s)",
            [disbursement.pk],
        )
        cursor.execute(
            f"DELETE FROM {payments} WHERE disbursement_id = %s",  # noqa: S608
            [disbursement.pk],
        )
