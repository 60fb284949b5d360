"""Receiver use cases of the dashboard and the admin: create, edit, wallet
address, retry invitation, unregister, flag and unflag. Each records who acted."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from auth_org.models import Organization, User, Wallet
from core import validators
from core.api import APIError, Conflict
from core.fsm import transition
from receivers.events import emit_receiver_wallets, emit_receivers
from receivers.invitations import queue_invitations
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
    VerificationField,
)
from receivers.signals import (
    receiver_wallet_registered,
    receiver_wallet_unregistering,
)
from receivers.verification import hash_verification_value

# The PATCH /receivers/{id} keys and the verification they set.
PATCH_VERIFICATIONS = {
    "date_of_birth": VerificationField.DATE_OF_BIRTH,
    "year_month": VerificationField.YEAR_MONTH,
    "pin": VerificationField.PIN,
    "national_id": VerificationField.NATIONAL_ID_NUMBER,
}


def validate_contact(*, phone_number: str | None, email: str | None) -> dict[str, str]:
    rules = validators
    errors = {}
    if phone_number and (error := rules.validate_phone(phone_number)):
        errors["phone_number"] = error
    if email and (error := rules.validate_email(email)):
        errors["email"] = error
    return errors


def validate_verification(kind: str, value: str) -> str | None:
    if kind not in VerificationField.values:
        return "invalid verification type"
    return validators.validate_verification(kind, value, timezone.localdate())


def parse_address(address: str, memo: str) -> tuple[str, str, str]:
    """(address, memo, memo_type) or APIError naming the field."""
    rules = validators
    address = (address or "").strip().upper()
    memo = (memo or "").strip()
    if error := rules.validate_wallet_address(address):
        raise APIError(extras={"stellar_address": error})
    memo_type = ""
    if memo:
        if refused := rules.memo_refused(address):
            raise APIError(extras={"stellar_memo": refused})
        memo_type, error = rules.detect_memo(memo)
        if error:
            raise APIError(extras={"stellar_memo": error})
    return address, memo, memo_type


def _claim_address(organization_id, receiver: Receiver, address: str) -> None:
    """One address, one receiver (SDP's trigger): 409 when another has it."""
    owner = (
        ReceiverStellarAddress.objects.filter(
            organization_id=organization_id, stellar_address=address
        )
        .values_list("receiver_id", flat=True)
        .first()
    )
    if owner is not None and owner != receiver.pk:
        raise Conflict("wallet address is already used by another receiver")
    if owner is None:
        try:
            with transaction.atomic():
                ReceiverStellarAddress.objects.create(
                    organization_id=organization_id,
                    stellar_address=address,
                    receiver=receiver,
                )
        except IntegrityError as exc:
            raise Conflict(
                "wallet address is already used by another receiver"
            ) from exc


def _register(receiver_wallet: ReceiverWallet, actor: User | None, note: str) -> None:
    if receiver_wallet.status == ReceiverWallet.Status.DRAFT:
        transition(
            receiver_wallet, to=ReceiverWallet.Status.READY, note=note, actor=actor
        )
    if receiver_wallet.status == ReceiverWallet.Status.READY:
        transition(
            receiver_wallet, to=ReceiverWallet.Status.REGISTERED, note=note, actor=actor
        )
        emit_receiver_wallets("receiver_wallet.registered", [receiver_wallet.pk])
        transaction.on_commit(
            lambda: receiver_wallet_registered.send(
                sender=ReceiverWallet, receiver_wallet=receiver_wallet
            )
        )


@dataclass
class NewReceiver:
    external_id: str
    email: str | None = None
    phone_number: str | None = None
    verifications: list | None = None
    wallets: list | None = None


def new_receiver_errors(data: NewReceiver) -> tuple[dict[str, str], tuple]:
    """Every invalid field of a new receiver, and its cleaned fields (email,
    phone, external id, verifications, parsed wallet addresses)."""
    email = str(data.email or "").strip().lower() or None
    phone = str(data.phone_number or "").strip() or None
    errors = {}
    if not email and not phone:
        errors["email"] = "email or phone_number is required"
    errors.update(validate_contact(phone_number=phone, email=email))
    external_id = str(data.external_id or "").strip()
    if not external_id or len(external_id) > 64:
        errors["external_id"] = "external_id is required (at most 64 characters)"
    verifications = data.verifications or []
    for index, item in enumerate(verifications):
        if not isinstance(item, dict):
            errors[f"verifications[{index}]"] = "must be {type, value}"
        elif error := validate_verification(
            item.get("type", ""), str(item.get("value", "")).strip()
        ):
            errors[f"verifications[{index}]"] = error
    wallets = data.wallets or []
    if not verifications and not wallets:
        errors["verifications"] = "at least one verification or wallet is required"
    parsed_wallets = []
    for index, item in enumerate(wallets):
        try:
            parsed_wallets.append(
                parse_address(item.get("address", ""), item.get("memo", ""))
                if isinstance(item, dict)
                else parse_address("", "")
            )
        except APIError as exc:
            errors[f"wallets[{index}]"] = next(
                iter((exc.extras or {}).values()), exc.message
            )
    return errors, (email, phone, external_id, verifications, parsed_wallets)


def create_receiver(
    organization: Organization, data: NewReceiver, *, actor: User | None
) -> Receiver:
    """A receiver with its verifications and, for each address given, a REGISTERED
    wallet at the organization's user-managed wallet. 409 on a used contact or
    address; 400 naming the field otherwise."""
    errors, (email, phone, external_id, verifications, parsed_wallets) = (
        new_receiver_errors(data)
    )
    if errors:
        raise APIError(extras=errors)
    with transaction.atomic():
        receiver = Receiver(
            organization=organization,
            external_id=external_id,
            email=email,
            phone_number=phone,
        )
        try:
            with transaction.atomic():
                receiver.save()
        except IntegrityError as exc:
            raise Conflict("a receiver with this email or phone number exists") from exc
        emit_receivers("receiver.created", [receiver.pk])
        for item in verifications:
            ReceiverVerification.objects.create(
                receiver=receiver,
                verification_field=item["type"],
                hashed_value=hash_verification_value(item["type"], str(item["value"])),
            )
        if parsed_wallets:
            user_managed = Wallet.objects.filter(
                organization=organization, user_managed=True, deleted_at__isnull=True
            ).first()
            if user_managed is None:
                raise APIError("the organization has no user-managed wallet")
            if len(parsed_wallets) > 1:
                raise APIError(extras={"wallets": "at most one wallet address"})
            address, memo, memo_type = parsed_wallets[0]
            _claim_address(organization.id, receiver, address)
            receiver_wallet = ReceiverWallet.objects.create(
                organization=organization,
                receiver=receiver,
                wallet=user_managed,
                stellar_address=address,
                stellar_memo=memo,
                stellar_memo_type=memo_type,
            )
            _register(receiver_wallet, actor, "address set by a user")
    return receiver


def receiver_update_errors(data: dict) -> tuple[dict[str, str], dict, dict]:
    """Every invalid field of a receiver's update, its contact changes and its
    verifications (kind: value)."""
    errors: dict[str, str] = {}
    changes: dict[str, str | None] = {}
    if "email" in data:
        changes["email"] = (str(data["email"] or "")).strip().lower() or None
    if "phone_number" in data:
        changes["phone_number"] = (str(data["phone_number"] or "")).strip() or None
    errors.update(
        validate_contact(
            phone_number=changes.get("phone_number"), email=changes.get("email")
        )
    )
    if "external_id" in data:
        external_id = str(data["external_id"] or "").strip()
        if not external_id or len(external_id) > 64:
            errors["external_id"] = "external_id cannot be empty or over 64 characters"
        changes["external_id"] = external_id
    verifications = {}
    for key, kind in PATCH_VERIFICATIONS.items():
        if key in data and data[key] not in (None, ""):
            value = str(data[key]).strip()
            if error := validate_verification(kind, value):
                errors[key] = error
            verifications[kind] = value
    return errors, changes, verifications


def update_receiver(receiver: Receiver, data: dict, *, actor: User | None) -> Receiver:
    """Contact and verification changes. Verifications are upserted even when
    confirmed, recorded as confirmed by this user (SDP). 409 on a used contact."""
    errors, changes, verifications = receiver_update_errors(data)
    if not changes and not verifications and not errors:
        errors["body"] = "nothing to update"
    if errors:
        raise APIError(extras=errors)
    with transaction.atomic():
        locked = Receiver.objects.select_for_update().get(pk=receiver.pk)
        email = changes.get("email", locked.email)
        phone = changes.get("phone_number", locked.phone_number)
        if not email and not phone:
            raise APIError(extras={"email": "email or phone_number is required"})
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:
            raise Conflict(
                "email or phone number is already used by another receiver"
            ) from exc
        now = timezone.now()
        for kind, value in verifications.items():
            ReceiverVerification.objects.update_or_create(
                receiver=locked,
                verification_field=kind,
                defaults={
                    "hashed_value": hash_verification_value(kind, value),
                    "attempts": 0,
                    "failed_at": None,
                    "confirmed_by_type": ReceiverVerification.ConfirmedBy.USER,
                    "confirmed_by_id": str(actor.pk) if actor else "",
                    "updated_at": now,
                },
            )
    return locked


def set_wallet_address(
    receiver_wallet: ReceiverWallet, *, address: str, memo: str, actor: User | None
) -> ReceiverWallet:
    """The address of a user-managed wallet; registers it (its READY payments are
    then handed off by the registration signal's listener)."""
    if not receiver_wallet.wallet.user_managed:
        raise APIError("only the address of a user-managed wallet can be changed")
    address, memo, memo_type = parse_address(address, memo)
    with transaction.atomic():
        locked = ReceiverWallet.objects.select_for_update().get(pk=receiver_wallet.pk)
        if locked.status == ReceiverWallet.Status.FLAGGED:
            raise APIError("the receiver wallet is flagged")
        _claim_address(locked.organization_id, locked.receiver, address)
        ReceiverWallet.objects.filter(pk=locked.pk).update(
            stellar_address=address, stellar_memo=memo, stellar_memo_type=memo_type
        )
        locked.refresh_from_db()
        _register(locked, actor, "address set by a user")
    return locked


def retry_invitation(receiver_wallet: ReceiverWallet) -> ReceiverWallet:
    """Invite again now (SDP clears invitation_sent_at for its job; here the message
    is written at once)."""
    if receiver_wallet.status != ReceiverWallet.Status.READY:
        raise APIError(
            "only READY receiver wallets can be invited "
            f"(status {receiver_wallet.status})"
        )
    with transaction.atomic():
        ReceiverWallet.objects.filter(pk=receiver_wallet.pk).update(
            invitation_sent_at=None
        )
        queue_invitations(
            receiver_wallet.organization,
            ReceiverWallet.objects.filter(pk=receiver_wallet.pk).select_related(
                "receiver"
            ),
        )
    receiver_wallet.refresh_from_db()
    return receiver_wallet


def unregister_wallet(receiver_wallet: ReceiverWallet, *, actor: User | None) -> None:
    """REGISTERED -> READY, clearing address, memo and OTP, so the receiver can
    register again. Refused for the user-managed wallet and while payments are in
    flight."""
    if receiver_wallet.wallet.user_managed:
        raise APIError("a user-managed wallet cannot be unregistered")
    with transaction.atomic():
        locked = ReceiverWallet.objects.select_for_update().get(pk=receiver_wallet.pk)
        if locked.status != ReceiverWallet.Status.REGISTERED:
            raise APIError(
                "only REGISTERED receiver wallets can be unregistered "
                f"(status {locked.status})"
            )
        # Refused by disbursements while payments to it are in flight.
        receiver_wallet_unregistering.send(ReceiverWallet, receiver_wallet=locked)
        old_address = locked.stellar_address
        transition(
            locked,
            to=ReceiverWallet.Status.READY,
            note="unregistered by a user",
            updates={
                "stellar_address": None,
                "stellar_memo": "",
                "stellar_memo_type": "",
                "otp_hash": "",
                "otp_created_at": None,
                "otp_confirmed_at": None,
                "otp_confirmed_with": "",
                "otp_attempts": 0,
                "sep24_transaction_id": "",
                "invitation_sent_at": None,
            },
            actor=actor,
        )
        still_used = ReceiverWallet.objects.filter(
            receiver_id=locked.receiver_id, stellar_address=old_address
        ).exists()
        if old_address and not still_used:
            ReceiverStellarAddress.objects.filter(
                receiver_id=locked.receiver_id, stellar_address=old_address
            ).delete()


def flag_wallet(receiver_wallet: ReceiverWallet, *, actor: User | None) -> None:
    with transaction.atomic():
        transition(
            receiver_wallet,
            to=ReceiverWallet.Status.FLAGGED,
            note="flagged",
            actor=actor,
        )
        emit_receiver_wallets("receiver_wallet.flagged", [receiver_wallet.pk])


def unflag_wallet(receiver_wallet: ReceiverWallet, *, actor: User | None) -> None:
    """Back to the status it was flagged from."""
    last = (
        receiver_wallet.status_changes.filter(to_status=ReceiverWallet.Status.FLAGGED)
        .order_by("-created_at", "-pk")
        .first()
    )
    previous = last.from_status if last else ReceiverWallet.Status.READY
    if previous not in (ReceiverWallet.Status.READY, ReceiverWallet.Status.REGISTERED):
        previous = ReceiverWallet.Status.READY
    transition(receiver_wallet, to=previous, note="unflagged", actor=actor)
