"""Payments to contract accounts (C…): the Stellar Asset Contract's ``transfer``
through Stellar RPC.

The engine builds, stores, sends and confirms a contract payment as it does a
classic one, with the same exactly-once rules: the envelope is built here
(``build``), stored with its hash and ledger bound by the engine before any
send, sent through RPC's ``sendTransaction`` (``submit_async``), and confirmed
by its hash on the ledger (a Soroban transaction is a transaction like any
other there).

Building one:

1. an ``invoke_host_function`` operation calling the SAC of the payment's
   asset (its contract id derived from the asset) with
   ``transfer(distribution, destination, amount)``; the channel account is the
   transaction's source, the distribution account the operation's (so the
   simulation asks for the source account's authorization, no signature
   payload), the ledger bound the lease's end;
2. ``simulateTransaction`` (one RPC call): an error is the SAC's verdict
   (balance too low, a missing trustline, the issuer's authorization rules),
   final for the payment with a plain reason; a ``restorePreamble`` means an
   entry the transfer needs is archived: the restore is sent first (by the
   distribution account) and the payment is built in a later round; a missing
   SAC instance is deployed the same way (anyone may deploy an asset's SAC);
3. assembled as stellar-sdk assembles (resources, resource fee, authorization),
   signed by channel and distribution, fee-bumped by the distribution account.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from stellar_sdk import (
    Account,
    Address,
    Asset,
    Keypair,
    SorobanServer,
    StrKey,
    TransactionBuilder,
    scval,
)
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.client.requests_client import RequestsClient
from stellar_sdk.exceptions import BaseHorizonError
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.soroban_rpc import SimulateTransactionResponse

from tss import crashpoints, envelopes, horizon, metrics

if TYPE_CHECKING:
    from tss.models import SubmitterTransaction

# The SAC's contract errors (soroban-env-host), as a reason a person can act on.
# The destination is a contract: its side never lacks a trustline, so a
# trustline or balance error is the distribution account's.
SAC_ERRORS = {
    6: "the distribution account does not exist",
    8: "the amount is negative",
    10: "the distribution account's balance is too low",
    11: "the asset's issuer requires authorization: the balance is not authorized "
    "to hold the asset",
    12: "the contract's balance would overflow",
    13: "the distribution account has no trustline for the asset",
}
_CONTRACT_ERROR = re.compile(r"Error\(Contract, #(\d+)\)")
RESTORE_BOUND_LEDGERS = 10
# Contract payments a ledger's Soroban lane admits (pubnet: 100 transactions,
# 125 written entries a ledger, and a SAC transfer writes 2): more envelopes
# than that would wait in the network's queue, be dropped after a few ledgers
# and hold their channel accounts until their bound passes.
SOROBAN_TXS_PER_LEDGER = 60


class Retry(Exception):
    """The payment cannot be built now but may be later (RPC unreachable, an
    archived entry being restored, the asset's contract being deployed): the
    engine releases the lease and a later round tries again."""


class ContractRefused(ValueError):
    """The simulation proves the transfer fails: the payment fails, unsent."""


def is_contract(address: str) -> bool:
    return address[:1] == "C" and StrKey.is_valid_contract(address)


def rpc_url() -> str:
    return str(settings.RPC_URL)


def auth_headers() -> dict[str, str]:
    key = str(getattr(settings, "RPC_REQUEST_AUTH_HEADER_KEY", "") or "")
    value = str(getattr(settings, "RPC_REQUEST_AUTH_HEADER_VALUE", "") or "")
    return {key: value} if key else {}


_local = threading.local()


def server() -> SorobanServer:
    """One RPC client per thread (its connection pool is not shared); no
    retries inside the client: the engine decides what to re-send."""
    url = rpc_url()
    cached: tuple[str, SorobanServer] | None = getattr(_local, "server", None)
    if cached is None or cached[0] != url:
        client = RequestsClient(num_retries=0, custom_headers=auth_headers())
        cached = (url, SorobanServer(url, client=client))
        _local.server = cached
    return cached[1]


def _call(method: str, call: Any, *args: Any) -> Any:
    metrics.rpc_calls.labels(method=method).inc()
    try:
        return call(*args)
    except BaseHorizonError as exc:
        metrics.rpc_errors.labels(method=method, status_code=str(exc.status)).inc()
        raise
    except Exception:
        metrics.rpc_errors.labels(method=method, status_code="0").inc()
        raise


def sac_asset(row: SubmitterTransaction) -> Asset:
    if row.asset_code == "XLM" and not row.asset_issuer:
        return Asset.native()
    return Asset(row.asset_code, row.asset_issuer)


def sac_reason(error: str) -> str:
    """A simulation error as a plain reason."""
    match = _CONTRACT_ERROR.search(error)
    if match:
        code = int(match.group(1))
        text = SAC_ERRORS.get(code, "the asset's contract refused the transfer")
        return f"{text} (contract error #{code})"
    first = error.strip().splitlines()[0] if error.strip() else "unknown error"
    return f"the transfer fails in simulation: {first[:200]}"


def _transfer_tx(
    row: SubmitterTransaction,
    channel: Keypair,
    distribution: Keypair,
    sequence: int,
    max_ledger: int,
) -> Any:
    builder = TransactionBuilder(
        Account(channel.public_key, sequence - 1),
        network_passphrase=settings.NETWORK_PASSPHRASE,
        base_fee=envelopes.INNER_BASE_FEE,
    )
    builder.add_time_bounds(0, 0)
    builder.set_ledger_bounds(0, max_ledger)
    builder.append_invoke_contract_function_op(
        contract_id=sac_asset(row).contract_id(settings.NETWORK_PASSPHRASE),
        function_name="transfer",
        parameters=[
            scval.to_address(distribution.public_key),
            scval.to_address(row.destination),
            scval.to_int128(envelopes.stroops(Decimal(row.amount))),
        ],
        source=distribution.public_key,
    )
    return builder.build()


def _simulate(tx: Any) -> SimulateTransactionResponse:
    try:
        answer: SimulateTransactionResponse = _call(
            "simulateTransaction", server().simulate_transaction, tx
        )
    except Exception as exc:
        raise Retry(f"Stellar RPC did not simulate: {type(exc).__name__}") from exc
    return answer


def _assemble(tx: Any, sim: SimulateTransactionResponse) -> Any:
    """What stellar-sdk's prepare_transaction does with a simulation (without
    simulating again): resources and resource fee, then the authorization."""
    if sim.transaction_data is None or sim.min_resource_fee is None:
        raise Retry("the simulation returned no resources")
    data = stellar_xdr.SorobanTransactionData.from_xdr(sim.transaction_data)
    tx.transaction.fee += int(sim.min_resource_fee)
    tx.transaction.soroban_data = data
    op = tx.transaction.operations[0]
    if not isinstance(op, InvokeHostFunction) or not sim.results:
        raise Retry("the simulation returned no result")
    op.auth = [
        stellar_xdr.SorobanAuthorizationEntry.from_xdr(entry)
        for entry in sim.results[0].auth or []
    ]
    return tx


def _send_maintenance(
    distribution: Keypair, sim_latest: int, build: Any, what: str
) -> None:
    """Send a transaction of the distribution account's own (a restore, a SAC
    deployment): idempotent, so sent without the payment's exactly-once
    machinery; then the payment waits for a later round (Retry)."""
    try:
        account = _call(
            "getLedgerEntries", server().load_account, distribution.public_key
        )
        tx = build(account, sim_latest + RESTORE_BOUND_LEDGERS)
        tx.sign(distribution)
        answer = _call("sendTransaction", server().send_transaction, tx)
        metrics.contract_maintenance.labels(
            kind=what, status=str(answer.status.value)
        ).inc()
    except Retry:
        raise
    except Exception as exc:
        raise Retry(f"{what}: {type(exc).__name__}") from exc
    raise Retry(f"{what} sent; the payment is built once it is on the ledger")


def _restore(distribution: Keypair, sim: SimulateTransactionResponse) -> None:
    preamble = sim.restore_preamble
    if preamble is None:
        return

    def build(account: Account, max_ledger: int) -> Any:
        return (
            TransactionBuilder(
                account,
                settings.NETWORK_PASSPHRASE,
                base_fee=envelopes.INNER_BASE_FEE + int(preamble.min_resource_fee),
            )
            .add_time_bounds(0, 0)
            .set_ledger_bounds(0, max_ledger)
            .append_restore_footprint_op()
            .set_soroban_data(preamble.transaction_data)
            .build()
        )

    _send_maintenance(distribution, sim.latest_ledger, build, "restore")


def _deploy(distribution: Keypair, asset: Asset, latest: int) -> None:
    def build(account: Account, max_ledger: int) -> Any:
        tx = (
            TransactionBuilder(
                account, settings.NETWORK_PASSPHRASE, base_fee=envelopes.INNER_BASE_FEE
            )
            .add_time_bounds(0, 0)
            .set_ledger_bounds(0, max_ledger)
            .append_create_stellar_asset_contract_from_asset_op(asset)
            .build()
        )
        sim = _simulate(tx)
        if sim.error:
            raise Retry(f"the asset's contract cannot be deployed: {sim.error[:200]}")
        return _assemble(tx, sim)

    _send_maintenance(distribution, latest, build, "deploy")


_quota_lock = threading.Lock()
_built: dict[int, int] = {}


def _take_lane(bound: int) -> None:
    """One of this ledger's places in the Soroban lane (rows leased in the same
    ledger share their bound), or Retry: the row waits for a later ledger
    instead of a place in the network's queue it would not get."""
    limit = int(getattr(settings, "TSS_SOROBAN_TXS_PER_LEDGER", SOROBAN_TXS_PER_LEDGER))
    with _quota_lock:
        for key in [key for key in _built if key < bound - 100]:
            del _built[key]
        if _built.get(bound, 0) >= limit:
            raise Retry("this ledger's Soroban lane is full")
        _built[bound] = _built.get(bound, 0) + 1


def lane_open(bound: int) -> Q:
    """The lease's filter: contract payments only while this ledger's Soroban
    lane has room (rows leased now share ``bound``), so that they never take
    the places of payments that could go."""
    limit = int(getattr(settings, "TSS_SOROBAN_TXS_PER_LEDGER", SOROBAN_TXS_PER_LEDGER))
    with _quota_lock:
        full = _built.get(bound, 0) >= limit
    return ~Q(destination__startswith="C") if full else Q()


def build(
    row: SubmitterTransaction, channel: Keypair, distribution: Keypair, sequence: int
) -> tuple[str, str, str]:
    """The signed, fee-bumped SAC transfer paying ``row``: (hash hex, base64
    XDR, paying account). Raises ContractRefused (final) or Retry."""
    max_ledger = int(row.locked_until_ledger_number or 0)
    _take_lane(max_ledger)
    tx = _transfer_tx(row, channel, distribution, sequence, max_ledger)
    sim = _simulate(tx)
    crashpoints.reached("after_simulate")
    if sim.error:
        if "Error(Storage, MissingValue)" in sim.error:
            _deploy(distribution, sac_asset(row), sim.latest_ledger)
        raise ContractRefused(sac_reason(sim.error))
    if sim.restore_preamble is not None:
        _restore(distribution, sim)
    tx = _assemble(tx, sim)
    tx.sign(channel)
    tx.sign(distribution)
    bump = TransactionBuilder.build_fee_bump_transaction(
        fee_source=distribution.public_key,
        base_fee=settings.MAX_BASE_FEE,
        inner_transaction_envelope=tx,
        network_passphrase=settings.NETWORK_PASSPHRASE,
    )
    bump.sign(distribution)
    return bump.hash_hex(), bump.to_xdr(), distribution.public_key


def _send_rpc(envelope_xdr: str) -> horizon.AsyncResult:
    try:
        answer = _call("sendTransaction", server().send_transaction, envelope_xdr)
    except BaseHorizonError as exc:
        # 504 (maybe accepted), 429, 503: nothing proven either way
        return horizon.AsyncResult("UNKNOWN", int(exc.status or 0))
    except Exception:
        return horizon.AsyncResult("UNKNOWN", 0)
    status = str(answer.status.value)
    if status not in ("PENDING", "DUPLICATE", "ERROR", "TRY_AGAIN_LATER"):
        return horizon.AsyncResult("UNKNOWN", 200)
    http_status = 503 if status == "TRY_AGAIN_LATER" else 200
    return horizon.AsyncResult(status, http_status, answer.error_result_xdr or "")


def submit_async(row: SubmitterTransaction) -> horizon.AsyncResult:
    """Send a stored envelope: a contract payment through RPC, any other
    through Horizon; the answer in the same terms for the engine."""
    envelope_xdr = row.envelope_xdr or ""
    if is_contract(row.destination):
        return _send_rpc(envelope_xdr)
    return horizon.submit_async(envelope_xdr)


def count_finished(
    sender: object, submitter_transactions: list[SubmitterTransaction], **_: Any
) -> None:
    """Contract payments counted apart from the classic ones."""
    for row in submitter_transactions:
        if is_contract(row.destination):
            metrics.contract_payments.labels(result=str(row.status).lower()).inc()


def describe_transaction(tx_hash: str) -> dict[str, Any]:
    """The transaction as Stellar RPC shows it (status, ledger, fee bump) and
    its contract events with their topics and values read as plain values:
    what the admin shows for a contract payment."""
    got = _call("getTransaction", server().get_transaction, tx_hash)
    events: list[dict[str, Any]] = []
    groups = got.events.contract_events_xdr if got.events is not None else None
    for group in groups or []:
        for item in group:
            event = stellar_xdr.ContractEvent.from_xdr(item)
            body = event.body.v0
            if body is None:
                continue
            contract_id = (
                StrKey.encode_contract(event.contract_id.contract_id.hash)
                if event.contract_id is not None
                else ""
            )
            events.append(
                {
                    "contract": contract_id,
                    "topics": [_plain(topic) for topic in body.topics],
                    "value": _plain(body.data),
                }
            )
    return {
        "status": str(got.status.value),
        "ledger": got.ledger,
        "fee_bump": got.fee_bump,
        "events": events,
    }


def _plain(value: stellar_xdr.SCVal) -> Any:
    native = scval.to_native(value)
    if isinstance(native, bytes):
        return native.decode(errors="replace")
    if isinstance(native, Address):
        return native.address
    return native
