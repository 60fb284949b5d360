"""Store validated instructions (reference §5 "Processing"), inside the caller's
transaction with the disbursement locked.

Set-based: a handful of queries for the whole file whatever its size (lookups by
contact, COPY for the new rows, one upsert), so 10,000 rows store in well under a
second. Rows are streamed to COPY from generators and only ids are kept, so the
memory a file costs is about that of its parsed instructions. Checks against the
database (confirmed verifications, registered addresses, addresses of other
receivers) run before the first write and raise a CSVError listing every bad row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter

from django.db import connection, models
from django.utils import timezone

from core.fsm import transition_many
from core.ids import uuid7_texts
from disbursements.csv_ingest import CSVError, Instruction
from disbursements.models import Disbursement, Payment, PaymentStatusChange
from receivers.events import emit_receiver_wallets, emit_receivers
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
)
from receivers.verification import normalize_verification_value
from receivers.verification_hash import _key, hash_verification_value
from receivers.verification_hash import verification_value_matches as matches

CHUNK = 5000


def copy_rows(
    model, columns: list[str], rows: Iterable[tuple], *, suffix: str = ""
) -> None:
    """COPY rows into the model's table: an order of magnitude faster than
    INSERT for thousands of rows. ``rows`` may be a generator: it is consumed
    CHUNK rows at a time, so a file's rows are never all formatted at once.
    ``suffix`` is COPY text appended to every line (the same trailing values)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    # Rows are formatted as COPY text here, in chunks: psycopg's per-value
    # adaptation (write_row) costs more than the database's work.
    end = suffix + "\n"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        lines = []
        for row in rows:
            lines.append("\t".join(map(_copy_text, row)))
            if len(lines) == CHUNK:
                copy.write(end.join(lines) + end)
                lines = []
        if lines:
            copy.write(end.join(lines) + end)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    kind = type(value)
    if kind is str:
        return value.translate(_ESCAPES)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime:
        return value.isoformat()
    if kind in (uuid.UUID, int, Decimal):
        return str(value)
    if isinstance(value, str):  # TextChoices members
        return str.translate(value, _ESCAPES)
    raise TypeError(f"no COPY text for {kind.__name__}")


def copy_model(
    model,
    columns: list[str],
    rows: Iterable[tuple],
    *,
    now,
    same: dict | None = None,
) -> None:
    """COPY rows giving ``columns`` (attnames), in that order; ``same`` gives
    values every row shares, and every other column gets the field's default
    (auto_now fields: ``now``), as save() would. Shared values are formatted once
    for the whole file."""
    by_attname = {
        f.attname: f
        for f in model._meta.concrete_fields
        if not isinstance(f, models.AutoField)
    }
    constants = {name: same[name] for name in same or {}}
    for name, f in by_attname.items():
        if name in columns or name in constants:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            constants[name] = now
        elif f.has_default() and callable(f.default):
            raise ValueError(f"{model.__name__}.{name} needs a value")
        else:
            constants[name] = f.get_default()
    copy_rows(
        model,
        [by_attname[name].column for name in (*columns, *constants)],
        rows,
        suffix="".join("\t" + _copy_text(value) for value in constants.values()),
    )


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_receivers(
    disbursement: Disbursement, contacts: list[str], by_phone: bool
) -> dict[str, object]:
    """{lower-cased contact: receiver id} of the organization's receivers."""
    column = "phone_number" if by_phone else "email"
    table = Receiver._meta.db_table
    found: dict[str, object] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(contacts):
            cursor.execute(
                f"SELECT lower({column}), id FROM {table} "  # noqa: S608
                f"WHERE organization_id = %s AND {column} IS NOT NULL "
                f"AND lower({column}) = ANY(%s)",
                [disbursement.organization_id, chunk],
            )
            found.update(cursor.fetchall())
    return found


def store_instructions(
    disbursement: Disbursement, instructions: list[Instruction]
) -> int:
    """Memory: the instructions themselves, plus two maps (contact -> receiver id,
    receiver id -> wallet id); every table is written by COPY from a generator,
    and payment history is derived from the payments in the database."""
    organization_id = disbursement.organization_id
    by_phone = disbursement.registration_contact_type.startswith("PHONE")
    with_address = disbursement.registration_contact_type.endswith("WALLET_ADDRESS")
    now = timezone.now()
    contact_attr = "phone" if by_phone else "email"
    contact_of = attrgetter(contact_attr)

    receivers = _existing_receivers(
        disbursement, [contact_of(i) for i in instructions], by_phone
    )
    existing_ids = list(receivers.values())
    # receiver id -> (wallet id, status, stellar address), existing receivers only.
    wallets: dict = {
        receiver_id: (pk, status, address)
        for chunk in _chunks(existing_ids)
        for receiver_id, pk, status, address in ReceiverWallet.objects.filter(
            receiver_id__in=chunk, wallet_id=disbursement.wallet_id
        ).values_list("receiver_id", "pk", "status", "stellar_address")
    }
    errors: dict[str, str] = {}
    if with_address:
        owners = {
            address: receiver_id
            for chunk in _chunks([i.wallet_address for i in instructions])
            for address, receiver_id in ReceiverStellarAddress.objects.filter(
                organization_id=organization_id, stellar_address__any=chunk
            ).values_list("stellar_address", "receiver_id")
        }
        for instruction in instructions:
            receiver_id = receivers.get(contact_of(instruction))
            owner = owners.get(instruction.wallet_address)
            if owner is not None and owner != receiver_id:
                errors[f"line {instruction.line} - walletAddress"] = (
                    "wallet address is already registered to another receiver"
                )
                continue
            wallet = wallets.get(receiver_id) if receiver_id else None
            if wallet is None:
                continue
            _, status, address = wallet
            if status == ReceiverWallet.Status.FLAGGED:
                errors[f"line {instruction.line} - walletAddress"] = (
                    "the receiver's wallet is flagged"
                )
            elif (
                status == ReceiverWallet.Status.REGISTERED
                and address != instruction.wallet_address
            ):
                errors[f"line {instruction.line} - walletAddress"] = (
                    "wallet address does not match the receiver's registered address"
                )
    elif existing_ids:
        confirmed = {
            receiver_id: hashed
            for chunk in _chunks(existing_ids)
            for receiver_id, hashed in ReceiverVerification.objects.filter(
                receiver_id__in=chunk,
                verification_field=disbursement.verification_field,
                confirmed_at__isnull=False,
            ).values_list("receiver_id", "hashed_value")
        }
        for instruction in instructions:
            receiver_id = receivers.get(contact_of(instruction))
            hashed = confirmed.get(receiver_id) if receiver_id else None
            if hashed is not None and not matches(
                hashed,
                normalize_verification_value(
                    disbursement.verification_field, instruction.verification
                ),
            ):
                errors[f"line {instruction.line} - verification"] = (
                    "receiver verification mismatch"
                )
    if errors:
        raise CSVError(errors)

    # 1. receivers: create the missing ones (external_id = the CSV's id).
    existing = set(existing_ids)
    ids = uuid7_texts(len(instructions))
    new_receivers = []
    for instruction in instructions:
        contact = contact_of(instruction)
        if contact not in receivers:
            receivers[contact] = next(ids)
            new_receivers.append(instruction)
    copy_model(
        Receiver,
        ["id", "external_id", contact_field(by_phone)],
        (
            (receivers[contact_of(i)], i.external_id, contact_of(i))
            for i in new_receivers
        ),
        now=now,
        same={"organization_id": organization_id},
    )
    emit_receivers(
        "receiver.created", [receivers[contact_of(i)] for i in new_receivers]
    )
    del new_receivers

    # 2. one receiver wallet per (receiver, disbursement wallet).
    wallet_ids = {receiver_id: wallet[0] for receiver_id, wallet in wallets.items()}
    ids = uuid7_texts(len(instructions))
    new_wallets = []
    for instruction in instructions:
        receiver_id = receivers[contact_of(instruction)]
        if receiver_id not in wallet_ids:
            wallet_ids[receiver_id] = next(ids)
            new_wallets.append(receiver_id)
    copy_model(
        ReceiverWallet,
        ["id", "receiver_id"],
        ((wallet_ids[receiver_id], receiver_id) for receiver_id in new_wallets),
        now=now,
        same={
            "organization_id": organization_id,
            "wallet_id": disbursement.wallet_id,
            "status": ReceiverWallet.Status.DRAFT.value,
        },
    )
    del new_wallets

    if with_address:
        _register_addresses(
            disbursement, instructions, receivers, wallets, wallet_ids, contact_of
        )
    elif disbursement.verification_field:
        _store_verifications(
            disbursement, instructions, receivers, existing, contact_of, now=now
        )

    # 3. the payments: the old DRAFT ones go, the file's come in.
    _delete_payments(disbursement)
    microsecond = timedelta(microseconds=1)
    copy_model(
        Payment,
        [
            "created_at",
            "id",
            "receiver_id",
            "receiver_wallet_id",
            "amount",
            "external_payment_id",
        ],
        (
            (
                # A microsecond apart, so lists keep the file's order.
                now + index * microsecond,
                payment_id,
                receiver_id := receivers[contact_of(i)],
                wallet_ids[receiver_id],
                i.amount,
                i.payment_id,
            )
            for (index, i), payment_id in zip(
                enumerate(instructions), uuid7_texts(len(instructions)), strict=True
            )
        ),
        now=now,
        same={
            "organization_id": organization_id,
            "disbursement_id": disbursement.pk,
            "asset_id": disbursement.asset_id,
            "status": Payment.Status.DRAFT.value,
            "type": Payment.Type.DISBURSEMENT.value,
        },
    )
    # Their history, from the rows just written (no payment id kept in memory).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PaymentStatusChange._meta.db_table} "  # noqa: S608
            "(payment_id, from_status, to_status, note, created_at) "
            "SELECT id, '', %s, %s, %s FROM "
            f"{Payment._meta.db_table} WHERE disbursement_id = %s",
            [Payment.Status.DRAFT, "instructions uploaded", now, disbursement.pk],
        )
        return cursor.rowcount


def contact_field(by_phone: bool) -> str:
    return "phone_number" if by_phone else "email"


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


def _register_addresses(
    disbursement, instructions, receivers, wallets, wallet_ids, contact_of
):
    """Known addresses register the receiver wallet at upload (SDP). Hand-off
    happens at start, so no registration signal is sent here."""
    organization_id = disbursement.organization_id
    for chunk in _chunks(instructions):
        ReceiverStellarAddress.objects.bulk_create(
            [
                ReceiverStellarAddress(
                    organization_id=organization_id,
                    stellar_address=i.wallet_address,
                    receiver_id=receivers[contact_of(i)],
                )
                for i in chunk
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
    to_register = []
    for instruction in instructions:
        receiver_id = receivers[contact_of(instruction)]
        existing = wallets.get(receiver_id)
        if existing is None or existing[1] != ReceiverWallet.Status.REGISTERED:
            to_register.append((wallet_ids[receiver_id], instruction))
    table = ReceiverWallet._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE csv_addresses (id uuid, address varchar(56), "
            "memo varchar(128), memo_type varchar(8)) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY csv_addresses FROM STDIN") as copy:
            for pk, i in to_register:
                copy.write_row((pk, i.wallet_address, i.memo, i.memo_type))
        cursor.execute(
            f"UPDATE {table} AS w SET stellar_address = a.address, "  # noqa: S608
            "stellar_memo = a.memo, stellar_memo_type = a.memo_type "
            "FROM csv_addresses AS a WHERE w.id = a.id"
        )
        cursor.execute("DROP TABLE csv_addresses")
    note = "wallet address uploaded with the disbursement instructions"
    queryset = ReceiverWallet.objects.filter(pk__any=[pk for pk, _ in to_register])
    transition_many(
        queryset,
        from_status=ReceiverWallet.Status.DRAFT,
        to=ReceiverWallet.Status.READY,
        note=note,
    )
    registered = transition_many(
        queryset,
        from_status=ReceiverWallet.Status.READY,
        to=ReceiverWallet.Status.REGISTERED,
        note=note,
    )
    emit_receiver_wallets("receiver_wallet.registered", registered)


def _store_verifications(
    disbursement, instructions, receivers, existing, contact_of, *, now
):
    """New receivers' values go straight in by COPY; existing receivers' through
    a scratch table and one upsert: a confirmed value that differs was refused
    above; an equal confirmed one is rewritten with a new salt, which still
    matches."""
    key = _key()
    field = disbursement.verification_field

    def hashed(instruction: Instruction) -> str:
        return hash_verification_value(
            normalize_verification_value(field, instruction.verification), key=key
        )

    copy_model(
        ReceiverVerification,
        ["receiver_id", "hashed_value"],
        (
            (receiver_id, hashed(i))
            for i in instructions
            if (receiver_id := receivers[contact_of(i)]) not in existing
        ),
        now=now,
        same={"verification_field": field},
    )
    if not existing:
        return
    table = ReceiverVerification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE csv_verifications "
            "(receiver_id uuid, hashed_value varchar(256)) ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            "COPY csv_verifications (receiver_id, hashed_value) FROM STDIN"
        ) as copy:
            for i in instructions:
                receiver_id = receivers[contact_of(i)]
                if receiver_id in existing:
                    copy.write_row((receiver_id, hashed(i)))
        cursor.execute(
            f"INSERT INTO {table} (receiver_id, verification_field, hashed_value, "  # noqa: S608
            "attempts, verification_channel, confirmed_by_type, confirmed_by_id, "
            "created_at, updated_at) "
            "SELECT receiver_id, %s, hashed_value, 0, '', '', '', %s, %s "
            "FROM csv_verifications "
            "ON CONFLICT (receiver_id, verification_field) DO UPDATE SET "
            "hashed_value = EXCLUDED.hashed_value, updated_at = EXCLUDED.updated_at",
            [field, now, now],
        )
        cursor.execute("DROP TABLE csv_verifications")
