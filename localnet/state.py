"""Saving the network to a JSON file on each ledger close, and loading it back.

The file holds accounts, trustlines, recent ledger headers and the included
transactions (their envelopes, re-decoded on load). A file that is not a
localnet state file, has another format version, or belongs to another
network passphrase is refused with StateFileError.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

from localnet import sac
from localnet.ledger import Account, OpResult, SorobanOutcome, TrustLine, TxResult
from localnet.node import LedgerRecord, Node, TxRecord

FORMAT = "sdp-localnet-state"
VERSION = 1


class StateFileError(Exception):
    """The state file can't be used; the message says why."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _result_to_json(result: TxResult) -> dict:
    data = {"code": result.code, "fee_charged": result.fee_charged}
    if result.op_results is not None:
        data["ops"] = [
            [r.outer, r.type, r.code, r.merged_balance, _soroban_to_json(r.soroban)]
            for r in result.op_results
        ]
    if result.inner is not None:
        data["inner"] = _result_to_json(result.inner)
        data["inner_hash"] = result.inner_hash.hex()
    return data


def _soroban_to_json(outcome: SorobanOutcome | None) -> dict | None:
    if outcome is None:
        return None
    return {
        "events": [event.to_xdr() for event in outcome.events],
        "return_value": (
            outcome.return_value.to_xdr() if outcome.return_value is not None else None
        ),
        "error": outcome.error,
    }


def _soroban_from_json(data: dict | None) -> SorobanOutcome | None:
    if data is None:
        return None
    from stellar_sdk import xdr as X

    value = data["return_value"]
    return SorobanOutcome(
        [X.ContractEvent.from_xdr(event) for event in data["events"]],
        X.SCVal.from_xdr(value) if value is not None else None,
        data["error"],
    )


def _result_from_json(data: dict) -> TxResult:
    ops = None
    if "ops" in data:
        ops = []
        for outer, op_type, code, merged, *rest in data["ops"]:
            op_result = OpResult(op_type, code, outer)
            op_result.merged_balance = merged
            op_result.soroban = _soroban_from_json(rest[0] if rest else None)
            ops.append(op_result)
    inner = _result_from_json(data["inner"]) if "inner" in data else None
    inner_hash = bytes.fromhex(data["inner_hash"]) if "inner_hash" in data else None
    return TxResult(data["code"], data["fee_charged"], ops, inner, inner_hash)


def snapshot(node: Node) -> dict:
    """The node as JSON-ready data (call with the node's lock held)."""
    ledger = node.ledger
    accounts = []
    for acc in ledger.accounts.values():
        accounts.append(
            {
                "id": acc.account_id,
                "balance": acc.balance,
                "seq_num": acc.seq_num,
                "num_sub_entries": acc.num_sub_entries,
                "flags": acc.flags,
                "home_domain": _b64(acc.home_domain),
                "inflation_dest": acc.inflation_dest,
                "thresholds": list(acc.thresholds),
                "signers": [[k, w, s] for k, (w, s) in acc.signers.items()],
                "num_sponsored": acc.num_sponsored,
                "num_sponsoring": acc.num_sponsoring,
                "sponsor": acc.sponsor,
                "data": [[_b64(n), _b64(v), s] for n, (v, s) in acc.data.items()],
                "last_modified": acc.last_modified,
                "seq_ledger": acc.seq_ledger,
                "seq_time": acc.seq_time,
            }
        )
    trustlines = []
    for lines in ledger.lines.values():
        for line in lines.values():
            trustlines.append(
                {
                    "account": line.account_id,
                    "code": line.asset[0],
                    "issuer": line.asset[1],
                    "balance": line.balance,
                    "limit": line.limit,
                    "flags": line.flags,
                    "sponsor": line.sponsor,
                    "last_modified": line.last_modified,
                }
            )
    transactions = [
        {
            "envelope_xdr": record.env.xdr,
            "result": _result_to_json(record.result),
            "ledger": record.ledger,
            "index": record.index,
            "closed_at": record.closed_at,
        }
        for record in node.history
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "network_passphrase": node.passphrase,
        "fee_pool": ledger.fee_pool,
        "total_coins": ledger.total_coins,
        "accounts": accounts,
        "trustlines": trustlines,
        "ledgers": [record.to_json() for record in node.ledgers],
        "transactions": transactions,
        "contract_data": [
            {
                "key": _b64(entry.key_xdr),
                "value": entry.value.to_xdr(),
                "live_until": entry.live_until,
                "last_modified": entry.last_modified,
            }
            for entry in ledger.contract_data.values()
        ],
        "persistent_ttl": ledger.persistent_ttl,
    }


def save(node: Node, path: str | os.PathLike) -> None:
    """Write the state atomically (a crash never leaves half a file)."""
    with node.lock:
        data = snapshot(node)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(node: Node, path: str | os.PathLike) -> None:
    """Replace the node's state with the file's; raise StateFileError if the
    file is corrupt, of another format, or of another network."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise StateFileError(
            f"{path} is not a localnet state file (not JSON: {exc})"
        ) from exc
    except OSError as exc:
        raise StateFileError(f"{path} can't be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError(f"{path} is not a localnet state file")
    if data.get("version") != VERSION:
        raise StateFileError(
            f"{path} has state format version {data.get('version')!r}; "
            f"this localnet reads version {VERSION}"
        )
    if data.get("network_passphrase") != node.passphrase:
        raise StateFileError(
            f"{path} belongs to the network {data.get('network_passphrase')!r}, "
            f"not {node.passphrase!r}; use another --state file or that passphrase"
        )
    try:
        _restore(node, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{path} is corrupt: {exc!r}") from exc


def _restore(node: Node, data: dict) -> None:
    with node.lock:
        node._genesis()
        ledger = node.ledger
        ledger.accounts.clear()
        ledger.lines.clear()
        ledger.fee_pool = int(data["fee_pool"])
        ledger.total_coins = int(data["total_coins"])
        for item in data["accounts"]:
            acc = Account(
                item["id"],
                int(item["balance"]),
                int(item["seq_num"]),
                int(item["last_modified"]),
            )
            acc.num_sub_entries = item["num_sub_entries"]
            acc.flags = item["flags"]
            acc.home_domain = _unb64(item["home_domain"])
            acc.inflation_dest = item["inflation_dest"]
            acc.thresholds = tuple(item["thresholds"])
            acc.signers = {k: (w, s) for k, w, s in item["signers"]}
            acc.num_sponsored = item["num_sponsored"]
            acc.num_sponsoring = item["num_sponsoring"]
            acc.sponsor = item["sponsor"]
            acc.data = {_unb64(n): (_unb64(v), s) for n, v, s in item["data"]}
            acc.seq_ledger = item["seq_ledger"]
            acc.seq_time = item["seq_time"]
            ledger.accounts[acc.account_id] = acc
        for item in data["trustlines"]:
            asset = (item["code"], item["issuer"])
            line = TrustLine(
                item["account"],
                asset,
                int(item["limit"]),
                item["flags"],
                item["last_modified"],
            )
            line.balance = int(item["balance"])
            line.sponsor = item["sponsor"]
            ledger.lines.setdefault(line.account_id, {})[asset] = line
        for item in data.get("contract_data", []):
            ledger.contract_data[_unb64(item["key"])] = sac.entry_from_state(
                _unb64(item["key"]),
                item["value"],
                item["live_until"],
                item["last_modified"],
            )
        ledger.persistent_ttl = int(data.get("persistent_ttl", ledger.persistent_ttl))
        if ledger.total_native() + ledger.fee_pool != ledger.total_coins:
            raise ValueError("balances and fee pool don't add up to the total coins")
        node.ledgers.clear()
        for item in data["ledgers"]:
            node.ledgers.append(LedgerRecord.from_json(item))
        if not node.ledgers:
            raise ValueError("no ledgers")
        ledger.ledger_seq = node.latest.seq
        for item in data["transactions"]:
            env = node.parse(item["envelope_xdr"])
            record = TxRecord(
                env,
                _result_from_json(item["result"]),
                item["ledger"],
                item["index"],
                item["closed_at"],
            )
            node._index(record)
