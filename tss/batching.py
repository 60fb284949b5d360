"""Which payments share a transaction, and how a transaction of them is built.

A fee-bumped transaction spends one operation of the ledger's budget more than
it has payments: one payment per transaction spends two, a hundred spend 101.
But a transaction is atomic (one failing operation and none applies), so only
payments whose destinations are known to accept them are put together:

- ``check_destinations``: one account read per destination on the network
  (an account for lumens; an authorized trustline with room for other assets);
  a payment that fails the check, or whose destination is of a kind that cannot
  share a transaction, is sent alone and fails (or not) with its own reason.
- ``group``: payments of one tenant, asset, memo and destination kind, in the
  order given, up to ``TSS_MAX_PAYMENTS_PER_TX`` each. A transaction has one
  memo, so a receiver wallet's memo only groups payments sharing it; the
  tenant's tracing memo is the same on all its payments.
- ``build``: the destination kind picks the builder (``BUILDERS``).

Adding a kind of destination (a contract address) is a builder in ``BUILDERS``
and, if it cannot share a transaction, leaving it out of ``BATCHABLE_KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from stellar_sdk import Account, Asset, Keypair, MuxedAccount, TransactionBuilder
from stellar_sdk.operation import Payment

from tss import contract, envelopes, horizon
from tss.errors import HorizonError
from tss.models import SubmitterTransaction


def max_payments_per_tx() -> int:
    value = int(getattr(settings, "TSS_MAX_PAYMENTS_PER_TX", 100))
    return max(1, min(envelopes.MAX_OPERATIONS, value))


def destination_kind(destination: str) -> str:
    """account (G...), muxed (M...) or contract (C...)."""
    return {"G": "account", "M": "muxed", "C": "contract"}.get(
        destination[:1], "unknown"
    )


# Kinds whose payments may share a transaction with others.
BATCHABLE_KINDS = frozenset({"account", "muxed"})


# --- destination checks --------------------------------------------------------


def _account_of(destination: str) -> str:
    if destination.startswith("M"):
        return MuxedAccount.from_account(destination).account_id
    return destination


def accepts(record: dict[str, Any] | None, row: SubmitterTransaction) -> bool:
    """Whether the account ``record`` (Horizon's, None: no account) accepts
    ``row``'s payment."""
    if record is None:
        return False
    if row.asset_code == "XLM" and not row.asset_issuer:
        return True
    for balance in record.get("balances", []):
        if (
            balance.get("asset_code") == row.asset_code
            and balance.get("asset_issuer") == row.asset_issuer
        ):
            if not balance.get("is_authorized", True):
                return False
            try:
                room = Decimal(balance["limit"]) - Decimal(balance["balance"])
            except (KeyError, InvalidOperation):
                return True
            return room >= Decimal(row.amount)
    return False


def check_destinations(
    rows: Sequence[SubmitterTransaction], pool: ThreadPoolExecutor
) -> dict[Any, bool]:
    """pk -> whether the destination accepts the payment, for the rows whose
    destination could be read (one account read per distinct account)."""
    checked: dict[Any, bool] = {}
    readable: dict[str, list[SubmitterTransaction]] = {}
    for row in rows:
        if destination_kind(row.destination) not in BATCHABLE_KINDS:
            checked[row.pk] = False
            continue
        try:
            account = _account_of(row.destination)
        except Exception:  # a malformed address: it fails on its own
            checked[row.pk] = False
            continue
        readable.setdefault(account, []).append(row)

    def read(account: str) -> dict[str, Any] | HorizonError | None:
        try:
            return horizon.account(account)
        except HorizonError as exc:
            return exc

    accounts = list(readable)
    for account, record in zip(accounts, pool.map(read, accounts), strict=True):
        if isinstance(record, HorizonError):
            continue  # checked again next round
        for row in readable[account]:
            checked[row.pk] = accepts(record, row)
    return checked


# --- grouping --------------------------------------------------------------------


def _key(row: SubmitterTransaction) -> tuple[Any, ...]:
    return (
        row.tenant_id,
        row.asset_code,
        row.asset_issuer,
        row.memo,
        row.memo_type if row.memo else "",
        destination_kind(row.destination),
    )


def group(
    rows: Iterable[SubmitterTransaction], max_per_tx: int
) -> list[list[SubmitterTransaction]]:
    """The rows as transactions: batchable rows with the same key together (in
    the order given, up to ``max_per_tx``), the others alone. Ordered by each
    transaction's first row."""
    open_groups: dict[tuple[Any, ...], list[SubmitterTransaction]] = {}
    groups: list[list[SubmitterTransaction]] = []
    for row in rows:
        if (
            max_per_tx <= 1
            or not row.destination_ok
            or destination_kind(row.destination) not in BATCHABLE_KINDS
        ):
            groups.append([row])
            continue
        key = _key(row)
        current = open_groups.get(key)
        if current is None or len(current) >= max_per_tx:
            current = open_groups[key] = []
            groups.append(current)
        current.append(row)
    return groups


# --- building ----------------------------------------------------------------------


@dataclass(frozen=True)
class Signers:
    channel: Keypair
    distribution: Keypair


# (rows, signers, sequence, max_ledger) -> (hash hex, base64 envelope)
Builder = Callable[[Sequence[SubmitterTransaction], Signers, int, int], tuple[str, str]]


def validate(row: SubmitterTransaction) -> None:
    """Raise ValueError for a payment no transaction can carry."""
    envelopes.stroops(row.amount)
    envelopes.asset_xdr(row.asset_code, row.asset_issuer or "")
    envelopes.memo_xdr(row.memo or "", row.memo_type or "")
    if destination_kind(row.destination) == "account":
        Keypair.from_public_key(row.destination)
    elif destination_kind(row.destination) == "muxed":
        MuxedAccount.from_account(row.destination)


def _packed(
    rows: Sequence[SubmitterTransaction],
    signers: Signers,
    sequence: int,
    max_ledger: int,
) -> tuple[str, str]:
    # The ledger bound is what makes an envelope expire; a time bound would
    # also depend on the network's clock agreeing with ours.
    first = rows[0]
    return envelopes.batch_envelope(
        channel=signers.channel,
        distribution=signers.distribution,
        sequence=sequence,
        max_ledger=max_ledger,
        payments=[
            envelopes.PaymentOp(
                row.destination,
                envelopes.asset_xdr(row.asset_code, row.asset_issuer or ""),
                envelopes.stroops(row.amount),
            )
            for row in rows
        ],
        memo=envelopes.memo_xdr(first.memo or "", first.memo_type or ""),
        base_fee=settings.MAX_BASE_FEE,
        passphrase=settings.NETWORK_PASSPHRASE,
    )


def _asset(row: SubmitterTransaction) -> Asset:
    if row.asset_code == "XLM" and not row.asset_issuer:
        return Asset.native()
    return Asset(row.asset_code, row.asset_issuer)


def _memo(builder: TransactionBuilder, row: SubmitterTransaction) -> None:
    if not row.memo:
        return
    kind = row.memo_type or "text"
    if kind == "id":
        builder.add_id_memo(int(row.memo))
    elif kind == "hash":
        builder.add_hash_memo(row.memo)
    elif kind == "return":
        builder.add_return_hash_memo(row.memo)
    else:
        builder.add_text_memo(row.memo)


def build_with_sdk(
    rows: Sequence[SubmitterTransaction],
    signers: Signers,
    sequence: int,
    max_ledger: int,
) -> Any:
    """The same envelope through stellar-sdk's builder (muxed destinations; and
    the reference tests/tss/test_envelopes compares the fast path with)."""
    builder = TransactionBuilder(
        Account(signers.channel.public_key, sequence - 1),
        network_passphrase=settings.NETWORK_PASSPHRASE,
        base_fee=envelopes.INNER_BASE_FEE,
    )
    builder.add_time_bounds(0, 0)
    builder.set_ledger_bounds(0, max_ledger)
    for row in rows:
        builder.append_operation(
            Payment(
                destination=row.destination,
                asset=_asset(row),
                amount=f"{Decimal(row.amount):.7f}",
                source=signers.distribution.public_key,
            )
        )
    _memo(builder, rows[0])
    inner = builder.build()
    inner.sign(signers.channel)
    inner.sign(signers.distribution)
    bump = TransactionBuilder.build_fee_bump_transaction(
        fee_source=signers.distribution.public_key,
        base_fee=settings.MAX_BASE_FEE,
        inner_transaction_envelope=inner,
        network_passphrase=settings.NETWORK_PASSPHRASE,
    )
    bump.sign(signers.distribution)
    return bump


def _sdk(
    rows: Sequence[SubmitterTransaction],
    signers: Signers,
    sequence: int,
    max_ledger: int,
) -> tuple[str, str]:
    bump = build_with_sdk(rows, signers, sequence, max_ledger)
    return bump.hash_hex(), bump.to_xdr()


def _contract(
    rows: Sequence[SubmitterTransaction],
    signers: Signers,
    sequence: int,
    max_ledger: int,
) -> tuple[str, str]:
    """A contract payment goes alone (not in BATCHABLE_KINDS): the Stellar Asset
    Contract's transfer, simulated through RPC (tss.contract; its bound is the
    row's lease, as ``max_ledger``)."""
    (row,) = rows
    tx_hash, envelope_xdr, _ = contract.build(
        row, signers.channel, signers.distribution, sequence
    )
    return tx_hash, envelope_xdr


# The dispatch point: a transaction's destination kind -> its builder.
BUILDERS: dict[str, Builder] = {
    "account": _packed,
    "muxed": _sdk,
    "contract": _contract,
}


def build(
    rows: Sequence[SubmitterTransaction],
    signers: Signers,
    sequence: int,
    max_ledger: int,
) -> tuple[str, str]:
    """The fee-bumped, signed envelope of ``rows`` (one transaction's group, one
    operation each in that order) from the channel with sequence ``sequence``."""
    kinds = {destination_kind(row.destination) for row in rows}
    kind = "account" if kinds == {"account"} else next(iter(kinds - {"account"}))
    builder = BUILDERS.get(kind)
    if builder is None:
        raise ValueError(f"no builder for {kind} destinations")
    return builder(rows, signers, sequence, max_ledger)
