"""Disbursement use cases: create, upload instructions, delete, start, pause,
resume. The only code that writes disbursements (payments: payments.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from auth_org import catalog
from auth_org.controls import limits_for
from auth_org.models import Asset, Organization, User, Wallet
from core.api import APIError, Conflict, Forbidden
from core.fsm import transition, transition_many
from disbursements import controls
from disbursements.completion import complete_finished_disbursements
from disbursements.csv_ingest import CSVError, InstructionReader, file_name_error
from disbursements.duplicates import find_duplicates
from disbursements.events import emit_disbursements
from disbursements.handoff import hand_off_payments
from disbursements.instructions import store_instructions
from disbursements.models import (
    Disbursement,
    DisbursementApproval,
    DisbursementStatusChange,
    Payment,
    RegistrationContactType,
)
from messaging.texts import validate_template
from receivers.invitations import queue_invitations
from receivers.models import ReceiverWallet, VerificationField
from tss import services as tss_services

EDITABLE = (Disbursement.Status.DRAFT, Disbursement.Status.READY)
IN_FLIGHT = (Payment.Status.READY, Payment.Status.PAUSED)


def create_disbursement(
    organization: Organization,
    *,
    actor: User | None,
    name: str,
    wallet: Wallet,
    asset: Asset,
    registration_contact_type: str,
    verification_field: str = "",
    receiver_registration_message_template: str = "",
    file_name: str = "",
    file_content: bytes | None = None,
) -> Disbursement:
    """A DRAFT disbursement, and with a file its instructions (then READY), in one
    transaction. Raises Conflict on a duplicate name, APIError/CSVError on bad input.
    """
    if registration_contact_type not in RegistrationContactType.values:
        raise APIError(extras={"registration_contact_type": "invalid value"})
    if verification_field and verification_field not in VerificationField.values:
        raise APIError(extras={"verification_field": "invalid value"})
    if "WALLET_ADDRESS" in registration_contact_type:
        verification_field = ""
    try:
        receiver_registration_message_template = validate_template(
            receiver_registration_message_template,
            field="receiver_registration_message_template",
            max_length=1000,
        )
    except ValidationError as exc:
        raise APIError(
            extras={key: value[0] for key, value in exc.message_dict.items()}
        ) from None
    if not wallet.enabled or wallet.deleted_at:
        raise APIError("wallet is not enabled", extras={"wallet_id": "not enabled"})
    with transaction.atomic():
        disbursement = Disbursement(
            organization=organization,
            name=name,
            wallet=wallet,
            asset=asset,
            registration_contact_type=registration_contact_type,
            verification_field=verification_field,
            receiver_registration_message_template=receiver_registration_message_template,
            created_by=actor,
        )
        try:
            with transaction.atomic():
                disbursement.save()
        except IntegrityError as exc:
            raise Conflict("disbursement already exists") from exc
        DisbursementStatusChange.objects.create(
            disbursement=disbursement,
            to_status=Disbursement.Status.DRAFT,
            note="created",
            actor=actor,
        )
        emit_disbursements("disbursement.created", [disbursement.pk])
        if file_content is not None:
            upload_instructions(
                disbursement,
                actor=actor,
                file_name=file_name,
                content=file_content,
            )
    return disbursement


def upload_instructions(
    disbursement: Disbursement,
    *,
    actor: User | None,
    file_name: str,
    content: bytes | IO[bytes],
    max_rows: int | None = None,
) -> int:
    """Validate the CSV whole, then replace the disbursement's payments with it and
    move it to READY, in one transaction. Returns the number of payments.

    ``content`` is the file's bytes or a binary file open at its start: it is
    read as a stream, twice (parsed, then stored as the disbursement's file),
    never held whole by this code."""
    from django.conf import settings

    if error := file_name_error(file_name):
        raise CSVError({"file": error})
    if _size(content) > settings.CSV_MAX_BYTES:
        raise CSVError(
            {"file": f"the file is larger than {settings.CSV_MAX_BYTES} bytes"}
        )
    reader = InstructionReader(
        content,
        contact_type=disbursement.registration_contact_type,
        verification_field=disbursement.verification_field,
        embedded=disbursement.wallet.embedded,
        max_rows=max_rows,
    )
    with transaction.atomic():
        locked = (
            Disbursement.objects.select_for_update()
            .select_related("organization", "wallet", "asset")
            .defer("file_content")  # the previous file, replaced below
            .get(pk=disbursement.pk)
        )
        if locked.status not in EDITABLE:
            raise APIError(
                "disbursement is not in a state to receive instructions "
                f"(status {locked.status})"
            )
        count = store_instructions(locked, reader)
        # Approvals were given to the payments as they were.
        DisbursementApproval.objects.filter(disbursement=locked).delete()
        store_file(locked, file_name, content)
        transition(
            locked,
            to=Disbursement.Status.READY,
            note=f"instructions uploaded: {count} payments",
            actor=actor,
        )
    # Everything but the file, read again when asked for.
    disbursement.__dict__.pop("file_content", None)
    disbursement.refresh_from_db(
        fields=[
            field.attname
            for field in Disbursement._meta.concrete_fields
            if field.name != "file_content"
        ]
    )
    return count


def _size(content: bytes | IO[bytes]) -> int:
    if isinstance(content, bytes):
        return len(content)
    position = content.tell()
    size = content.seek(0, os.SEEK_END)
    content.seek(position)
    return size


FILE_CHUNK = 1024 * 1024


def store_file(disbursement: Disbursement, file_name: str, content) -> None:
    """The uploaded file, kept with the disbursement. A file object goes to the
    database a megabyte at a time (COPY into a scratch table, then one UPDATE
    joining the pieces), so a large file is never in this process's memory."""
    if isinstance(content, bytes):
        Disbursement.objects.filter(pk=disbursement.pk).update(
            file_name=file_name, file_content=content
        )
        return
    content.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.csv_file")
        cursor.execute(
            "CREATE TEMP TABLE csv_file (n integer, piece bytea) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY csv_file (n, piece) FROM STDIN") as copy:
            n = 0
            while piece := content.read(FILE_CHUNK):
                copy.write_row((n, piece))
                n += 1
        cursor.execute(
            f"UPDATE {Disbursement._meta.db_table} SET file_name = %s, "  # noqa: S608
            "file_content = (SELECT coalesce(string_agg(piece, '' ORDER BY n), '') "
            "FROM csv_file) WHERE id = %s",
            [file_name, disbursement.pk],
        )
        cursor.execute("DROP TABLE csv_file")


def delete_disbursement(disbursement: Disbursement) -> None:
    with transaction.atomic():
        locked = Disbursement.objects.select_for_update().get(pk=disbursement.pk)
        if locked.status not in EDITABLE:
            raise APIError("only DRAFT or READY disbursements can be deleted")
        # DRAFT payments go with it (cascade); nothing else can point at them.
        locked.delete()


def check_approval(disbursement: Disbursement, actor: User | None) -> None:
    """With approval required, whoever created or uploaded it cannot start it."""
    if not disbursement.organization.is_approval_required or actor is None:
        return
    preparers = DisbursementStatusChange.objects.filter(
        disbursement=disbursement,
        to_status__in=[Disbursement.Status.DRAFT, Disbursement.Status.READY],
        actor=actor,
    )
    if preparers.exists():
        raise Forbidden(
            "Approval is required: a user who created or uploaded this "
            "disbursement cannot start it"
        )


@dataclass(frozen=True)
class BalanceReading:
    """The distribution account's balances as the network reported them, and
    when they were asked for."""

    balances: dict[tuple[str, str], Decimal]
    read_at: datetime


def read_balances(organization: Organization) -> BalanceReading:
    """Network I/O (Horizon, through the TSS): call it before the transaction that
    runs check_balance, so no row lock is held across an HTTP call."""
    read_at = timezone.now()
    return BalanceReading(catalog.distribution_balances(organization), read_at)


def amount_in_flight(
    organization: Organization,
    asset: Asset,
    *,
    reading: BalanceReading,
    exclude: Q | None = None,
) -> Decimal:
    """What the balance read must still cover (see check_balance)."""
    reserved = Payment.objects.filter(
        organization=organization, asset=asset, status__in=IN_FLIGHT
    )
    if exclude is not None:
        reserved = reserved.exclude(exclude)
    waiting = reserved.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return (
        waiting
        + catalog.amount_in_flight(organization, asset)
        + tss_services.amount_completed_since(
            organization.id, asset.code, asset.issuer, reading.read_at
        )
    )


def check_balance(
    organization: Organization,
    asset: Asset,
    *,
    needed: Decimal,
    reading: BalanceReading,
    exclude: Q | None = None,
) -> None:
    """409 unless the balance read before the transaction covers ``needed`` on top
    of everything in flight for this asset, counted now, inside the caller's
    transaction: READY/PAUSED payments (not yet with the TSS), the TSS's
    unfinished transactions (PENDING payments), and those it finished since the
    balance was read (the reading may not show their debit yet, so they still
    count). The asset's row is locked first, so two checks of one asset (two
    starts, a start and a direct payment) run one after the other and the second
    counts what the first committed."""
    key = (asset.code, asset.issuer)
    if key not in reading.balances:
        raise Conflict(
            f"the distribution account has no trustline for {asset.code}; add the "
            "asset first"
        )
    # FOR NO KEY UPDATE: checks wait for each other, while inserts that merely
    # reference the asset (their foreign-key checks take FOR KEY SHARE) do not.
    Asset.objects.select_for_update(no_key=True).filter(pk=asset.pk).first()
    in_flight = amount_in_flight(organization, asset, reading=reading, exclude=exclude)
    balance = reading.balances[key]
    available = balance - in_flight
    if available < needed:
        raise Conflict(
            f"the distribution account has {balance} {asset.code}, of which "
            f"{in_flight} is already committed to other payments; "
            f"{needed} {asset.code} are needed, so {needed - available} "
            f"{asset.code} are missing. Fund the distribution account and retry."
        )


def set_disbursement_status(
    disbursement: Disbursement,
    *,
    status: str,
    actor: User | None,
    acknowledge_duplicates: bool = False,
) -> str:
    """The dashboard's PATCH .../status: STARTED (start or resume) or PAUSED."""
    if status == Disbursement.Status.STARTED:
        if disbursement.status == Disbursement.Status.PAUSED:
            resume_disbursement(disbursement, actor=actor)
            return "Disbursement started"
        start_disbursement(
            disbursement, actor=actor, acknowledge_duplicates=acknowledge_duplicates
        )
        return "Disbursement started"
    if status == Disbursement.Status.PAUSED:
        pause_disbursement(disbursement, actor=actor)
        return "Disbursement paused"
    raise APIError(extras={"status": "invalid status; use STARTED or PAUSED"})


def _remaining(disbursement: Disbursement, statuses) -> Decimal:
    total = disbursement.payments.filter(status__in=statuses).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0")


def start_disbursement(
    disbursement: Disbursement,
    *,
    actor: User | None,
    acknowledge_duplicates: bool = False,
) -> None:
    """READY -> STARTED in one transaction: approval rule and tiers, duplicate
    warnings, balance, spending limits, payments DRAFT -> READY, receiver wallets
    DRAFT -> READY, invitations, hand-off of the payments of already registered
    wallets. Raises Forbidden, Conflict, APIError (docs/controls.md).
    """
    duplicates: list = []

    def refuse(current: Disbursement) -> None:
        if current.status != Disbursement.Status.READY:
            raise APIError(
                f"disbursement is not ready to be started (status {current.status})"
            )
        check_approval(current, actor)
        controls.check_approvals(current, limits_for(current.asset))
        duplicates[:] = find_duplicates(current)
        if duplicates and not acknowledge_duplicates:
            raise APIError(
                f"{len(duplicates)} payments look like duplicates of earlier ones; "
                "review them (GET /disbursements/{id}/preflight) and start with "
                '"acknowledge_duplicates": true',
                extras={
                    "acknowledge_duplicates": "required: the disbursement has "
                    "duplicate warnings",
                    "duplicates": duplicates[:10],
                },
            )

    # What can be refused without the network is, before reading it; all of it is
    # checked again under the lock. Above an approval tier, the start is also the
    # actor's approval, committed first (the last approver's start starts it).
    current = Disbursement.objects.select_related("organization", "asset").get(
        pk=disbursement.pk
    )
    if (
        current.status == Disbursement.Status.READY
        and controls.approvals_needed(current)[0]
    ):
        controls.record_approval(current, actor)
    refuse(current)
    reading = read_balances(current.organization)
    with transaction.atomic():
        locked = (
            Disbursement.objects.select_for_update()
            .select_related("organization", "asset", "wallet")
            .get(pk=disbursement.pk)
        )
        refuse(locked)
        organization = locked.organization
        payments = Payment.objects.filter(disbursement=locked)
        # A list, not a subquery: right after an upload the planner's statistics
        # do not know the disbursement's rows yet, and a semi-join it believes
        # tiny goes quadratic (4 s for 10,000 receivers).
        receiver_wallet_ids = list(
            set(payments.values_list("receiver_wallet_id", flat=True))
        )
        check_balance(
            organization,
            locked.asset,
            needed=_remaining(locked, [Payment.Status.DRAFT]),
            reading=reading,
            exclude=Q(disbursement=locked),
        )
        # After check_balance: the asset's row is locked, so two starts count
        # each other's committed payments against the limits.
        controls.check_disbursement_limits(locked, limits_for(locked.asset))
        note = "started"
        if duplicates:
            note = f"started; {len(duplicates)} duplicate warnings acknowledged"
        transition(locked, to=Disbursement.Status.STARTED, note=note, actor=actor)
        emit_disbursements("disbursement.started", [locked.pk])
        transition_many(
            payments,
            from_status=Payment.Status.DRAFT,
            to=Payment.Status.READY,
            note="disbursement started",
            actor=actor,
        )
        receiver_wallets = ReceiverWallet.objects.filter(pk__any=receiver_wallet_ids)
        transition_many(
            receiver_wallets,
            from_status=ReceiverWallet.Status.DRAFT,
            to=ReceiverWallet.Status.READY,
            note="disbursement started",
            actor=actor,
        )
        if not locked.wallet.user_managed:
            to_invite = receiver_wallets.filter(
                status=ReceiverWallet.Status.READY, invitation_sent_at__isnull=True
            ).select_related("receiver")
            queue_invitations(
                organization,
                to_invite,
                disbursement_id=locked.pk,
                template=locked.receiver_registration_message_template,
                asset=locked.asset,
            )
        hand_off_payments(Payment.objects.filter(disbursement=locked))
    disbursement.refresh_from_db()


def pause_disbursement(disbursement: Disbursement, *, actor: User | None) -> None:
    """STARTED -> PAUSED; its READY payments wait (PENDING ones go on)."""
    with transaction.atomic():
        locked = Disbursement.objects.select_for_update().get(pk=disbursement.pk)
        if locked.status != Disbursement.Status.STARTED:
            raise APIError(
                f"only a STARTED disbursement can be paused (status {locked.status})"
            )
        transition(locked, to=Disbursement.Status.PAUSED, note="paused", actor=actor)
        emit_disbursements("disbursement.paused", [locked.pk])
        transition_many(
            Payment.objects.filter(disbursement=locked),
            from_status=Payment.Status.READY,
            to=Payment.Status.PAUSED,
            note="disbursement paused",
            actor=actor,
        )
    disbursement.refresh_from_db()


def resume_disbursement(disbursement: Disbursement, *, actor: User | None) -> None:
    """PAUSED -> STARTED, with the balance checked again for what is left."""

    def refuse(current: Disbursement) -> None:
        if current.status != Disbursement.Status.PAUSED:
            raise APIError(
                f"only a PAUSED disbursement can be resumed (status {current.status})"
            )

    current = Disbursement.objects.select_related("organization").get(
        pk=disbursement.pk
    )
    refuse(current)  # again under the lock
    reading = read_balances(current.organization)
    with transaction.atomic():
        locked = (
            Disbursement.objects.select_for_update()
            .select_related("organization", "asset")
            .get(pk=disbursement.pk)
        )
        refuse(locked)
        check_balance(
            locked.organization,
            locked.asset,
            needed=_remaining(locked, [Payment.Status.PAUSED]),
            reading=reading,
            exclude=Q(disbursement=locked),
        )
        transition(locked, to=Disbursement.Status.STARTED, note="resumed", actor=actor)
        emit_disbursements("disbursement.started", [locked.pk])
        transition_many(
            Payment.objects.filter(disbursement=locked),
            from_status=Payment.Status.PAUSED,
            to=Payment.Status.READY,
            note="disbursement resumed",
            actor=actor,
        )
        hand_off_payments(Payment.objects.filter(disbursement=locked))
        # Paused with every payment already final: nothing will finish later.
        complete_finished_disbursements([locked.pk])
    disbursement.refresh_from_db()
