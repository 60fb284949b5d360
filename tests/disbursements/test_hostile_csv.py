# ruff: noqa: E501, RUF001 - a table of literal hostile inputs reads best one per line
"""Hostile CSV uploads: each case asserts its exact error and that nothing was
written (no receiver, wallet, verification or payment; the draft stays DRAFT)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from stellar_sdk import Keypair, MuxedAccount

from disbursements.models import Payment
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
)
from tests.factories import DisbursementFactory

pytestmark = pytest.mark.django_db

PARSE = "could not parse csv file"
PHONE_ERR = "invalid phone format. Correct format: +380445555555"
NOT_NUMBER = "invalid amount: not a valid number"
NOT_POSITIVE = "invalid amount: must be greater than zero"
PRECISION = (
    "invalid amount: exceeds the maximum supported precision of 7 decimal places"
)
TOO_BIG = "invalid amount: exceeds the maximum supported value"
DOB_FORMAT = "invalid date of birth format. Correct format: 1990-01-30"
YM_FORMAT = "invalid year/month format. Correct format: 1990-12"
ADDRESS_ERR = (
    "invalid wallet address. Must be a valid Stellar public key or contract address"
)
CONTRACT_MEMO = "a contract address (C...) takes no memo"
MUXED_MEMO = "a muxed address (M...) carries its own id and takes no memo"
MEMO_ERR = (
    "invalid wallet address memo. For more information, visit "
    "https://docs.stellar.org/learn/encyclopedia/transactions-specialized/memos"
)
EMAIL_ERR = "invalid email format"

G1 = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"
G2 = Keypair.from_raw_ed25519_seed(bytes([2]) * 32).public_key
G3 = Keypair.from_raw_ed25519_seed(bytes([3]) * 32).public_key
C1 = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE"
MUXED = MuxedAccount(G1, 42).account_muxed
SEED = Keypair.random().secret

PHONE = "phone,id,amount,verification\n"
EMAIL = "email,id,amount,verification\n"
PHONE_WALLET = "phone,id,amount,walletAddress,walletAddressMemo\n"
EMAIL_WALLET = "email,id,amount,walletAddress\n"


def row_error(line: int, field: str, message: str) -> dict:
    return {"error": PARSE, "extras": {f"line {line} - {field}": message}}


def file_error(message: str) -> dict:
    return {"error": PARSE, "extras": {"file": message}}


def header_error(contact_type: str, *problems: str) -> dict:
    return {
        "error": f"CSV columns are not valid for registration contact type "
        f"{contact_type}: " + "; ".join(problems)
    }


def phone(value: str) -> str:
    return PHONE + f"{value},r-1,10,1990-01-30\n"


def amount(value: str) -> str:
    return PHONE + f"+14155550101,r-1,{value},1990-01-30\n"


def dob(value: str) -> str:
    return PHONE + f"+14155550101,r-1,10,{value}\n"


def address(value: str, memo: str = "") -> str:
    return PHONE_WALLET + f"+14155550101,r-1,10,{value},{memo}\n"


# (id, contact type, verification field, content, expected body)
CASES = [
    # --- phones
    (
        "phone-too-short",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+1"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-no-plus",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("14155550101"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-trailing-letter",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+14155550101x"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-invalid-number",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+1415555010"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-zero-country",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+00000000000"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-empty",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone(""),
        row_error(2, "phone", "phone cannot be empty"),
    ),
    (
        "phone-formula",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("=1+2"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-arabic-digits",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+١٤١٥٥٥٥٠١٠١"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-too-long",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+1415555010123456"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-spaces-inside",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("+1 415 555 0101"),
        row_error(2, "phone", PHONE_ERR),
    ),
    (
        "phone-html",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        phone("<b>+14155550101</b>"),
        row_error(2, "phone", PHONE_ERR),
    ),
    # --- ids
    (
        "id-empty",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,,10,1990-01-30\n",
        row_error(2, "id", "id cannot be empty"),
    ),
    (
        "id-65-chars",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + f"+14155550101,{'x' * 65},10,1990-01-30\n",
        row_error(2, "id", "id cannot be longer than 64 characters"),
    ),
    (
        "id-blank-spaces",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,   ,10,1990-01-30\n",
        row_error(2, "id", "id cannot be empty"),
    ),
    # --- amounts
    (
        "amount-zero",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("0"),
        row_error(2, "amount", NOT_POSITIVE),
    ),
    (
        "amount-negative",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("-5"),
        row_error(2, "amount", NOT_POSITIVE),
    ),
    (
        "amount-negative-zero",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("-0"),
        row_error(2, "amount", NOT_POSITIVE),
    ),
    (
        "amount-zero-8-decimals",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("0.00000000"),
        row_error(2, "amount", NOT_POSITIVE),
    ),
    (
        "amount-exponent",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("1e3"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-negative-exponent",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("1.5e-3"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-8-decimals",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("1.00000001"),
        row_error(2, "amount", PRECISION),
    ),
    (
        "amount-8-decimals-trailing-zero",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("1.50000000"),
        row_error(2, "amount", PRECISION),
    ),
    (
        "amount-text",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("abc"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-empty",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount(""),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-nan",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("NaN"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-infinity",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("Infinity"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-thousands-separator",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount('"1,000"'),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-over-int64",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("922337203685.4775808"),
        row_error(2, "amount", TOO_BIG),
    ),
    (
        "amount-hex",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("0x10"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-plus-sign",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("+5"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-formula",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("=1+1"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-at-formula",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("@SUM(1)"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-arabic-digits",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("١٠"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-currency",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("$10"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    (
        "amount-two-dots",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        amount("1.2.3"),
        row_error(2, "amount", NOT_NUMBER),
    ),
    # --- verification values
    (
        "dob-bad-month",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        dob("1990-13-01"),
        row_error(2, "verification", DOB_FORMAT),
    ),
    (
        "dob-european-order",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        dob("30-01-1990"),
        row_error(2, "verification", DOB_FORMAT),
    ),
    (
        "dob-future",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        dob("2999-01-01"),
        row_error(2, "verification", "date of birth cannot be in the future"),
    ),
    (
        "dob-empty",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        dob(""),
        row_error(2, "verification", DOB_FORMAT),
    ),
    (
        "dob-feb-30",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        dob("1990-02-30"),
        row_error(2, "verification", DOB_FORMAT),
    ),
    (
        "dob-with-time",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        dob("1990-01-30T00:00"),
        row_error(2, "verification", DOB_FORMAT),
    ),
    (
        "year-month-bad-month",
        "PHONE_NUMBER",
        "YEAR_MONTH",
        dob("1990-13"),
        row_error(2, "verification", YM_FORMAT),
    ),
    (
        "year-month-slash",
        "PHONE_NUMBER",
        "YEAR_MONTH",
        dob("1990/12"),
        row_error(2, "verification", YM_FORMAT),
    ),
    (
        "year-month-future",
        "PHONE_NUMBER",
        "YEAR_MONTH",
        dob("2999-01"),
        row_error(2, "verification", "year/month cannot be in the future"),
    ),
    (
        "year-month-full-date",
        "PHONE_NUMBER",
        "YEAR_MONTH",
        dob("1990-12-01"),
        row_error(2, "verification", YM_FORMAT),
    ),
    (
        "pin-too-short",
        "PHONE_NUMBER",
        "PIN",
        dob("123"),
        row_error(
            2,
            "verification",
            "invalid pin length. Cannot have less than 4 or more than 8 characters in pin",
        ),
    ),
    (
        "pin-too-long",
        "PHONE_NUMBER",
        "PIN",
        dob("123456789"),
        row_error(
            2,
            "verification",
            "invalid pin length. Cannot have less than 4 or more than 8 characters in pin",
        ),
    ),
    (
        "pin-empty",
        "PHONE_NUMBER",
        "PIN",
        dob(""),
        row_error(
            2,
            "verification",
            "invalid pin length. Cannot have less than 4 or more than 8 characters in pin",
        ),
    ),
    (
        "national-id-51",
        "PHONE_NUMBER",
        "NATIONAL_ID_NUMBER",
        dob("N" * 51),
        row_error(
            2,
            "verification",
            "invalid national id. Cannot have more than 50 characters in national id",
        ),
    ),
    (
        "national-id-empty",
        "PHONE_NUMBER",
        "NATIONAL_ID_NUMBER",
        dob(""),
        row_error(2, "verification", "national id cannot be empty"),
    ),
    # --- duplicates and several bad rows at once
    (
        "duplicate-phone",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,r-1,10,1990-01-30\n+14155550101,r-2,5,1990-01-30\n",
        row_error(3, "phone", "duplicate contact information. Also found on line 2"),
    ),
    (
        "duplicate-email-case",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + "Ann@Example.org,r-1,10,1990-01-30\nann@example.org,r-2,5,1990-01-30\n",
        row_error(3, "email", "duplicate contact information. Also found on line 2"),
    ),
    (
        "duplicate-payment-id",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,amount,verification,paymentID\n+14155550101,r-1,10,1990-01-30,p-1\n+14155550102,r-2,5,1990-01-30,p-1\n",
        row_error(3, "paymentID", "duplicate payment id. Also found on line 2"),
    ),
    (
        "payment-id-65",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        f"phone,id,amount,verification,paymentID\n+14155550101,r-1,10,1990-01-30,{'p' * 65}\n",
        row_error(2, "paymentID", "paymentID cannot be longer than 64 characters"),
    ),
    (
        "duplicate-wallet-address",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        PHONE_WALLET + f"+14155550101,r-1,10,{G1},\n+14155550102,r-2,10,{G1},\n",
        row_error(3, "walletAddress", "duplicate wallet address. Also found on line 2"),
    ),
    (
        "every-bad-row-listed",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE
        + "+1,r-1,10,1990-01-30\n+14155550102,r-2,0,1990-01-30\n+14155550103,r-3,5,2999-01-01\n+14155550104,,1e3,1990-01-30\n",
        {
            "error": PARSE,
            "extras": {
                "line 2 - phone": PHONE_ERR,
                "line 3 - amount": NOT_POSITIVE,
                "line 4 - verification": "date of birth cannot be in the future",
                "line 5 - id": "id cannot be empty",
                "line 5 - amount": NOT_NUMBER,
            },
        },
    ),
    (
        "bad-row-after-good-rows",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE
        + "+14155550101,r-1,10,1990-01-30\n+14155550102,r-2,10,1990-01-30\n+14155550103,r-3,-1,1990-01-30\n",
        row_error(4, "amount", NOT_POSITIVE),
    ),
    (
        "too-few-fields",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,r-1,10\n",
        row_error(2, "row", "wrong number of fields: expected 4, got 3"),
    ),
    (
        "too-many-fields",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,r-1,10,1990-01-30,extra\n",
        row_error(2, "row", "wrong number of fields: expected 4, got 5"),
    ),
    (
        "unterminated-quote",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + '"+14155550101,r-1,10,1990-01-30\n',
        row_error(2, "row", "wrong number of fields: expected 4, got 1"),
    ),
    # --- headers per contact type
    (
        "phone-type-without-phone",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "id,amount,verification\nr-1,10,1990-01-30\n",
        header_error("PHONE_NUMBER", "phone column is required"),
    ),
    (
        "phone-type-with-email",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,email,id,amount,verification\n+14155550101,a@b.org,r-1,10,1990-01-30\n",
        header_error(
            "PHONE_NUMBER",
            "email column is not allowed for this registration contact type",
        ),
    ),
    (
        "phone-type-with-wallet",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,amount,verification,walletAddress\n+14155550101,r-1,10,1990-01-30,x\n",
        header_error(
            "PHONE_NUMBER",
            "walletAddress column is not allowed for this registration contact type",
        ),
    ),
    (
        "phone-type-without-verification",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,amount\n+14155550101,r-1,10\n",
        header_error("PHONE_NUMBER", "verification column is required"),
    ),
    (
        "missing-id",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,amount,verification\n+14155550101,10,1990-01-30\n",
        header_error("PHONE_NUMBER", "id column is required"),
    ),
    (
        "missing-amount",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,verification\n+14155550101,r-1,1990-01-30\n",
        header_error("PHONE_NUMBER", "amount column is required"),
    ),
    (
        "unknown-column",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,amount,verification,foo\n+14155550101,r-1,10,1990-01-30,x\n",
        header_error("PHONE_NUMBER", "foo column is not allowed"),
    ),
    (
        "duplicated-column",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,amount,amount,verification\n+14155550101,r-1,10,10,1990-01-30\n",
        header_error("PHONE_NUMBER", "amount column is duplicated"),
    ),
    (
        "header-case",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "Phone,id,amount,verification\n+14155550101,r-1,10,1990-01-30\n",
        header_error(
            "PHONE_NUMBER", "phone column is required", "Phone column is not allowed"
        ),
    ),
    (
        "email-type-with-phone",
        "EMAIL",
        "DATE_OF_BIRTH",
        "email,phone,id,amount,verification\na@b.org,+14155550101,r-1,10,1990-01-30\n",
        header_error(
            "EMAIL", "phone column is not allowed for this registration contact type"
        ),
    ),
    (
        "email-type-without-email",
        "EMAIL",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,r-1,10,1990-01-30\n",
        header_error(
            "EMAIL",
            "email column is required",
            "phone column is not allowed for this registration contact type",
        ),
    ),
    (
        "wallet-type-with-verification",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        "phone,id,amount,walletAddress,verification\n+14155550101,r-1,10,x,1990-01-30\n",
        header_error(
            "PHONE_NUMBER_AND_WALLET_ADDRESS",
            "verification column is not allowed for this registration contact type",
        ),
    ),
    (
        "email-wallet-type-without-address",
        "EMAIL_AND_WALLET_ADDRESS",
        "",
        "email,id,amount\na@b.org,r-1,10\n",
        header_error("EMAIL_AND_WALLET_ADDRESS", "walletAddress column is required"),
    ),
    (
        "email-wallet-type-with-phone",
        "EMAIL_AND_WALLET_ADDRESS",
        "",
        f"email,phone,id,amount,walletAddress\na@b.org,+14155550101,r-1,10,{G1}\n",
        header_error(
            "EMAIL_AND_WALLET_ADDRESS",
            "phone column is not allowed for this registration contact type",
        ),
    ),
    (
        "empty-header-name",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "phone,id,amount,verification,\n+14155550101,r-1,10,1990-01-30,\n",
        header_error("PHONE_NUMBER", "(empty) column is not allowed"),
    ),
    # --- whole-file problems
    (
        "empty-file",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        "",
        file_error("the file is empty"),
    ),
    (
        "header-only",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE,
        file_error("the file has no instructions"),
    ),
    (
        "blank-lines-only",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "\n\n,,,\n",
        file_error("the file has no instructions"),
    ),
    (
        "utf16",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        (PHONE + "+14155550101,r-1,10,1990-01-30\n").encode("utf-16"),
        file_error("the file is not valid UTF-8"),
    ),
    (
        "latin1",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        (PHONE + "+14155550101,José,10,1990-01-30\n").encode("latin-1"),
        file_error("the file is not valid UTF-8"),
    ),
    (
        "nul-byte",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        PHONE + "+14155550101,r-1\x00,10,1990-01-30\n",
        file_error("the file contains NUL bytes"),
    ),
    (
        "binary-garbage",
        "PHONE_NUMBER",
        "DATE_OF_BIRTH",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        file_error("the file is not valid UTF-8"),
    ),
    # --- emails
    (
        "email-no-at",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + "not-an-email,r-1,10,1990-01-30\n",
        row_error(2, "email", EMAIL_ERR),
    ),
    (
        "email-no-dot",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + "a@b,r-1,10,1990-01-30\n",
        row_error(2, "email", EMAIL_ERR),
    ),
    (
        "email-html",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + "<script>@x.org,r-1,10,1990-01-30\n",
        row_error(2, "email", EMAIL_ERR),
    ),
    (
        "email-too-long",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + f"{'a' * 250}@x.org,r-1,10,1990-01-30\n",
        row_error(2, "email", EMAIL_ERR),
    ),
    (
        "email-empty",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + ",r-1,10,1990-01-30\n",
        row_error(2, "email", "email cannot be empty"),
    ),
    (
        "email-two-ats",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + "a@b@c.org,r-1,10,1990-01-30\n",
        row_error(2, "email", EMAIL_ERR),
    ),
    (
        "email-formula",
        "EMAIL",
        "DATE_OF_BIRTH",
        EMAIL + '"=HYPERLINK(""http://x"")",r-1,10,1990-01-30\n',
        row_error(2, "email", EMAIL_ERR),
    ),
    # --- wallet addresses and memos
    (
        "address-short",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address("GABC"),
        row_error(2, "walletAddress", ADDRESS_ERR),
    ),
    (
        "address-muxed-with-memo",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(MUXED, "42"),
        row_error(2, "walletAddressMemo", MUXED_MEMO),
    ),
    (
        "address-muxed-bad-checksum",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(MUXED[:-1] + ("A" if MUXED[-1] != "A" else "B")),
        row_error(2, "walletAddress", ADDRESS_ERR),
    ),
    (
        "address-muxed-too-long",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(MUXED + "A"),
        row_error(2, "walletAddress", ADDRESS_ERR),
    ),
    (
        "address-secret-seed",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(SEED),
        row_error(2, "walletAddress", ADDRESS_ERR),
    ),
    (
        "address-bad-checksum",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(G1[:-1] + ("A" if G1[-1] != "A" else "B")),
        row_error(2, "walletAddress", ADDRESS_ERR),
    ),
    (
        "address-empty",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(""),
        row_error(2, "walletAddress", "wallet address cannot be empty"),
    ),
    (
        "memo-too-long-text",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(G1, "x" * 29),
        row_error(2, "walletAddressMemo", MEMO_ERR),
    ),
    (
        "memo-multibyte-over-28-bytes",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(G1, "é" * 15),
        row_error(2, "walletAddressMemo", MEMO_ERR),
    ),
    (
        # A contract address is paid, but takes no memo.
        "memo-on-contract",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(C1, "123"),
        row_error(2, "walletAddressMemo", CONTRACT_MEMO),
    ),
    (
        "memo-bad-hex-65",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
        "",
        address(G1, "a" * 65),
        row_error(2, "walletAddressMemo", MEMO_ERR),
    ),
]


@pytest.fixture
def draft(organization, wallet, usdc):
    def make(contact_type: str, verification_field: str):
        return DisbursementFactory(
            organization=organization,
            wallet=wallet,
            asset=usdc,
            registration_contact_type=contact_type,
            verification_field=verification_field,
        )

    return make


def assert_nothing_written(disbursement):
    disbursement.refresh_from_db()
    assert disbursement.status == "DRAFT"
    assert disbursement.file_content is None
    assert not Payment.objects.exists()
    assert not Receiver.objects.exists()
    assert not ReceiverWallet.objects.exists()
    assert not ReceiverVerification.objects.exists()
    assert not ReceiverStellarAddress.objects.exists()


def upload(api, disbursement, content, name="payroll.csv"):
    if isinstance(content, str):
        content = content.encode()
    return api.post(
        f"/disbursements/{disbursement.pk}/instructions",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
    )


@pytest.mark.parametrize(
    ("contact_type", "verification_field", "content", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hostile_csv_is_refused_whole(
    api, draft, contact_type, verification_field, content, expected
):
    disbursement = draft(contact_type, verification_field)
    response = upload(api, disbursement, content)
    assert response.status_code == 400
    assert response.json() == expected
    assert_nothing_written(disbursement)


def test_10001_rows_is_refused(api, draft):
    disbursement = draft("PHONE_NUMBER", "DATE_OF_BIRTH")
    rows = "".join(
        f"+1415{5550000 + n:07d},r-{n},1,1990-01-30\n" for n in range(10_001)
    )
    response = upload(api, disbursement, PHONE + rows)
    assert response.status_code == 400
    assert response.json() == file_error("the file has more than 10000 rows")
    assert_nothing_written(disbursement)


def test_row_limit_is_configurable(api, draft, settings):
    settings.CSV_MAX_ROWS = 2
    disbursement = draft("PHONE_NUMBER", "DATE_OF_BIRTH")
    rows = "".join(f"+1415555010{n},r-{n},1,1990-01-30\n" for n in range(3))
    response = upload(api, disbursement, PHONE + rows)
    assert response.json() == file_error("the file has more than 2 rows")
    assert_nothing_written(disbursement)


def test_5mb_plus_one_byte_is_refused(api, draft, settings):
    disbursement = draft("PHONE_NUMBER", "DATE_OF_BIRTH")
    content = PHONE.encode()
    content += b"#" * (settings.CSV_MAX_BYTES + 1 - len(content))
    assert len(content) == 5 * 1024 * 1024 + 1
    response = upload(api, disbursement, content)
    assert response.status_code == 400
    assert response.json() == file_error("the file is larger than 5242880 bytes")
    assert_nothing_written(disbursement)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("payroll.txt", "the file must be a .csv file"),
        ("payroll.csv.exe", "the file must be a .csv file"),
        ("..payroll.csv", "invalid file name"),
        ("payroll", "the file must be a .csv file"),
    ],
)
def test_file_names(api, draft, name, message):
    disbursement = draft("PHONE_NUMBER", "DATE_OF_BIRTH")
    response = upload(
        api, disbursement, PHONE + "+14155550101,r-1,10,1990-01-30\n", name
    )
    assert response.status_code == 400
    assert response.json() == file_error(message)
    assert_nothing_written(disbursement)


def test_missing_file_field(api, draft):
    disbursement = draft("PHONE_NUMBER", "DATE_OF_BIRTH")
    response = api.post(
        f"/disbursements/{disbursement.pk}/instructions", {}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {"file": "file is required"}
    assert_nothing_written(disbursement)


def test_started_disbursement_refuses_new_instructions(api, organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )
    response = upload(api, disbursement, PHONE + "+14155550101,r-1,10,1990-01-30\n")
    assert response.status_code == 400
    assert response.json() == {
        "error": "disbursement is not in a state to receive instructions "
        "(status STARTED)"
    }
    assert not Payment.objects.exists()


# --- checks against what is already stored ----------------------------------


def test_address_of_another_receiver_is_refused(api, draft, organization):
    from tests.factories import ReceiverFactory

    other = ReceiverFactory(organization=organization, phone_number="+14155550199")
    ReceiverStellarAddress.objects.create(
        organization=organization, stellar_address=G1, receiver=other
    )
    disbursement = draft("PHONE_NUMBER_AND_WALLET_ADDRESS", "")
    response = upload(api, disbursement, address(G1))
    assert response.json() == row_error(
        2, "walletAddress", "wallet address is already registered to another receiver"
    )
    assert Receiver.objects.count() == 1
    assert not Payment.objects.exists()


def test_address_mismatch_with_registration_is_refused(
    api, draft, organization, wallet
):
    from tests.factories import ReceiverFactory, ReceiverWalletFactory

    receiver = ReceiverFactory(organization=organization, phone_number="+14155550101")
    ReceiverWalletFactory(
        receiver=receiver, wallet=wallet, status="REGISTERED", stellar_address=G2
    )
    disbursement = draft("PHONE_NUMBER_AND_WALLET_ADDRESS", "")
    response = upload(api, disbursement, address(G1))
    assert response.json() == row_error(
        2,
        "walletAddress",
        "wallet address does not match the receiver's registered address",
    )
    assert ReceiverWallet.objects.get().stellar_address == G2
    assert not Payment.objects.exists()


def test_flagged_wallet_is_refused(api, draft, organization, wallet):
    from tests.factories import ReceiverFactory, ReceiverWalletFactory

    receiver = ReceiverFactory(organization=organization, phone_number="+14155550101")
    ReceiverWalletFactory(receiver=receiver, wallet=wallet, status="FLAGGED")
    disbursement = draft("PHONE_NUMBER_AND_WALLET_ADDRESS", "")
    response = upload(api, disbursement, address(G1))
    assert response.json() == row_error(
        2, "walletAddress", "the receiver's wallet is flagged"
    )
    assert not Payment.objects.exists()


def test_confirmed_verification_mismatch_is_refused(api, draft, organization):
    from django.utils import timezone

    from receivers.verification_hash import hash_verification_value
    from tests.factories import ReceiverFactory

    receiver = ReceiverFactory(organization=organization, phone_number="+14155550101")
    ReceiverVerification.objects.create(
        receiver=receiver,
        verification_field="DATE_OF_BIRTH",
        hashed_value=hash_verification_value("1980-05-05"),
        confirmed_at=timezone.now(),
    )
    disbursement = draft("PHONE_NUMBER", "DATE_OF_BIRTH")
    response = upload(api, disbursement, dob("1990-01-30"))
    assert response.json() == row_error(
        2, "verification", "receiver verification mismatch"
    )
    assert not Payment.objects.exists()
    # The same value is accepted.
    response = upload(api, disbursement, dob("1980-05-05"))
    assert response.status_code == 200
