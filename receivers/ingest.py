"""The receivers of an uploaded file: the receivers' write path for bulk uploads.

A caller (disbursement instructions) stages its rows in a temporary table made
by ``create_staging``: one row per receiver of the file, with the columns of
``STAGED`` (filled by the caller with ``staged_values``) and its own. Then, in
its transaction:

1. ``match_receivers``: finds the organization's receivers and receiver wallets
   the rows name (filling ``receiver_id``, ``receiver_wallet_id`` and
   ``wallet_status`` of the staging table) and returns every row that cannot be
   stored (a confirmed verification that differs, an address owned by another
   receiver, a flagged wallet, another registered address), writing nothing;
2. ``store_receivers``: creates the missing receivers and receiver wallets,
   stores the verification values or registers the addresses, and leaves every
   staged row with its ``receiver_id`` and ``receiver_wallet_id``.

Everything is set-based (INSERT ... SELECT from the staging table, a few
statements whatever the file's size), so no row of the file is held in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.bulk import copy_rows, insert_select
from core.fsm import transition_many
from receivers import events
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
)
from receivers.verification import (
    InvalidVerificationValue,
    normalize_verification_value,
)
from receivers.verification_hash import _key, hash_verification_value
from receivers.verification_hash import verification_value_matches as matches

# What the caller stages for each row, in this order (PostgreSQL types).
STAGED = (
    ("line", "integer"),
    ("contact", "text"),  # lower-cased phone or email
    ("external_id", "text"),
    ("verification", "text"),  # normalised; the temporary table dies at commit
    ("hashed_value", "text"),
    ("wallet_address", "text"),
    ("memo", "text"),
    ("memo_type", "text"),
    ("new_receiver_id", "uuid"),  # used if the receiver is new
    ("new_wallet_id", "uuid"),  # used if the receiver wallet is new
)
# Filled by match_receivers and store_receivers.
RESOLVED = (
    ("receiver_id", "uuid"),
    ("receiver_wallet_id", "uuid"),
    ("wallet_status", "text"),
    ("registered_address", "text"),
)


@dataclass(frozen=True)
class ReceiverBatch:
    """The staged receivers of one file and where they go."""

    table: str
    organization_id: Any
    wallet_id: Any
    by_phone: bool
    with_address: bool
    verification_field: str

    @property
    def contact_column(self) -> str:
        return "phone_number" if self.by_phone else "email"


def create_staging(table: str, extra: tuple[tuple[str, str], ...]) -> None:
    """A temporary table (unlogged, private to the transaction, dropped at
    commit) with the receivers' columns and the caller's ``extra`` ones."""
    columns = ", ".join(f"{name} {kind}" for name, kind in (*STAGED, *RESOLVED, *extra))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")


def staged_values(
    verification_field: str,
) -> Callable[[int, str, str, str, str, str, str, str, str], tuple]:
    """A function making a row's STAGED values (new ids included) from its line,
    contact, external id, verification value, address, memo and memo type: the
    verification value is normalised and hashed here, once per row."""
    key = _key()

    def values(
        line, contact, external_id, verification, address, memo, memo_type, rid, wid
    ):
        hashed = ""
        if verification_field and verification:
            # Validated already; a value that does not normalise is kept as given.
            with contextlib.suppress(InvalidVerificationValue):
                verification = normalize_verification_value(
                    verification_field, verification
                )
            hashed = hash_verification_value(verification, key=key)
        return (
            line,
            contact,
            external_id,
            verification,
            hashed,
            address,
            memo,
            memo_type,
            rid,
            wid,
        )

    return values


def copy_staged(table: str, columns: tuple[str, ...], rows) -> int:
    """COPY the caller's rows (STAGED values, then its own ``columns``)."""
    return copy_rows(table, [*(name for name, _ in STAGED), *columns], rows)


def match_receivers(batch: ReceiverBatch) -> dict[int, tuple[str, str]]:
    """{line: (CSV column, message)} of the rows that cannot be stored; fills
    the staged rows' existing receiver and receiver wallet. Writes nothing but
    the staging table."""
    table = batch.table
    column = batch.contact_column
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET receiver_id = r.id "  # noqa: S608
            f"FROM {Receiver._meta.db_table} AS r "
            f"WHERE r.organization_id = %s AND r.{column} IS NOT NULL "
            f"AND lower(r.{column}) = s.contact",
            [batch.organization_id],
        )
        if not cursor.rowcount:
            return _address_errors(batch) if batch.with_address else {}
        cursor.execute(
            f"UPDATE {table} AS s SET receiver_wallet_id = w.id, "  # noqa: S608
            "wallet_status = w.status, registered_address = w.stellar_address "
            f"FROM {ReceiverWallet._meta.db_table} AS w "
            "WHERE w.receiver_id = s.receiver_id AND w.wallet_id = %s",
            [batch.wallet_id],
        )
    if batch.with_address:
        return _address_errors(batch)
    return _verification_errors(batch)


def _address_errors(batch: ReceiverBatch) -> dict[int, tuple[str, str]]:
    messages = {
        "owned": "wallet address is already registered to another receiver",
        "flagged": "the receiver's wallet is flagged",
        "other": "wallet address does not match the receiver's registered address",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT line, problem FROM (SELECT s.line, CASE "  # noqa: S608
            "WHEN a.receiver_id IS DISTINCT FROM s.receiver_id "
            "AND a.receiver_id IS NOT NULL THEN 'owned' "
            "WHEN s.wallet_status = %s THEN 'flagged' "
            "WHEN s.wallet_status = %s "
            "AND s.registered_address IS DISTINCT FROM s.wallet_address "
            "THEN 'other' END AS problem "
            f"FROM {batch.table} AS s "
            f"LEFT JOIN {ReceiverStellarAddress._meta.db_table} AS a "
            "ON a.organization_id = %s AND a.stellar_address = s.wallet_address"
            ") AS checked WHERE problem IS NOT NULL",
            [
                ReceiverWallet.Status.FLAGGED,
                ReceiverWallet.Status.REGISTERED,
                batch.organization_id,
            ],
        )
        return {
            line: ("walletAddress", messages[problem])
            for line, problem in cursor.fetchall()
        }


def _verification_errors(batch: ReceiverBatch) -> dict[int, tuple[str, str]]:
    """Rows whose receiver confirmed another value. Read through a server-side
    cursor: a re-upload of a large file names many existing receivers."""
    errors = {}
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT s.line, v.hashed_value, s.verification FROM {batch.table} AS s "  # noqa: S608
            f"JOIN {ReceiverVerification._meta.db_table} AS v "
            "ON v.receiver_id = s.receiver_id AND v.verification_field = %s "
            "AND v.confirmed_at IS NOT NULL",
            [batch.verification_field],
        )
        while rows := cursor.fetchmany(2000):
            for line, hashed, value in rows:
                if not matches(hashed, value):
                    errors[line] = ("verification", "receiver verification mismatch")
    return errors


def store_receivers(batch: ReceiverBatch) -> None:
    """Create what the staged rows need (match_receivers found no error)."""
    now = timezone.now()
    table = batch.table
    with connection.cursor() as cursor:
        # 1. the missing receivers (external_id = the file's id).
        insert_select(
            Receiver,
            {
                "id": "new_receiver_id",
                "external_id": "external_id",
                batch.contact_column: "contact",
            },
            {"organization_id": batch.organization_id},
            f"FROM {table} WHERE receiver_id IS NULL",
            now=now,
        )
        events.emit_receivers_in(
            "receiver.created",
            f"SELECT new_receiver_id FROM {table} WHERE receiver_id IS NULL",  # noqa: S608
        )
        # 2. one receiver wallet per (receiver, disbursement wallet).
        insert_select(
            ReceiverWallet,
            {
                "id": "new_wallet_id",
                "receiver_id": "coalesce(receiver_id, new_receiver_id)",
            },
            {
                "organization_id": batch.organization_id,
                "wallet_id": batch.wallet_id,
                "status": ReceiverWallet.Status.DRAFT.value,
            },
            f"FROM {table} WHERE receiver_wallet_id IS NULL",
            now=now,
        )
        if batch.with_address:
            _register_addresses(cursor, batch)
        elif batch.verification_field:
            _store_verifications(batch, now=now)
        cursor.execute(
            f"UPDATE {table} SET "  # noqa: S608
            "receiver_id = coalesce(receiver_id, new_receiver_id), "
            "receiver_wallet_id = coalesce(receiver_wallet_id, new_wallet_id) "
            "WHERE receiver_id IS NULL OR receiver_wallet_id IS NULL"
        )


def _register_addresses(cursor, batch: ReceiverBatch) -> None:
    """Known addresses register the receiver wallet at upload (SDP). Hand-off
    happens at start, so no registration signal is sent here."""
    table = batch.table
    cursor.execute(
        f"INSERT INTO {ReceiverStellarAddress._meta.db_table} "  # noqa: S608
        "(organization_id, stellar_address, receiver_id) "
        "SELECT %s, wallet_address, coalesce(receiver_id, new_receiver_id) "
        f"FROM {table} ON CONFLICT DO NOTHING",
        [batch.organization_id],
    )
    to_register = (
        f"SELECT coalesce(receiver_wallet_id, new_wallet_id) FROM {table} "  # noqa: S608
        "WHERE wallet_status IS DISTINCT FROM %s"
    )
    registered = ReceiverWallet.Status.REGISTERED
    cursor.execute(
        f"UPDATE {ReceiverWallet._meta.db_table} AS w SET "  # noqa: S608
        "stellar_address = s.wallet_address, stellar_memo = s.memo, "
        f"stellar_memo_type = s.memo_type FROM {table} AS s "
        "WHERE w.id = coalesce(s.receiver_wallet_id, s.new_wallet_id) "
        "AND s.wallet_status IS DISTINCT FROM %s",
        [registered],
    )
    note = "wallet address uploaded with the disbursement instructions"
    queryset = ReceiverWallet.objects.filter(
        pk__in=RawSQL(to_register, [registered])  # noqa: S611 - constant SQL
    )
    for source, target in (
        (ReceiverWallet.Status.DRAFT, ReceiverWallet.Status.READY),
        (ReceiverWallet.Status.READY, ReceiverWallet.Status.REGISTERED),
    ):
        transition_many(queryset, from_status=source, to=target, note=note)
    events.emit_receiver_wallets_in(
        "receiver_wallet.registered", to_register, [registered]
    )


def _store_verifications(batch: ReceiverBatch, *, now) -> None:
    """New receivers' values go straight in; existing receivers' through one
    upsert: a confirmed value that differs was refused by match_receivers; an
    equal confirmed one is rewritten with a new salt, which still matches."""
    expressions = {"hashed_value": "hashed_value"}
    constants = {"verification_field": batch.verification_field}
    insert_select(
        ReceiverVerification,
        {"receiver_id": "new_receiver_id", **expressions},
        constants,
        f"FROM {batch.table} WHERE receiver_id IS NULL",
        now=now,
    )
    insert_select(
        ReceiverVerification,
        {"receiver_id": "receiver_id", **expressions},
        constants,
        f"FROM {batch.table} WHERE receiver_id IS NOT NULL "
        "ON CONFLICT (receiver_id, verification_field) DO UPDATE SET "
        "hashed_value = EXCLUDED.hashed_value, updated_at = EXCLUDED.updated_at",
        now=now,
    )
