"""Store validated instructions (reference §5 "Processing"), inside the caller's
transaction with the disbursement locked.

Set-based: a handful of queries for the whole file whatever its size (lookups by
contact, bulk inserts with ON CONFLICT), so 10,000 rows store in well under a
second. Checks against the database (confirmed verifications, registered
addresses, addresses of other receivers) run before the first write and raise a
CSVError listing every bad row.
"""

from __future__ import annotations

from django.db.models.functions import Lower
from django.utils import timezone

from disbursements.csv_ingest import CSVError, Instruction
from disbursements.models import Disbursement, Payment, PaymentStatusChange
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
)
from receivers.verification_hash import _key, hash_verification_value
from receivers.verification_hash import verification_value_matches as matches
from sdp.fsm import transition_many

CHUNK = 5000


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_receivers(
    disbursement: Disbursement, instructions: list[Instruction], by_phone: bool
) -> dict[str, Receiver]:
    field = "phone_number" if by_phone else "email"
    contacts = [(i.phone if by_phone else i.email) or "" for i in instructions]
    found: dict[str, Receiver] = {}
    for chunk in _chunks(contacts):
        rows = (
            Receiver.objects.filter(organization_id=disbursement.organization_id)
            .annotate(contact=Lower(field))
            .filter(contact__in=chunk)
        )
        for receiver in rows:
            found[receiver.contact] = receiver
    return found


def store_instructions(
    disbursement: Disbursement, instructions: list[Instruction]
) -> int:
    organization_id = disbursement.organization_id
    by_phone = disbursement.registration_contact_type.startswith("PHONE")
    with_address = disbursement.registration_contact_type.endswith("WALLET_ADDRESS")
    now = timezone.now()

    def contact_of(instruction: Instruction) -> str:
        return (instruction.phone if by_phone else instruction.email) or ""

    receivers = _existing_receivers(disbursement, instructions, by_phone)
    existing_ids = [r.pk for r in receivers.values()]
    wallets = {
        rw.receiver_id: rw
        for chunk in _chunks(existing_ids)
        for rw in ReceiverWallet.objects.filter(
            receiver_id__in=chunk, wallet_id=disbursement.wallet_id
        )
    }
    errors: dict[str, str] = {}
    if with_address:
        owners = {
            row.stellar_address: row.receiver_id
            for chunk in _chunks([i.wallet_address for i in instructions])
            for row in ReceiverStellarAddress.objects.filter(
                organization_id=organization_id, stellar_address__in=chunk
            )
        }
        for instruction in instructions:
            receiver = receivers.get(contact_of(instruction))
            owner = owners.get(instruction.wallet_address)
            if owner is not None and (receiver is None or owner != receiver.pk):
                errors[f"line {instruction.line} - walletAddress"] = (
                    "wallet address is already registered to another receiver"
                )
                continue
            wallet = wallets.get(receiver.pk) if receiver else None
            if wallet is None:
                continue
            if wallet.status == ReceiverWallet.Status.FLAGGED:
                errors[f"line {instruction.line} - walletAddress"] = (
                    "the receiver's wallet is flagged"
                )
            elif (
                wallet.status == ReceiverWallet.Status.REGISTERED
                and wallet.stellar_address != instruction.wallet_address
            ):
                errors[f"line {instruction.line} - walletAddress"] = (
                    "wallet address does not match the receiver's registered address"
                )
    else:
        verifications = {
            v.receiver_id: v
            for chunk in _chunks(existing_ids)
            for v in ReceiverVerification.objects.filter(
                receiver_id__in=chunk,
                verification_field=disbursement.verification_field,
            )
        }
        for instruction in instructions:
            receiver = receivers.get(contact_of(instruction))
            verification = verifications.get(receiver.pk) if receiver else None
            if (
                verification is not None
                and verification.confirmed_at is not None
                and not matches(verification.hashed_value, instruction.verification)
            ):
                errors[f"line {instruction.line} - verification"] = (
                    "receiver verification mismatch"
                )
    if errors:
        raise CSVError(errors)

    # 1. receivers: create the missing ones (external_id = the CSV's id).
    new_receivers = [
        Receiver(
            organization_id=organization_id,
            external_id=instruction.external_id,
            phone_number=instruction.phone if by_phone else None,
            email=instruction.email if not by_phone else None,
        )
        for instruction in instructions
        if contact_of(instruction) not in receivers
    ]
    Receiver.objects.bulk_create(new_receivers, batch_size=2000)
    for receiver in new_receivers:
        receivers[(receiver.phone_number if by_phone else receiver.email) or ""] = (
            receiver
        )

    # 2. one receiver wallet per (receiver, disbursement wallet).
    new_wallets = [
        ReceiverWallet(
            organization_id=organization_id,
            receiver_id=receivers[contact_of(i)].pk,
            wallet_id=disbursement.wallet_id,
        )
        for i in instructions
        if receivers[contact_of(i)].pk not in wallets
    ]
    ReceiverWallet.objects.bulk_create(new_wallets, batch_size=2000)
    for receiver_wallet in new_wallets:
        wallets[receiver_wallet.receiver_id] = receiver_wallet

    if with_address:
        _register_addresses(disbursement, instructions, receivers, wallets, contact_of)
    elif disbursement.verification_field:
        _upsert_verifications(
            disbursement, instructions, receivers, contact_of, now=now
        )

    # 3. the payments: the old DRAFT ones go, the file's come in.
    Payment.objects.filter(disbursement=disbursement).delete()
    payments = [
        Payment(
            organization_id=organization_id,
            disbursement=disbursement,
            receiver_id=receivers[contact_of(i)].pk,
            receiver_wallet_id=wallets[receivers[contact_of(i)].pk].pk,
            asset_id=disbursement.asset_id,
            amount=i.amount,
            external_payment_id=i.payment_id,
        )
        for i in instructions
    ]
    Payment.objects.bulk_create(payments, batch_size=2000)
    PaymentStatusChange.objects.bulk_create(
        [
            PaymentStatusChange(
                payment_id=payment.pk,
                to_status=Payment.Status.DRAFT,
                note="instructions uploaded",
                created_at=now,
            )
            for payment in payments
        ],
        batch_size=2000,
    )
    return len(payments)


def _register_addresses(disbursement, instructions, receivers, wallets, contact_of):
    """Known addresses register the receiver wallet at upload (SDP). Hand-off
    happens at start, so no registration signal is sent here."""
    organization_id = disbursement.organization_id
    ReceiverStellarAddress.objects.bulk_create(
        [
            ReceiverStellarAddress(
                organization_id=organization_id,
                stellar_address=i.wallet_address,
                receiver_id=receivers[contact_of(i)].pk,
            )
            for i in instructions
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    to_register = []
    for instruction in instructions:
        wallet = wallets[receivers[contact_of(instruction)].pk]
        if wallet.status == ReceiverWallet.Status.REGISTERED:
            continue
        wallet.stellar_address = instruction.wallet_address
        wallet.stellar_memo = instruction.memo
        wallet.stellar_memo_type = instruction.memo_type
        to_register.append(wallet)
    ReceiverWallet.objects.bulk_update(
        to_register,
        ["stellar_address", "stellar_memo", "stellar_memo_type"],
        batch_size=1000,
    )
    note = "wallet address uploaded with the disbursement instructions"
    queryset = ReceiverWallet.objects.filter(pk__in=[w.pk for w in to_register])
    transition_many(
        queryset,
        from_status=ReceiverWallet.Status.DRAFT,
        to=ReceiverWallet.Status.READY,
        note=note,
    )
    transition_many(
        queryset,
        from_status=ReceiverWallet.Status.READY,
        to=ReceiverWallet.Status.REGISTERED,
        note=note,
    )


def _upsert_verifications(disbursement, instructions, receivers, contact_of, *, now):
    key = _key()
    rows = [
        ReceiverVerification(
            receiver_id=receivers[contact_of(i)].pk,
            verification_field=disbursement.verification_field,
            hashed_value=hash_verification_value(i.verification, key=key),
            created_at=now,
            updated_at=now,
        )
        for i in instructions
    ]
    # A confirmed value that differs was refused above; an equal confirmed one is
    # rewritten with a new salt, which still matches.
    ReceiverVerification.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["receiver", "verification_field"],
        update_fields=["hashed_value", "updated_at"],
        batch_size=2000,
    )
