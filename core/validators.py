"""Field rules shared by CSV ingestion and the receiver and payment forms
(reference §5): one definition of a valid phone, email, amount, verification
value, Stellar address and memo."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import phonenumbers
from stellar_sdk import MuxedAccount, StrKey

PHONE_RE = re.compile(r"^\+[1-9][0-9]{9,14}$")
EMAIL_RE = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
AMOUNT_RE = re.compile(r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
YEAR_MONTH_RE = re.compile(r"^[0-9]{4}-[0-9]{2}$")
HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")
# Stellar amounts are int64 stroops.
MAX_AMOUNT = Decimal("922337203685.4775807")
PHONE_ERROR = "invalid phone format. Correct format: +380445555555"


def parse_amount(raw: str) -> tuple[Decimal | None, str | None]:
    if not AMOUNT_RE.match(raw):
        return None, "invalid amount: not a valid number"
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None, "invalid amount: not a valid number"
    if value <= 0:
        return None, "invalid amount: must be greater than zero"
    _, _, decimals = raw.partition(".")
    if len(decimals) > 7:
        return None, (
            "invalid amount: exceeds the maximum supported precision of 7 decimal "
            "places"
        )
    if value > MAX_AMOUNT:
        return None, "invalid amount: exceeds the maximum supported value"
    return value.quantize(Decimal("1e-7")), None


def validate_phone(phone: str) -> str | None:
    if not PHONE_RE.match(phone):
        return PHONE_ERROR
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return PHONE_ERROR
    if not phonenumbers.is_valid_number(number):
        return PHONE_ERROR
    return None


def validate_email(email: str) -> str | None:
    if len(email) > 254 or not EMAIL_RE.match(email):
        return "invalid email format"
    return None


def validate_verification(kind: str, value: str, today: date) -> str | None:
    if kind == "DATE_OF_BIRTH":
        if not DATE_RE.match(value):
            return "invalid date of birth format. Correct format: 1990-01-30"
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            return "invalid date of birth format. Correct format: 1990-01-30"
        if parsed > today:
            return "date of birth cannot be in the future"
    elif kind == "YEAR_MONTH":
        if not YEAR_MONTH_RE.match(value):
            return "invalid year/month format. Correct format: 1990-12"
        try:
            parsed = date.fromisoformat(value + "-01")
        except ValueError:
            return "invalid year/month format. Correct format: 1990-12"
        if parsed > today.replace(day=1):
            return "year/month cannot be in the future"
    elif kind == "PIN":
        if not 4 <= len(value) <= 8:
            return (
                "invalid pin length. Cannot have less than 4 or more than 8 "
                "characters in pin"
            )
    elif kind == "NATIONAL_ID_NUMBER":
        if not value:
            return "national id cannot be empty"
        if len(value) > 50:
            return (
                "invalid national id. Cannot have more than 50 characters in "
                "national id"
            )
    return None


CONTRACT_MEMO_REFUSED = "a contract address (C...) takes no memo"
MUXED_MEMO_REFUSED = "a muxed address (M...) carries its own id and takes no memo"
# The longest address stored for a destination: a muxed account (M...).
ADDRESS_MAX_LENGTH = 69


def validate_wallet_address(address: str) -> str | None:
    """None for an address the platform can pay: a Stellar account (G...), a
    muxed account (M..., a G account and a 64-bit id) or a contract account
    (C..., paid with the asset contract's transfer). Neither M... nor C... takes
    a memo, see memo_refused."""
    if (
        StrKey.is_valid_ed25519_public_key(address)
        or StrKey.is_valid_med25519_public_key(address)
        or StrKey.is_valid_contract(address)
    ):
        return None
    return (
        "invalid wallet address. Must be a valid Stellar public key or contract address"
    )


def memo_refused(address: str) -> str | None:
    """Why a memo cannot go with this (valid) address, or None when it can."""
    if address.startswith("C"):
        return CONTRACT_MEMO_REFUSED
    if address.startswith("M"):
        return MUXED_MEMO_REFUSED
    return None


def base_account(address: str) -> str:
    """The G account behind an address: itself, or a muxed address's base."""
    if address.startswith("M") and StrKey.is_valid_med25519_public_key(address):
        return MuxedAccount.from_account(address).account_id
    return address


def detect_memo(memo: str) -> tuple[str, str | None]:
    """SDP's order: an unsigned 64-bit id, else text of at most 28 bytes, else a
    32-byte hash in hex. Returns (memo_type, error)."""
    if memo.isdigit() and memo.isascii() and int(memo) < 2**64:
        return "id", None
    if len(memo.encode()) <= 28:
        return "text", None
    if HEX64_RE.match(memo):
        return "hash", None
    return (
        "",
        "invalid wallet address memo. For more information, visit https://docs.stellar.org/learn/encyclopedia/transactions-specialized/memos",
    )
