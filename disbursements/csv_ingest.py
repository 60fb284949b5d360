"""Disbursement instructions: parse and validate a CSV exactly as SDP does
(reference §5), then store it in one transaction.

The file is streamed: ``InstructionReader`` yields each row valid on its own
(shape, formats) as it reads it and keeps only the errors, so neither the file's
text nor its rows are ever held whole. The checks that need the whole file
(duplicates) or the database (confirmed verifications, registered addresses,
addresses owned by another receiver) run in PostgreSQL on the staged rows
(``disbursements.instructions``). Every bad row is reported; nothing is written
unless the whole file is valid.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.utils import timezone

from core.api import APIError
from core.validators import (
    detect_memo,
    memo_refused,
    parse_amount,
    validate_email,
    validate_phone,
    validate_verification,
    validate_wallet_address,
)
from disbursements.models import RegistrationContactType

PARSE_ERROR = "could not parse csv file"

KNOWN_COLUMNS = (
    "phone",
    "email",
    "id",
    "amount",
    "verification",
    "paymentID",
    "walletAddress",
    "walletAddressMemo",
)
# (required, not allowed) per registration contact type, reference §5.
COLUMN_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    RegistrationContactType.PHONE_NUMBER: (
        ("phone", "verification"),
        ("email", "walletAddress", "walletAddressMemo"),
    ),
    RegistrationContactType.EMAIL: (
        ("email", "verification"),
        ("phone", "walletAddress", "walletAddressMemo"),
    ),
    RegistrationContactType.PHONE_NUMBER_AND_WALLET_ADDRESS: (
        ("phone", "walletAddress"),
        ("email", "verification"),
    ),
    RegistrationContactType.EMAIL_AND_WALLET_ADDRESS: (
        ("email", "walletAddress"),
        ("phone", "verification"),
    ),
}


@dataclass(slots=True)
class Instruction:
    """One valid row, sanitised (slots: a file holds up to 100,000 of them)."""

    line: int
    external_id: str
    amount: Decimal
    phone: str | None = None
    email: str | None = None
    verification: str = ""
    payment_id: str = ""
    wallet_address: str = ""
    memo: str = ""
    memo_type: str = ""


class CSVError(APIError):
    """400 ``could not parse csv file`` with one ``line N - field`` entry per error."""

    def __init__(self, extras: dict[str, str], message: str = PARSE_ERROR):
        super().__init__(message, status_code=400, extras=extras)


# --- parsing -----------------------------------------------------------------


def open_text(content: bytes | IO[bytes]) -> Iterator[str]:
    """The file's lines, decoded as the reader asks for them: the file is never
    held a second time as one string. Lines end at \\n, \\r\\n or \\r,
    untranslated, as the csv module needs. A byte that is not UTF-8 or a NUL,
    wherever it is, is the file's only error."""
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        for line in text:
            if "\x00" in line:
                raise CSVError({"file": "the file contains NUL bytes"})
            yield line
    except UnicodeDecodeError as exc:
        raise CSVError({"file": "the file is not valid UTF-8"}) from exc
    finally:
        text.detach()  # the caller's file stays open


def check_headers(
    headers: list[str], contact_type: str, verification_field: str, embedded: bool
) -> None:
    required, not_allowed = COLUMN_RULES[contact_type]
    required, not_allowed = list(required), list(not_allowed)
    if embedded and not verification_field and "verification" in required:
        # An embedded-wallet disbursement without a verification field.
        required.remove("verification")
        not_allowed.append("verification")
    problems = []
    duplicates = sorted({h for h in headers if headers.count(h) > 1})
    problems += [f"{name} column is duplicated" for name in duplicates]
    for name in ("id", "amount", *required):
        if name not in headers:
            problems.append(f"{name} column is required")
    for name in headers:
        if name in not_allowed:
            problems.append(
                f"{name} column is not allowed for this registration contact type"
            )
        elif name not in KNOWN_COLUMNS:
            problems.append(f"{name or '(empty)'} column is not allowed")
    if problems:
        raise APIError(
            f"CSV columns are not valid for registration contact type {contact_type}: "
            + "; ".join(problems)
        )


class InstructionReader:
    """Iterating yields every row valid on its own, in file order; the bad rows
    are kept in ``errors`` (``line N - field``: message). Raises CSVError for
    what makes the whole file unusable (encoding, headers, too many rows)."""

    def __init__(
        self,
        content: bytes | IO[bytes],
        *,
        contact_type: str,
        verification_field: str,
        embedded: bool = False,
        max_rows: int | None = None,
    ):
        self.content = content
        self.contact_type = contact_type
        self.verification_field = verification_field
        self.embedded = embedded
        self.max_rows = max_rows or settings.CSV_MAX_ROWS
        self.errors: dict[str, str] = {}
        self.valid_rows = 0

    def __iter__(self) -> Iterator[Instruction]:
        reader = csv.reader(open_text(self.content))
        try:
            headers = [h.strip() for h in next(reader)]
        except StopIteration:
            raise CSVError({"file": "the file is empty"}) from None
        except csv.Error as exc:
            raise CSVError({"file": f"malformed CSV: {exc}"}) from exc
        check_headers(
            headers, self.contact_type, self.verification_field, self.embedded
        )
        index = {name: headers.index(name) for name in KNOWN_COLUMNS if name in headers}
        today = timezone.localdate()
        errors = self.errors
        rows = 0
        try:
            for line, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue  # blank lines carry no instruction
                rows += 1
                if rows > self.max_rows:
                    raise CSVError(
                        {"file": f"the file has more than {self.max_rows} rows"}
                    )
                if len(row) != len(headers):
                    errors[f"line {line} - row"] = (
                        f"wrong number of fields: expected {len(headers)}, "
                        f"got {len(row)}"
                    )
                    continue
                instruction = _validate_row(
                    line,
                    row,
                    index,
                    self.contact_type,
                    self.verification_field,
                    today,
                    errors,
                )
                if instruction is not None:
                    self.valid_rows += 1
                    yield instruction
        except csv.Error as exc:
            raise CSVError({"file": f"malformed CSV: {exc}"}) from exc


def _validate_row(
    line: int,
    row: list[str],
    index: dict[str, int],
    contact_type: str,
    verification_field: str,
    today: date,
    errors: dict[str, str],
) -> Instruction | None:
    def cell(name: str) -> str:
        return row[index[name]].strip() if name in index else ""

    found: dict[str, str] = {}
    external_id = cell("id")
    if not external_id:
        found["id"] = "id cannot be empty"
    elif len(external_id) > 64:
        found["id"] = "id cannot be longer than 64 characters"
    amount, error = parse_amount(cell("amount"))
    if error:
        found["amount"] = error
    phone = email = None
    if "phone" in index:
        phone = cell("phone").lower()
        if not phone:
            found["phone"] = "phone cannot be empty"
        elif error := validate_phone(phone):
            found["phone"] = error
    if "email" in index:
        email = cell("email").lower()
        if not email:
            found["email"] = "email cannot be empty"
        elif error := validate_email(email):
            found["email"] = error
    verification = cell("verification")
    if (
        "verification" in index
        and verification_field
        and (error := validate_verification(verification_field, verification, today))
    ):
        found["verification"] = error
    payment_id = cell("paymentID")
    if len(payment_id) > 64:
        found["paymentID"] = "paymentID cannot be longer than 64 characters"
    address = cell("walletAddress").upper()
    memo = cell("walletAddressMemo")
    memo_type = ""
    if "walletAddress" in index:
        if not address:
            found["walletAddress"] = "wallet address cannot be empty"
        elif error := validate_wallet_address(address):
            found["walletAddress"] = error
        elif memo and (refused := memo_refused(address)):
            found["walletAddressMemo"] = refused
        elif memo:
            memo_type, error = detect_memo(memo)
            if error:
                found["walletAddressMemo"] = error
    if found:
        for name, message in found.items():
            errors[f"line {line} - {name}"] = message
        return None
    assert amount is not None  # noqa: S101 - checked above
    return Instruction(
        line=line,
        external_id=external_id,
        amount=amount,
        phone=phone,
        email=email,
        verification=verification,
        payment_id=payment_id,
        wallet_address=address,
        memo=memo,
        memo_type=memo_type,
    )


def file_name_error(name: str) -> str | None:
    if not name.lower().endswith(".csv"):
        return "the file must be a .csv file"
    if ".." in name or "/" in name or "\\" in name:
        return "invalid file name"
    return None
