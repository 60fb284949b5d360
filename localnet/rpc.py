"""Stellar RPC (JSON-RPC 2.0) over a Node: what a payer of contract accounts uses.

Served at ``POST /rpc`` of the localnet (the real RPC has its own port; a
client only needs the URL). Methods: getHealth, getNetwork, getLatestLedger,
getLedgerEntries, simulateTransaction, sendTransaction, getTransaction,
getEvents, getFeeStats. Answers have the real RPC's field names and XDR, so
``stellar_sdk.SorobanServer`` reads them as it reads the real network's.

Like the real RPC, sendTransaction does not wait: it answers PENDING,
DUPLICATE, TRY_AGAIN_LATER or ERROR (with ``errorResultXdr``); getTransaction
answers NOT_FOUND until the transaction's ledger is ingested (the
``ingestion_lag`` fault delays that), then SUCCESS or FAILED with the result
and the meta (events and return value).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time

from stellar_sdk import StrKey
from stellar_sdk import xdr as X

from localnet import codes as C
from localnet import sac
from localnet.envelope import (
    MalformedEnvelopeError,
    account_id_of,
    account_of,
    asset_of,
)
from localnet.ledger import PROTOCOL_VERSION
from localnet.node import ERROR, PENDING, Node, TxRecord
from localnet.results import result_xdr

log = logging.getLogger("localnet")

RETENTION_WINDOW = 17_280  # ledgers of history the RPC keeps (one day)
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


class RpcFailure(Exception):
    """An HTTP-level failure (a fault): status and plain-text body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class RpcError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def handle(node: Node, body: bytes) -> tuple[int, dict]:
    """One JSON-RPC request (no batches, as the real RPC)."""
    try:
        request = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return 200, _error(None, PARSE_ERROR, "parse error")
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
        return 200, _error(None, INVALID_REQUEST, "invalid request")
    request_id = request.get("id")
    method = request.get("method")
    params = request.get("params") or {}
    if not isinstance(params, dict):
        return 200, _error(request_id, INVALID_PARAMS, "params must be an object")
    handler = _METHODS.get(method) if isinstance(method, str) else None
    if handler is None:
        return 200, _error(request_id, METHOD_NOT_FOUND, "method not found")
    try:
        result = handler(node, params)
    except RpcError as exc:
        return 200, _error(request_id, exc.code, exc.message)
    except Exception:
        log.exception("RPC %s failed", method)
        return 200, _error(request_id, INTERNAL_ERROR, "internal error")
    return 200, {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error(request_id, code: int, message: str) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": code, "message": message},
    }


def _oldest(node: Node) -> int:
    return max(1, node.history_latest_ledger - RETENTION_WINDOW + 1)


def _close_time(node: Node, seq: int) -> int:
    for record in reversed(node.ledgers):
        if record.seq <= seq:
            return record.closed_at
    return node.latest.closed_at


def _ledger_window(node: Node) -> dict:
    latest = node.history_latest_ledger
    oldest = _oldest(node)
    return {
        "latestLedger": latest,
        "latestLedgerCloseTime": str(_close_time(node, latest)),
        "oldestLedger": oldest,
        "oldestLedgerCloseTime": str(_close_time(node, oldest)),
    }


# ---- simple reads ----------------------------------------------------------------------


def get_health(node: Node, params: dict) -> dict:
    with node.lock:
        return {
            "status": "healthy",
            "latestLedger": node.history_latest_ledger,
            "oldestLedger": _oldest(node),
            "ledgerRetentionWindow": RETENTION_WINDOW,
        }


def get_network(node: Node, params: dict) -> dict:
    return {
        "friendbotUrl": None,
        "passphrase": node.passphrase,
        "protocolVersion": PROTOCOL_VERSION,
    }


def _header_xdr(node: Node, seq: int) -> tuple[str, str, str, int]:
    record = next((r for r in reversed(node.ledgers) if r.seq == seq), node.latest)
    header = X.LedgerHeader(
        ledger_version=X.Uint32(PROTOCOL_VERSION),
        previous_ledger_hash=X.Hash(bytes.fromhex(record.prev_hash)),
        scp_value=X.StellarValue(
            tx_set_hash=X.Hash(hashlib.sha256(bytes.fromhex(record.hash)).digest()),
            close_time=X.TimePoint(X.Uint64(record.closed_at)),
            upgrades=[],
            ext=X.StellarValueExt(X.StellarValueType.STELLAR_VALUE_BASIC),
        ),
        tx_set_result_hash=X.Hash(b"\0" * 32),
        bucket_list_hash=X.Hash(b"\0" * 32),
        ledger_seq=X.Uint32(record.seq),
        total_coins=X.Int64(record.total_coins),
        fee_pool=X.Int64(record.fee_pool),
        inflation_seq=X.Uint32(0),
        id_pool=X.Uint64(0),
        base_fee=X.Uint32(record.base_fee),
        base_reserve=X.Uint32(record.base_reserve),
        max_tx_set_size=X.Uint32(record.max_tx_set_size),
        skip_list=[X.Hash(b"\0" * 32)] * 4,
        ext=X.LedgerHeaderExt(0),
    )
    entry = X.LedgerHeaderHistoryEntry(
        hash=X.Hash(bytes.fromhex(record.hash)),
        header=header,
        ext=X.LedgerHeaderHistoryEntryExt(0),
    )
    meta = X.LedgerCloseMeta(
        0,
        v0=X.LedgerCloseMetaV0(
            ledger_header=entry,
            tx_set=X.TransactionSet(
                previous_ledger_hash=X.Hash(bytes.fromhex(record.prev_hash)), txs=[]
            ),
            tx_processing=[],
            upgrades_processing=[],
            scp_info=[],
        ),
    )
    return record.hash, header.to_xdr(), meta.to_xdr(), record.closed_at


def get_latest_ledger(node: Node, params: dict) -> dict:
    with node.lock:
        seq = node.history_latest_ledger
        ledger_hash, header, meta, closed_at = _header_xdr(node, seq)
    return {
        "id": ledger_hash,
        "protocolVersion": PROTOCOL_VERSION,
        "sequence": seq,
        "closeTime": str(closed_at),
        "headerXdr": header,
        "metadataXdr": meta,
    }


def get_fee_stats(node: Node, params: dict) -> dict:
    with node.lock:
        latest = node.history_latest_ledger
        base = node.ledger.base_fee
    flat = {
        name: str(base)
        for name in (
            "max",
            "min",
            "mode",
            "p10",
            "p20",
            "p30",
            "p40",
            "p50",
            "p60",
            "p70",
            "p80",
            "p90",
            "p95",
            "p99",
        )
    }
    dist = {**flat, "transactionCount": "0", "ledgerCount": "5"}
    return {"sorobanInclusionFee": dist, "inclusionFee": dist, "latestLedger": latest}


# ---- ledger entries ---------------------------------------------------------------------


def _account_entry(ledger, account_id: str) -> X.LedgerEntryData | None:
    from stellar_sdk import Keypair

    acc = ledger.accounts.get(account_id)
    if acc is None:
        return None
    return X.LedgerEntryData(
        X.LedgerEntryType.ACCOUNT,
        account=X.AccountEntry(
            account_id=Keypair.from_public_key(account_id).xdr_account_id(),
            balance=X.Int64(acc.balance),
            seq_num=X.SequenceNumber(X.Int64(acc.seq_num)),
            num_sub_entries=X.Uint32(acc.num_sub_entries),
            inflation_dest=None,
            flags=X.Uint32(acc.flags),
            home_domain=X.String32(acc.home_domain),
            thresholds=X.Thresholds(bytes(acc.thresholds)),
            signers=[],
            ext=X.AccountEntryExt(0),
        ),
    )


def _trustline_entry(ledger, account_id: str, asset) -> X.LedgerEntryData | None:
    from stellar_sdk import Asset, Keypair

    line = ledger.trustline(account_id, asset)
    if line is None:
        return None
    return X.LedgerEntryData(
        X.LedgerEntryType.TRUSTLINE,
        trust_line=X.TrustLineEntry(
            account_id=Keypair.from_public_key(account_id).xdr_account_id(),
            asset=Asset(asset[0], asset[1]).to_trust_line_asset_xdr_object(),
            balance=X.Int64(line.balance),
            limit=X.Int64(line.limit),
            flags=X.Uint32(line.flags),
            ext=X.TrustLineEntryExt(0),
        ),
    )


def get_ledger_entries(node: Node, params: dict) -> dict:
    keys = params.get("keys")
    if not isinstance(keys, list) or not keys:
        raise RpcError(INVALID_PARAMS, "keys must be a non-empty array")
    if len(keys) > 200:
        raise RpcError(
            INVALID_PARAMS,
            f"key count ({len(keys)}) exceeds maximum supported (200)",
        )
    entries = []
    with node.lock:
        ledger = node.ledger
        for text in keys:
            try:
                key = X.LedgerKey.from_xdr(text)
            except Exception as exc:
                raise RpcError(
                    INVALID_PARAMS, f"cannot unmarshal key value {text!r}"
                ) from exc
            kind = key.type
            live_until = None
            last_modified = node.latest.seq
            if kind == X.LedgerEntryType.CONTRACT_DATA:
                entry = ledger.contract_data.get(key.to_xdr_bytes())
                data = entry.entry_data() if entry is not None else None
                if entry is not None:
                    live_until = entry.live_until
                    last_modified = entry.last_modified
            elif kind == X.LedgerEntryType.ACCOUNT:
                account_id = account_id_of(key.account.account_id)
                data = _account_entry(ledger, account_id)
                acc = ledger.accounts.get(account_id)
                if acc is not None:
                    last_modified = acc.last_modified
            elif kind == X.LedgerEntryType.TRUSTLINE:
                tl = key.trust_line
                account_id = account_id_of(tl.account_id)
                try:
                    asset = asset_of(tl.asset)
                except MalformedEnvelopeError:
                    asset = None
                data = (
                    _trustline_entry(ledger, account_id, asset)
                    if asset is not None
                    else None
                )
            else:
                data = None
            if data is None:
                continue
            item = {
                "key": text,
                "xdr": data.to_xdr(),
                "lastModifiedLedgerSeq": last_modified,
            }
            if live_until is not None:
                item["liveUntilLedgerSeq"] = live_until
            entries.append(item)
        latest = node.history_latest_ledger
    return {"entries": entries, "latestLedger": latest}


# ---- simulation ------------------------------------------------------------------------


def _soroban_data(res: sac.Resources, fee: int) -> X.SorobanTransactionData:
    return X.SorobanTransactionData(
        ext=X.SorobanTransactionDataExt(0),
        resources=X.SorobanResources(
            footprint=X.LedgerFootprint(
                read_only=[X.LedgerKey.from_xdr_bytes(k) for k in res.read_only],
                read_write=[X.LedgerKey.from_xdr_bytes(k) for k in res.read_write],
            ),
            instructions=X.Uint32(res.instructions),
            disk_read_bytes=X.Uint32(res.read_bytes),
            write_bytes=X.Uint32(res.write_bytes),
        ),
        resource_fee=X.Int64(fee),
    )


# room for what assembling adds after the simulation: signatures and a fee bump
_SIGNATURE_ALLOWANCE = 300


def _assembled_size(
    envelope: X.TransactionEnvelope, data: X.SorobanTransactionData, auth
) -> int:
    env = copy.deepcopy(envelope)
    tx = env.v1.tx
    tx.ext = X.TransactionExt(1, soroban_data=data)
    op = tx.operations[0].body.invoke_host_function_op
    if op is not None and not op.auth:
        op.auth = list(auth)
    return len(env.to_xdr_bytes()) + _SIGNATURE_ALLOWANCE


def simulate_transaction(node: Node, params: dict) -> dict:
    text = params.get("transaction")
    if not isinstance(text, str):
        raise RpcError(INVALID_PARAMS, "transaction is required")
    try:
        envelope = X.TransactionEnvelope.from_xdr(text)
    except Exception as exc:
        raise RpcError(INVALID_PARAMS, "could not unmarshal transaction") from exc
    if envelope.type != X.EnvelopeType.ENVELOPE_TYPE_TX:
        raise RpcError(INVALID_PARAMS, "only v1 transactions can be simulated")
    tx = envelope.v1.tx
    ops = tx.operations
    if len(ops) != 1:
        raise RpcError(
            INVALID_PARAMS,
            "transaction contains more than one operation"
            if ops
            else "transaction contains no operations",
        )
    op = ops[0]
    op_type = op.body.type.value
    with node.lock:
        latest = node.latest.seq
        answer: dict = {"latestLedger": node.history_latest_ledger}
        ledger = node.ledger
        source = account_of(op.source_account or tx.source_account)
        if op_type == C.RESTORE_FOOTPRINT or op_type == C.EXTEND_FOOTPRINT_TTL:
            if tx.ext.v != 1:
                raise RpcError(
                    INVALID_PARAMS, "the transaction needs its footprint (sorobanData)"
                )
            res = sac.declared_resources(tx.ext.soroban_data)
            restored = sum(
                ledger.contract_data[k].size()
                for k in res.read_write
                if k in ledger.contract_data
            )
            res.instructions = 0
            res.read_bytes = restored
            res.write_bytes = restored
            data = _soroban_data(res, 0)
            size = _assembled_size(envelope, data, [])
            fee = sac.resource_fee(res, size, 0, restored, ledger.persistent_ttl)
            answer.update(
                transactionData=_soroban_data(res, fee).to_xdr(),
                minResourceFee=str(fee),
                cost={"cpuInsns": "0", "memBytes": "0"},
                results=[],
                events=[],
            )
            return answer
        if op_type != C.INVOKE_HOST_FUNCTION:
            raise RpcError(
                INVALID_PARAMS,
                "transaction contains no InvokeHostFunction, ExtendFootprintTTL "
                "or RestoreFootprint operation",
            )
        host = sac.Host(ledger, latest + 1, source)
        try:
            value = host.run(op.body.invoke_host_function_op.host_function)
        except sac.HostError as exc:
            answer["error"] = exc.message
            return answer
        res = host.resources()
        archived = sorted(set(host.archived))
        rent_ledgers = ledger.persistent_ttl
        data = _soroban_data(res, 0)
        size = _assembled_size(envelope, data, host.required_auth)
        fee = sac.resource_fee(
            res, size, host.events_size(), host.rent_bytes, rent_ledgers
        )
        answer.update(
            transactionData=_soroban_data(res, fee).to_xdr(),
            minResourceFee=str(fee),
            events=[
                X.DiagnosticEvent(in_successful_contract_call=True, event=e).to_xdr()
                for e in host.events
            ],
            results=[
                {
                    "auth": [a.to_xdr() for a in host.required_auth],
                    "xdr": value.to_xdr(),
                }
            ],
            cost={"cpuInsns": str(res.instructions), "memBytes": "0"},
        )
        if archived:
            restore_res = sac.Resources(read_write=archived)
            restore_res.read_bytes = restore_res.write_bytes = sum(
                ledger.contract_data[k].size() for k in archived
            )
            restore_data = _soroban_data(restore_res, 0)
            restore_fee = sac.resource_fee(
                restore_res,
                len(restore_data.to_xdr_bytes()) + 400,
                0,
                restore_res.write_bytes,
                rent_ledgers,
            )
            answer["restorePreamble"] = {
                "transactionData": _soroban_data(restore_res, restore_fee).to_xdr(),
                "minResourceFee": str(restore_fee),
            }
        return answer


# ---- submission ----------------------------------------------------------------------------


def send_transaction(node: Node, params: dict) -> dict:
    text = params.get("transaction")
    if not isinstance(text, str):
        raise RpcError(INVALID_PARAMS, "transaction is required")
    try:
        env = node.parse(text)
    except MalformedEnvelopeError as exc:
        raise RpcError(INVALID_PARAMS, "invalid_xdr") from exc
    if node.roll("timeout_drop"):
        raise RpcFailure(504, "Gateway Timeout")
    outcome = node.submit(env)
    with node.lock:
        answer = {
            "status": outcome.status,
            "hash": env.hash_hex,
            "latestLedger": node.history_latest_ledger,
            "latestLedgerCloseTime": str(node.latest.closed_at),
        }
    if outcome.status == PENDING and node.roll("timeout_after_accept"):
        raise RpcFailure(504, "Gateway Timeout")
    if outcome.status == ERROR:
        answer["errorResultXdr"] = result_xdr(outcome.result)
    return answer


def _meta_xdr(record: TxRecord) -> str:
    soroban_meta = None
    ops = record.result.inner.op_results if record.result.inner else None
    ops = ops if ops is not None else record.result.op_results
    outcome = ops[0].soroban if ops else None
    if record.env.inner.soroban is not None:
        events = outcome.events if outcome is not None else []
        value = (
            outcome.return_value
            if outcome is not None and outcome.return_value is not None
            else X.SCVal(X.SCValType.SCV_VOID)
        )
        soroban_meta = X.SorobanTransactionMeta(
            ext=X.SorobanTransactionMetaExt(0),
            events=events,
            return_value=value,
            diagnostic_events=[],
        )
    meta = X.TransactionMeta(
        3,
        v3=X.TransactionMetaV3(
            ext=X.ExtensionPoint(0),
            tx_changes_before=X.LedgerEntryChanges([]),
            operations=[
                X.OperationMeta(X.LedgerEntryChanges([]))
                for _ in record.env.inner.operations
            ]
            if record.result.successful
            else [],
            tx_changes_after=X.LedgerEntryChanges([]),
            soroban_meta=soroban_meta,
        ),
    )
    return meta.to_xdr()


def record_events(record: TxRecord) -> list[X.ContractEvent]:
    if not record.result.successful:
        return []
    ops = record.result.inner.op_results if record.result.inner else None
    ops = ops if ops is not None else record.result.op_results
    outcome = ops[0].soroban if ops else None
    return list(outcome.events) if outcome is not None else []


def get_transaction(node: Node, params: dict) -> dict:
    tx_hash = params.get("hash")
    if not isinstance(tx_hash, str) or len(tx_hash) != 64:
        raise RpcError(INVALID_PARAMS, "unexpected hash length")
    tx_hash = tx_hash.lower()
    record = node.transaction(tx_hash)
    with node.lock:
        answer = {"txHash": tx_hash, **_ledger_window(node)}
    if record is None:
        answer["status"] = "NOT_FOUND"
        return answer
    events = record_events(record)
    answer.update(
        status="SUCCESS" if record.result.successful else "FAILED",
        applicationOrder=record.index,
        feeBump=record.env.is_fee_bump,
        envelopeXdr=record.env.xdr,
        resultXdr=record.result_xdr,
        resultMetaXdr=_meta_xdr(record),
        ledger=record.ledger,
        createdAt=str(record.closed_at),
        events={
            "transactionEventsXdr": [],
            "contractEventsXdr": [[e.to_xdr() for e in events]],
        },
    )
    return answer


# ---- events ---------------------------------------------------------------------------------


def _event_id(record: TxRecord, index: int) -> str:
    return f"{record.toid + 1:019d}-{index:010d}"


def _topic_matches(filters: list, topic: list[str]) -> bool:
    for pattern in filters:
        if len(pattern) > len(topic):
            continue
        trailing = pattern and pattern[-1] == "**"
        body = pattern[:-1] if trailing else pattern
        if not trailing and len(body) != len(topic):
            continue
        if all(p == "*" or p == t for p, t in zip(body, topic, strict=False)):
            return True
    return False


def get_events(node: Node, params: dict) -> dict:
    pagination = params.get("pagination") or {}
    limit = int(pagination.get("limit") or 100)
    if not 1 <= limit <= 10_000:
        raise RpcError(INVALID_PARAMS, "limit must be between 1 and 10000")
    cursor = pagination.get("cursor")
    start = params.get("startLedger")
    if cursor is None and not isinstance(start, int):
        raise RpcError(INVALID_PARAMS, "startLedger must be positive")
    filters = params.get("filters") or []
    if not isinstance(filters, list) or len(filters) > 5:
        raise RpcError(INVALID_PARAMS, "maximum 5 filters per request")
    with node.lock:
        latest = node.history_latest_ledger
        oldest = _oldest(node)
        if cursor is None and not oldest <= start <= latest:
            raise RpcError(
                INVALID_PARAMS,
                f"startLedger must be between the oldest ledger: {oldest} and the "
                f"latest ledger: {latest} for this rpc instance.",
            )
        after = cursor or ""
        first = start if cursor is None else int(cursor.split("-")[0]) >> 32
        end = params.get("endLedger") or latest + 1
        events = []
        last_id = after
        for seq in range(first, min(end, latest + 1)):
            for record in node.ledger_records(seq):
                for index, event in enumerate(record_events(record)):
                    event_id = _event_id(record, index)
                    if after and event_id <= after:
                        continue
                    contract = StrKey.encode_contract(
                        event.contract_id.contract_id.hash
                    )
                    topic = [t.to_xdr() for t in event.body.v0.topics]
                    if filters and not any(
                        (f.get("type") in (None, "contract"))
                        and (not f.get("contractIds") or contract in f["contractIds"])
                        and (not f.get("topics") or _topic_matches(f["topics"], topic))
                        for f in filters
                    ):
                        continue
                    events.append(
                        {
                            "type": "contract",
                            "ledger": record.ledger,
                            "ledgerClosedAt": time.strftime(
                                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.closed_at)
                            ),
                            "contractId": contract,
                            "id": event_id,
                            "pagingToken": event_id,
                            "operationIndex": 0,
                            "transactionIndex": record.index,
                            "topic": topic,
                            "value": event.body.v0.data.to_xdr(),
                            "txHash": record.env.hash_hex,
                        }
                    )
                    last_id = event_id
                    if len(events) >= limit:
                        break
                if len(events) >= limit:
                    break
            if len(events) >= limit:
                break
        else:
            last_id = last_id or f"{(latest + 1) << 32:019d}-{0:010d}"
        window = _ledger_window(node)
    return {
        "events": events,
        "cursor": last_id,
        "latestLedger": window["latestLedger"],
        "oldestLedger": window["oldestLedger"],
        "latestLedgerCloseTime": window["latestLedgerCloseTime"],
        "oldestLedgerCloseTime": window["oldestLedgerCloseTime"],
    }


_METHODS = {
    "getHealth": get_health,
    "getNetwork": get_network,
    "getLatestLedger": get_latest_ledger,
    "getLedgerEntries": get_ledger_entries,
    "getFeeStats": get_fee_stats,
    "simulateTransaction": simulate_transaction,
    "sendTransaction": send_transaction,
    "getTransaction": get_transaction,
    "getEvents": get_events,
}
