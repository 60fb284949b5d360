"""Receiver registration: a one-time code to the contact the payer uploaded, then
the code and a verification value bind the wallet's account to the receiver.

Limits: a code is valid 5 minutes; a contact has 5 tries, which a new code does
not renew (they start again once the contact's last code is an hour old); codes
are sent at most once a minute and 5 times an hour per contact and per SEP-24
transaction (``receivers.otp_throttle``); a verification value allows 15 tries,
then stays locked until an operator resets it. Replies never tell whether a
contact exists: an unknown contact gets the same answer as a known one (the
verification field the organization's latest upload asks), and the attempt is
recorded for support. On testnet, SDP's ``000000`` / ``999999`` codes work as in
SDP.
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
from messaging.models import Message
from messaging.services import queue_message
from messaging.texts import render_receiver_otp
from receivers import otp_throttle
from receivers.models import (
    Receiver,
    ReceiverRegistrationAttempt,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
    Sep24Transaction,
    VerificationField,
)
from receivers.signals import receiver_wallet_registered
from receivers.verification import check_verification_value
from sdp.api import APIError
from sdp.fsm import transition

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
    wallet this wallet app may register; returns the verification field to ask.

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
        return default_verification_field(organization.id)
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
    return verification_field_for(receiver)


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
    (400_2 ... 400_6, or 400_0 for malformed input).
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
    verification_value: str,
) -> ReceiverWallet | RegistrationError:
    receiver = _find_receiver(sep24_transaction.organization_id, kind, contact)
    if receiver is None:
        _record_attempt(sep24_transaction, kind, contact)
        # The same answer as a wrong code: the contact's existence stays unknown.
        return RegistrationError("400_6")
    registered = _already_registered_wallet(receiver, sep24_transaction)
    if registered is not None:
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
        return RegistrationError("400_6")
    otp_error = _check_otp(receiver_wallet, otp, [w.pk for w in receiver_wallets])
    if otp_error is not None:
        return otp_error
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
