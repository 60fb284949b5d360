"""Receiver registration: a one-time code to the contact the payer uploaded, then
the code and a verification value bind the wallet's account to the receiver.

Limits: a code is valid 5 minutes; a contact has 5 tries, which a new code does
not renew (they start again once the contact's last code is an hour old); codes
are sent at most once a minute and 5 times an hour per contact and per SEP-24
transaction (``receivers.otp_throttle``); a verification value allows 15 tries,
then stays locked until an operator resets it.

Replies never tell whether a contact exists. The answer to the contact step does
not depend on the contact at all: it names the organization's default question
(``default_verification_field``, what its latest upload asks), the same for every
receiver and for a stranger, whose attempt is only recorded for support. Which
fact a receiver is really asked is told only once the one-time code has been
proven (the code proves control of the contact, so telling it then leaks
nothing): a verification naming another field than the receiver's, with the
right code, is answered ``400_7`` with ``extras.verification_field`` = the
receiver's field, and no try is counted; the client asks that fact and sends the
same code again. A wrong code is ``400_6`` whatever the field. The verify step
answers a stranger as a receiver whose code never matches (``StrangerCode``
keeps the state a receiver's code would have: 400_5 once 5 minutes old, 400_4
from the 5th wrong try). On testnet, SDP's ``000000``
/ ``999999`` codes work as in SDP, but the always-valid code never reveals a
receiver's field, and after it a stranger gets a receiver's 400_2.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from stellar_sdk import Network

from auth_org.models import AuditEntry, User
from core.api import APIError
from core.fsm import transition
from messaging.models import Message
from messaging.services import queue_message
from messaging.texts import render_receiver_otp
from receivers import otp_throttle
from receivers.events import emit_receiver_wallets
from receivers.models import (
    Receiver,
    ReceiverRegistrationAttempt,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
    Sep24Transaction,
    StrangerCode,
    VerificationField,
)
from receivers.signals import receiver_wallet_registered
from receivers.verification import check_verification_value

logger = logging.getLogger(__name__)

OTP_VALIDITY = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
# The tries belong to the contact, not to a code: a new code keeps them, unless
# the contact's last code is older than this.
OTP_ATTEMPTS_WINDOW = timedelta(seconds=otp_throttle.WINDOW_SECONDS)
# SDP's (internal/data): on testnet these codes always pass / always fail.
TESTNET_ALWAYS_VALID_OTP = "000000"
TESTNET_ALWAYS_INVALID_OTP = "999999"
TESTNET_PASSPHRASES = (
    Network.TESTNET_NETWORK_PASSPHRASE,
    Network.FUTURENET_NETWORK_PASSPHRASE,
)

# SDP's error codes for the registration answers (reference §4.1).
ERROR_MESSAGES = {
    "400_0": "The request was invalid in some way.",
    "400_1": "reCAPTCHA token invalid",
    "400_2": "The information you provided could not be found",
    "400_3": "The number of attempts to confirm the verification value "
    "exceeded the max attempts",
    "400_4": "The maximum number of attempts for this code was reached; "
    "request a new code",
    "400_5": "The code has expired; request a new code",
    "400_6": "The code is not valid",
    # Ours: the code was right but the receiver is asked another fact, named in
    # extras.verification_field (told only after the code is proven).
    "400_7": "The code is valid; answer the verification field given instead",
}


class RegistrationError(APIError):
    status_code = 400

    def __init__(self, code: str, message: str | None = None, **kw):
        super().__init__(message or ERROR_MESSAGES[code], error_code=code, **kw)
        self.code = code


# --- contacts -------------------------------------------------------------


def normalize_contact(phone_number: str = "", email: str = "") -> tuple[str, str]:
    """``("phone", "+E164")`` or ``("email", "lower-cased")``; exactly one given."""
    phone_number, email = (phone_number or "").strip(), (email or "").strip()
    if bool(phone_number) == bool(email):
        raise RegistrationError(
            "400_0", extras={"contact": "Give a phone number or an email address."}
        )
    if email:
        if "@" not in email or len(email) > 254:
            raise RegistrationError("400_0", extras={"email": "Invalid email address."})
        return "email", email.lower()
    try:
        parsed = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise RegistrationError(
            "400_0",
            extras={
                "phone_number": "Invalid phone number; start with + and the "
                "country code."
            },
        )
    return "phone", phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.E164
    )


def _find_receiver(organization_id, kind: str, contact: str) -> Receiver | None:
    lookup = {"phone_number__iexact" if kind == "phone" else "email__iexact": contact}
    return Receiver.objects.filter(organization_id=organization_id, **lookup).first()


def _candidate_wallets(receiver: Receiver, sep24_transaction: Sep24Transaction):
    """The receiver's wallets this wallet app may register: READY, at an enabled
    wallet provider whose client domain is the one that authenticated."""
    wallets = ReceiverWallet.objects.filter(
        receiver=receiver,
        status=ReceiverWallet.Status.READY,
        wallet__enabled=True,
        wallet__deleted_at__isnull=True,
    )
    if sep24_transaction.client_domain:
        wallets = wallets.filter(
            wallet__sep_10_client_domain=sep24_transaction.client_domain
        )
    return wallets.order_by("pk")


def _record_attempt(sep24_transaction: Sep24Transaction, kind: str, contact: str):
    ReceiverRegistrationAttempt.objects.create(
        organization_id=sep24_transaction.organization_id,
        phone_number=contact if kind == "phone" else "",
        email=contact if kind == "email" else "",
        client_domain=sep24_transaction.client_domain,
        transaction_id=str(sep24_transaction.id),
        wallet_address=sep24_transaction.account,
        wallet_memo=sep24_transaction.memo,
    )


# --- strangers: the same answers as a receiver ------------------------------------


def _contact_digest(contact: str) -> str:
    return salted_hmac("receivers.stranger", contact, algorithm="sha256").hexdigest()


def _stranger_code_sent(organization_id, contact: str) -> None:
    """A code "sent" to a contact matching no receiver: its tries carry over
    (and start again) exactly as a receiver's do in ``request_otp``."""
    now = timezone.now()
    digest = _contact_digest(contact)
    with transaction.atomic():
        row = (
            StrangerCode.objects.select_for_update()
            .filter(organization_id=organization_id, contact_digest=digest)
            .first()
        )
        if row is None:
            try:
                with transaction.atomic():
                    StrangerCode.objects.create(
                        organization_id=organization_id,
                        contact_digest=digest,
                        otp_created_at=now,
                    )
                return
            except IntegrityError:  # created meanwhile: update it instead
                row = StrangerCode.objects.select_for_update().get(
                    organization_id=organization_id, contact_digest=digest
                )
        recent = row.otp_created_at > now - OTP_ATTEMPTS_WINDOW
        StrangerCode.objects.filter(pk=row.pk).update(
            otp_created_at=now, otp_attempts=row.otp_attempts if recent else 0
        )


# A stranger's code state is kept this long, then forgotten (the rows grow with
# each unknown contact that asks for a code; the send limits bound how fast).
STRANGER_CODE_RETENTION = timedelta(days=30)


def delete_stale_stranger_codes() -> int:
    """Forget the code state of strangers who have not asked for a code within
    STRANGER_CODE_RETENTION; returns how many were forgotten."""
    cutoff = timezone.now() - STRANGER_CODE_RETENTION
    deleted, _ = StrangerCode.objects.filter(otp_created_at__lt=cutoff).delete()
    return deleted


def _stranger_code_error(organization_id, contact: str, otp: str) -> RegistrationError:
    """What ``_check_otp`` answers a receiver whose code never matches (and the
    verification after the testnet's always-valid code): 400_6, 400_5 once the
    code is 5 minutes old, 400_4 from the 5th wrong try; the tries are counted."""
    if demo_otp() and hmac.compare_digest(otp, demo_otp()):
        return RegistrationError("400_6")  # the localnet's shortcut: not a secret
    magic = _testnet_magic_otp(otp)
    if magic is True:  # a receiver would now be asked a value not found
        return RegistrationError("400_2")
    digest = _contact_digest(contact)
    row = (
        StrangerCode.objects.select_for_update()
        .filter(organization_id=organization_id, contact_digest=digest)
        .first()
    )
    if row is None:
        return RegistrationError("400_6")
    if row.otp_attempts >= OTP_MAX_ATTEMPTS:
        return RegistrationError("400_4")
    if magic is None and row.otp_created_at + OTP_VALIDITY < timezone.now():
        return RegistrationError("400_5")
    attempts = row.otp_attempts + 1
    StrangerCode.objects.filter(pk=row.pk).update(otp_attempts=attempts)
    return RegistrationError("400_4" if attempts >= OTP_MAX_ATTEMPTS else "400_6")


def default_verification_field(organization_id) -> str:
    """What an unknown contact is asked for: the fact the organization's newest
    unconfirmed verification asks (what a receiver of its latest upload would be
    asked), so the answer does not tell a receiver from a stranger."""
    latest = (
        ReceiverVerification.objects.filter(
            receiver__organization_id=organization_id, confirmed_at__isnull=True
        )
        .order_by("-created_at")
        .values_list("verification_field", flat=True)
        .first()
    )
    return latest or VerificationField.DATE_OF_BIRTH


def contact_step_verification_field(organization_id) -> str:
    """The field the contact step names, for every contact alike (known or not):
    never the receiver's own, which is told only after the code is proven."""
    return default_verification_field(organization_id)


def verification_field_for(receiver: Receiver) -> str:
    """Which fact to ask the receiver for: their unconfirmed one, newest first."""
    verification = receiver.verifications.order_by(
        F("confirmed_at").asc(nulls_first=True), "-updated_at"
    ).first()
    return (
        verification.verification_field
        if verification
        else default_verification_field(receiver.organization_id)
    )


def is_already_registered(sep24_transaction: Sep24Transaction) -> bool:
    """Whether this account and memo already hold a registered receiver wallet
    at this wallet provider (the pages then say so instead of asking again)."""
    wallets = ReceiverWallet.objects.filter(
        organization_id=sep24_transaction.organization_id,
        status=ReceiverWallet.Status.REGISTERED,
        stellar_address=sep24_transaction.account,
        stellar_memo=sep24_transaction.memo,
    )
    if sep24_transaction.client_domain:
        wallets = wallets.filter(
            wallet__sep_10_client_domain=sep24_transaction.client_domain
        )
    return wallets.exists()


# --- one-time codes ---------------------------------------------------------


def _hash_otp(otp: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = salted_hmac("receivers.otp", f"{salt}:{otp}", algorithm="sha256")
    return f"{salt}${digest.hexdigest()}"


def _otp_matches(stored: str, otp: str) -> bool:
    if "$" not in stored:
        return False
    salt, _ = stored.split("$", 1)
    return hmac.compare_digest(_hash_otp(otp, salt), stored)


def demo_otp() -> str:
    """The documented demo shortcut code: only on the local network and never in
    production; empty (off) everywhere else."""
    if settings.PRODUCTION or settings.NETWORK_PASSPHRASE != (
        settings.LOCALNET_PASSPHRASE
    ):
        return ""
    return settings.REGISTRATION_DEMO_OTP


def _testnet_magic_otp(otp: str) -> bool | None:
    """SDP's testnet codes, so its demos and scripts run unchanged: on testnet
    and futurenet (never pubnet, never the localnet), ``000000`` always passes
    and ``999999`` always fails, whatever code was sent. None: not a magic code
    here."""
    if settings.NETWORK_PASSPHRASE not in TESTNET_PASSPHRASES:
        return None
    if hmac.compare_digest(otp, TESTNET_ALWAYS_VALID_OTP):
        return True
    if hmac.compare_digest(otp, TESTNET_ALWAYS_INVALID_OTP):
        return False
    return None


def _otp_text(organization, otp: str) -> str:
    return render_receiver_otp(
        organization.otp_message_template,
        organization_name=organization.display_name,
        otp=otp,
    )


def _channel_for(organization, kind: str) -> str:
    if kind == "email":
        return Message.Channel.EMAIL
    for channel in organization.message_channel_priority:
        if channel in (Message.Channel.SMS, Message.Channel.WHATSAPP):
            return channel
    return Message.Channel.SMS


def request_otp(
    sep24_transaction: Sep24Transaction, *, phone_number: str = "", email: str = ""
) -> str:
    """Send a fresh code to the contact when it belongs to a receiver with a
    wallet this wallet app may register; returns the verification field to ask
    first: the organization's default, the same for every contact (a receiver
    asked another fact learns it from ``verify_and_register``'s ``400_7`` once
    the code is proven).

    The answer is the same whether or not the contact matched (a miss is only
    recorded), and so are the limits: raises OTPThrottled (429, with the seconds
    to wait) past the sends allowed per contact and per SEP-24 transaction, and
    RegistrationError 400_0 for a malformed contact.
    """
    kind, contact = normalize_contact(phone_number, email)
    organization = sep24_transaction.organization
    otp_throttle.check_and_record_send(organization.id, contact, sep24_transaction.id)
    receiver = _find_receiver(organization.id, kind, contact)
    wallet_ids = (
        list(
            _candidate_wallets(receiver, sep24_transaction).values_list("pk", flat=True)
        )
        if receiver
        else []
    )
    if not wallet_ids:
        _record_attempt(sep24_transaction, kind, contact)
        _stranger_code_sent(organization.id, contact)
        return contact_step_verification_field(organization.id)
    otp = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        now = timezone.now()
        # A new code replaces the old one but not the count of wrong tries: the
        # tries are the contact's (the most any of its wallets has), and start
        # again only once its last code is older than OTP_ATTEMPTS_WINDOW.
        current = list(
            ReceiverWallet.objects.select_for_update()
            .filter(pk__in=wallet_ids)
            .order_by("pk")
            .values_list("otp_attempts", "otp_created_at")
        )
        last_code = max((at for _, at in current if at), default=None)
        attempts = (
            max(count for count, _ in current)
            if last_code and last_code > now - OTP_ATTEMPTS_WINDOW
            else 0
        )
        ReceiverWallet.objects.filter(pk__in=wallet_ids).update(
            otp_hash=_hash_otp(otp),
            otp_created_at=now,
            otp_attempts=attempts,
            otp_confirmed_at=None,
        )
        queue_message(
            tenant_id=organization.id,
            kind=Message.Kind.RECEIVER_OTP,
            channel=_channel_for(organization, kind),
            recipient=contact,
            body=_otp_text(organization, otp),
            title=f"Your One-Time Password: {otp}",
            receiver_id=receiver.pk,
            receiver_wallet_id=wallet_ids[0],
        )
    return contact_step_verification_field(organization.id)


# --- verification and registration -------------------------------------------


def verify_and_register(
    sep24_transaction: Sep24Transaction,
    *,
    phone_number: str = "",
    email: str = "",
    otp: str,
    verification_field: str,
    verification_value: str,
) -> ReceiverWallet:
    """Check the code and the verification value; on success, in one database
    transaction: the receiver wallet becomes REGISTERED with the wallet's account
    and memo, the verification is confirmed, the SEP-24 transaction completes,
    and ``receiver_wallet_registered`` is sent (its listeners hand the READY
    payments to the TSS inside the same transaction).

    Failed tries are counted even though the call raises RegistrationError
    (400_2 ... 400_6, or 400_0 for malformed input). With the right code but
    another field than the receiver's: 400_7 naming the receiver's field in
    ``extras["verification_field"]``, no try counted, the code still valid.
    """
    kind, contact = normalize_contact(phone_number, email)
    if verification_field not in VerificationField.values:
        raise RegistrationError(
            "400_0", extras={"verification_field": "Unknown verification field."}
        )
    with transaction.atomic():
        outcome = _verify_locked(
            sep24_transaction,
            kind=kind,
            contact=contact,
            otp=(otp or "").strip(),
            verification_field=verification_field,
            verification_value=verification_value,
        )
    # Raised after the commit so the counters of failed tries are kept.
    if isinstance(outcome, RegistrationError):
        raise outcome
    return outcome


def field_after_code(
    sep24_transaction: Sep24Transaction,
    *,
    phone_number: str = "",
    email: str = "",
    otp: str,
    verification_field: str,
) -> str | None:
    """The code alone, for a page whose answer is not yet in the asked field's
    format: the receiver's own field when the code is right and they are asked
    another one (as ``verify_and_register``'s 400_7), None when the code is right
    and the field is theirs. A wrong code counts and raises as there (400_4 ...
    400_6); nothing is registered and no verification try is counted."""
    kind, contact = normalize_contact(phone_number, email)
    with transaction.atomic():
        outcome = _verify_locked(
            sep24_transaction,
            kind=kind,
            contact=contact,
            otp=(otp or "").strip(),
            verification_field=verification_field,
            verification_value=None,
        )
    if isinstance(outcome, RegistrationError):
        if outcome.code == "400_7":
            return outcome.extras["verification_field"]
        raise outcome
    return None


def _already_registered_wallet(receiver: Receiver, sep24_transaction: Sep24Transaction):
    return (
        ReceiverWallet.objects.filter(
            receiver=receiver,
            status=ReceiverWallet.Status.REGISTERED,
            stellar_address=sep24_transaction.account,
            stellar_memo=sep24_transaction.memo,
        )
        .order_by("pk")
        .first()
    )


def _check_otp(
    receiver_wallet: ReceiverWallet, otp: str, contact_wallet_ids: list
) -> RegistrationError | None:
    if demo_otp() and hmac.compare_digest(otp, demo_otp()):
        return None
    magic = _testnet_magic_otp(otp)
    if magic is True:
        logger.warning("one-time code accepted: the testnet code was used")
        return None
    if receiver_wallet.otp_attempts >= OTP_MAX_ATTEMPTS:
        return RegistrationError("400_4")
    if magic is None:
        if not receiver_wallet.otp_hash or receiver_wallet.otp_created_at is None:
            return RegistrationError("400_6")
        if receiver_wallet.otp_created_at + OTP_VALIDITY < timezone.now():
            return RegistrationError("400_5")
        if _otp_matches(receiver_wallet.otp_hash, otp):
            return None
    # A wrong try counts for the contact: every wallet its code went to.
    attempts = receiver_wallet.otp_attempts + 1
    ReceiverWallet.objects.filter(pk__in=contact_wallet_ids).update(
        otp_attempts=Greatest(F("otp_attempts"), attempts)
    )
    return RegistrationError("400_4" if attempts >= OTP_MAX_ATTEMPTS else "400_6")


def _check_verification(
    receiver: Receiver, field: str, value: str
) -> ReceiverVerification | RegistrationError:
    verification = (
        ReceiverVerification.objects.select_for_update()
        .filter(receiver=receiver, verification_field=field)
        .first()
    )
    if verification is None:
        return RegistrationError("400_2")
    if verification.attempts >= ReceiverVerification.MAX_ATTEMPTS:
        return RegistrationError("400_3")
    if check_verification_value(verification, value):
        return verification
    ReceiverVerification.objects.filter(pk=verification.pk).update(
        attempts=F("attempts") + 1, failed_at=timezone.now()
    )
    return RegistrationError("400_2")


def _verify_locked(
    sep24_transaction: Sep24Transaction,
    *,
    kind: str,
    contact: str,
    otp: str,
    verification_field: str,
    verification_value: str | None,
) -> ReceiverWallet | RegistrationError | None:
    """None: the code alone was checked (``verification_value`` None), right,
    and the field is the receiver's."""
    receiver = _find_receiver(sep24_transaction.organization_id, kind, contact)
    if receiver is None:
        _record_attempt(sep24_transaction, kind, contact)
        # The answers a receiver's wrong code gets: existence stays unknown.
        return _stranger_code_error(sep24_transaction.organization_id, contact, otp)
    registered = _already_registered_wallet(receiver, sep24_transaction)
    if registered is not None and verification_value is not None:
        _complete_transaction(sep24_transaction, registered)
        return registered
    # Lock order: receiver wallet, then verification (as everywhere here).
    receiver_wallets = list(
        _candidate_wallets(receiver, sep24_transaction).select_for_update(of=("self",))
    )
    receiver_wallet = next((w for w in receiver_wallets if w.otp_hash), None) or next(
        iter(receiver_wallets), None
    )
    if receiver_wallet is None:
        _record_attempt(sep24_transaction, kind, contact)
        return _stranger_code_error(sep24_transaction.organization_id, contact, otp)
    otp_error = _check_otp(receiver_wallet, otp, [w.pk for w in receiver_wallets])
    if otp_error is not None:
        return otp_error
    asked = _field_to_ask(receiver, verification_field, otp)
    if asked is not None:
        return RegistrationError("400_7", extras={"verification_field": asked})
    if verification_value is None:
        return None
    verification = _check_verification(receiver, verification_field, verification_value)
    if isinstance(verification, RegistrationError):
        return verification
    address_error = _claim_address(receiver, sep24_transaction.account)
    if address_error is not None:
        return address_error
    now = timezone.now()
    transition(
        receiver_wallet,
        to=ReceiverWallet.Status.REGISTERED,
        note="registered by the receiver through SEP-24",
        updates={
            "stellar_address": sep24_transaction.account,
            "stellar_memo": sep24_transaction.memo,
            "stellar_memo_type": ReceiverWallet.MemoType.ID
            if sep24_transaction.memo
            else "",
            "otp_hash": "",
            "otp_confirmed_at": now,
            "otp_confirmed_with": contact,
            "sep24_transaction_id": str(sep24_transaction.id),
        },
    )
    emit_receiver_wallets("receiver_wallet.registered", [receiver_wallet.pk])
    ReceiverVerification.objects.filter(pk=verification.pk).update(
        confirmed_at=now,
        confirmed_by_type=ReceiverVerification.ConfirmedBy.RECEIVER,
        confirmed_by_id=str(receiver.pk),
        verification_channel="EMAIL" if kind == "email" else "SMS",
    )
    _complete_transaction(sep24_transaction, receiver_wallet)
    receiver_wallet_registered.send(
        sender=ReceiverWallet, receiver_wallet=receiver_wallet
    )
    return receiver_wallet


def _field_to_ask(receiver: Receiver, given: str, otp: str) -> str | None:
    """Once the code is proven: the receiver's field when the client asked
    another one (None when it asked one the receiver has). The testnet's
    always-valid code proves nothing, so it never reveals the field."""
    if receiver.verifications.filter(verification_field=given).exists():
        return None
    if _testnet_magic_otp(otp) is not None:
        return None
    field = verification_field_for(receiver)
    return field if field != given else None


def _claim_address(receiver: Receiver, address: str) -> RegistrationError | None:
    """A Stellar address belongs to one receiver of the organization."""
    taken = RegistrationError(
        "400_0", "This Stellar account is already registered to another receiver."
    )
    owners = ReceiverStellarAddress.objects.filter(
        organization_id=receiver.organization_id, stellar_address=address
    )
    if owners.exclude(receiver=receiver).exists():
        return taken
    try:
        with transaction.atomic():
            ReceiverStellarAddress.objects.get_or_create(
                organization_id=receiver.organization_id,
                stellar_address=address,
                defaults={"receiver": receiver},
            )
    except IntegrityError:  # another receiver claimed it concurrently
        return taken
    return None


def _complete_transaction(
    sep24_transaction: Sep24Transaction, receiver_wallet: ReceiverWallet
) -> None:
    now = timezone.now()
    # Registered, not completed: SEP-24's "completed" waits for the payment.
    Sep24Transaction.objects.filter(pk=sep24_transaction.pk).update(
        receiver_wallet=receiver_wallet, registered_at=now, updated_at=now
    )
    sep24_transaction.receiver_wallet = receiver_wallet
    sep24_transaction.registered_at = now


# --- operator actions ---------------------------------------------------------


@transaction.atomic
def reset_verification_attempts(
    verification: ReceiverVerification, *, actor: User | None = None
) -> ReceiverVerification:
    """Unlock a verification value after too many wrong tries (operator action,
    audited)."""
    ReceiverVerification.objects.filter(pk=verification.pk).update(
        attempts=0, failed_at=None
    )
    AuditEntry.objects.create(
        organization_id=verification.receiver.organization_id,
        actor=actor,
        action="receiver_verification.reset_attempts",
        object_type="ReceiverVerification",
        object_id=str(verification.pk),
        changes={"attempts": [verification.attempts, 0]},
    )
    verification.attempts = 0
    verification.failed_at = None
    return verification
