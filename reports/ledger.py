"""What the network says about a distribution account: its operations in a
period, with their transactions (memo, fee), and its balance now.

Read from Horizon through the TSS's client (``tss.horizon``), newest first,
one page of 200 at a time, until the page reaches before the period. Never
called inside a database transaction (the callers read the network first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from tss import horizon

PAGE = 200
STROOP = Decimal("0.0000001")


@dataclass(frozen=True)
class Movement:
    """One operation of the account, as its effect on one asset's balance."""

    operation_id: str
    at: dt.datetime
    kind: str  # payment_out, payment_in, funding, account_created, fee, trustline, ...
    transaction_hash: str
    counterparty: str
    amount: Decimal  # signed: what it did to the balance (0 for a trustline change)
    memo: str = ""
    memo_type: str = "none"


@dataclass(frozen=True)
class NetworkPayment:
    """An outgoing payment of the account in the asset (for the reconciliation)."""

    operation_id: str
    at: dt.datetime
    transaction_hash: str
    destination: str
    amount: Decimal
    memo: str
    memo_type: str


def _time(raw: str) -> dt.datetime:
    return dt.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _asset_of(record: dict) -> tuple[str, str]:
    if record.get("asset_type") == "native":
        return ("XLM", "")
    return (record.get("asset_code", ""), record.get("asset_issuer", ""))


def operations_since(account: str, since: dt.datetime) -> list[dict]:
    """Every successful operation of ``account`` at or after ``since``, oldest
    first, each with its transaction embedded (``join=transactions``)."""
    found: list[dict] = []
    cursor = ""
    while True:
        params = {"limit": PAGE, "order": "desc", "join": "transactions"}
        if cursor:
            params["cursor"] = cursor
        page = horizon.get(f"/accounts/{account}/operations", **params)
        records = page["_embedded"]["records"]
        for record in records:
            if _time(record["created_at"]) < since:
                found.reverse()
                return found
            if record.get("transaction_successful", True):
                found.append(record)
        if len(records) < PAGE:
            found.reverse()
            return found
        cursor = records[-1]["paging_token"]


def balance(account: str, asset: tuple[str, str]) -> Decimal | None:
    """The account's balance of ``asset`` now (None: no such account or line)."""
    record = horizon.account(account)
    if record is None:
        return None
    for line in record["balances"]:
        if _asset_of(line) == asset:
            return Decimal(line["balance"])
    return None


def movements(
    records: list[dict], account: str, asset: tuple[str, str]
) -> list[Movement]:
    """What each operation did to ``account``'s balance of ``asset``: payments
    in and out, account creation, and for XLM the fees the account paid (once
    per transaction); trustline changes of the asset at zero amount."""
    out: list[Movement] = []
    fees_seen: set[str] = set()
    native = asset == ("XLM", "")
    for r in records:
        tx = r.get("transaction") or {}
        at = _time(r["created_at"])
        memo, memo_type = str(tx.get("memo", "")), tx.get("memo_type", "none")
        base = {
            "operation_id": r["id"],
            "at": at,
            "transaction_hash": r["transaction_hash"],
            "memo": memo,
            "memo_type": memo_type,
        }
        kind = r["type"]
        if kind == "payment" and _asset_of(r) == asset and r["from"] != r["to"]:
            if r["from"] == account:
                out.append(
                    Movement(
                        **base,
                        kind="payment_out",
                        counterparty=r["to"],
                        amount=-Decimal(r["amount"]),
                    )
                )
            elif r["to"] == account:
                out.append(
                    Movement(
                        **base,
                        kind="funding",
                        counterparty=r["from"],
                        amount=Decimal(r["amount"]),
                    )
                )
        elif kind == "create_account" and native:
            if r["account"] == account:
                out.append(
                    Movement(
                        **base,
                        kind="account_created",
                        counterparty=r["funder"],
                        amount=Decimal(r["starting_balance"]),
                    )
                )
            elif r["funder"] == account:
                out.append(
                    Movement(
                        **base,
                        kind="account_funded",
                        counterparty=r["account"],
                        amount=-Decimal(r["starting_balance"]),
                    )
                )
        elif kind == "change_trust" and _asset_of(r) == asset:
            removed = Decimal(r.get("limit", "0")) == 0
            out.append(
                Movement(
                    **base,
                    kind="trustline_removed" if removed else "trustline",
                    counterparty=r.get("asset_issuer", ""),
                    amount=Decimal(0),
                )
            )
        fee_hash = r["transaction_hash"]
        if native and tx.get("fee_account") == account and fee_hash not in fees_seen:
            fees_seen.add(fee_hash)
            out.append(
                Movement(
                    **{**base, "operation_id": f"{r['id']}-fee"},
                    kind="fee",
                    counterparty="",
                    amount=-Decimal(tx["fee_charged"]) * STROOP,
                )
            )
    return out


def outgoing_payments(
    records: list[dict], account: str, asset: tuple[str, str]
) -> list[NetworkPayment]:
    return [
        NetworkPayment(
            operation_id=m.operation_id,
            at=m.at,
            transaction_hash=m.transaction_hash,
            destination=m.counterparty,
            amount=-m.amount,
            memo=m.memo,
            memo_type=m.memo_type,
        )
        for m in movements(records, account, asset)
        if m.kind == "payment_out"
    ]
