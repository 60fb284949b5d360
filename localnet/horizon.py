"""Horizon's JSON shapes: resources, pages and problem documents."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import urlencode

from stellar_sdk import MuxedAccount

from localnet import codes as C
from localnet.envelope import asset_type_name
from localnet.ledger import (
    AUTH_CLAWBACK_ENABLED,
    AUTH_IMMUTABLE,
    AUTH_REQUIRED,
    AUTH_REVOCABLE,
    INT64_MAX,
    TRUSTLINE_AUTHORIZED,
    TRUSTLINE_AUTHORIZED_TO_MAINTAIN_LIABILITIES,
    TRUSTLINE_CLAWBACK_ENABLED,
    Account,
    Ledger,
)

HORIZON_ERRORS = "https://stellar.org/horizon-errors/"


def amount(stroops: int) -> str:
    """Stroops as Horizon's 7-decimal string (no floats anywhere)."""
    sign = "-" if stroops < 0 else ""
    whole, fraction = divmod(abs(stroops), 10_000_000)
    return f"{sign}{whole}.{fraction:07d}"


def timestamp(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def problem(
    status: int, kind: str, title: str, detail: str, extras: dict | None = None
) -> dict:
    body = {
        "type": HORIZON_ERRORS + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if extras is not None:
        body["extras"] = extras
    return body


def not_found() -> dict:
    return problem(
        404,
        "not_found",
        "Resource Missing",
        "The resource at the url requested was not found.  This usually occurs for "
        "one of two reasons:  The url requested is not valid, or no data in our "
        "database could be found with the parameters provided.",
    )


def bad_request(field: str, reason: str) -> dict:
    return problem(
        400,
        "bad_request",
        "Bad Request",
        "The request you sent was invalid in some way.",
        {"invalid_field": field, "reason": reason},
    )


def account_json(ledger: Ledger, acc: Account, base: str) -> dict:
    balances = []
    for asset, line in sorted((ledger.lines.get(acc.account_id) or {}).items()):
        entry = {
            "balance": amount(line.balance),
            "limit": amount(line.limit),
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "last_modified_ledger": line.last_modified,
            "is_authorized": bool(line.flags & TRUSTLINE_AUTHORIZED),
            "is_authorized_to_maintain_liabilities": bool(
                line.flags
                & (TRUSTLINE_AUTHORIZED | TRUSTLINE_AUTHORIZED_TO_MAINTAIN_LIABILITIES)
            ),
            "is_clawback_enabled": bool(line.flags & TRUSTLINE_CLAWBACK_ENABLED),
            "asset_type": asset_type_name(asset),
            "asset_code": asset[0],
            "asset_issuer": asset[1],
        }
        if line.sponsor:
            entry["sponsor"] = line.sponsor
        balances.append(entry)
    balances.append(
        {
            "balance": amount(acc.balance),
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "asset_type": "native",
        }
    )
    signers = []
    for key, (weight, sponsor) in acc.signers.items():
        signer = {"weight": weight, "key": key, "type": _signer_type(key)}
        if sponsor:
            signer["sponsor"] = sponsor
        signers.append(signer)
    if acc.thresholds[0]:
        signers.append(
            {
                "weight": acc.thresholds[0],
                "key": acc.account_id,
                "type": "ed25519_public_key",
            }
        )
    href = f"{base}/accounts/{acc.account_id}"
    body = {
        "_links": {
            "self": {"href": href},
            "transactions": {
                "href": href + "/transactions{?cursor,limit,order}",
                "templated": True,
            },
            "payments": {
                "href": href + "/payments{?cursor,limit,order}",
                "templated": True,
            },
        },
        "id": acc.account_id,
        "account_id": acc.account_id,
        "sequence": str(acc.seq_num),
        "sequence_ledger": acc.seq_ledger,
        "sequence_time": str(acc.seq_time),
        "subentry_count": acc.num_sub_entries,
        "last_modified_ledger": acc.last_modified,
        "thresholds": {
            "low_threshold": acc.thresholds[1],
            "med_threshold": acc.thresholds[2],
            "high_threshold": acc.thresholds[3],
        },
        "flags": {
            "auth_required": bool(acc.flags & AUTH_REQUIRED),
            "auth_revocable": bool(acc.flags & AUTH_REVOCABLE),
            "auth_immutable": bool(acc.flags & AUTH_IMMUTABLE),
            "auth_clawback_enabled": bool(acc.flags & AUTH_CLAWBACK_ENABLED),
        },
        "balances": balances,
        "signers": signers,
        "data": {
            name.decode("ascii", "replace"): base64.b64encode(value).decode()
            for name, (value, _sponsor) in sorted(acc.data.items())
        },
        "num_sponsoring": acc.num_sponsoring,
        "num_sponsored": acc.num_sponsored,
        "paging_token": acc.account_id,
    }
    if acc.home_domain:
        body["home_domain"] = acc.home_domain.decode("ascii", "replace")
    if acc.inflation_dest:
        body["inflation_destination"] = acc.inflation_dest
    if acc.sponsor:
        body["sponsor"] = acc.sponsor
    return body


def _signer_type(key: str) -> str:
    return {
        "G": "ed25519_public_key",
        "T": "preauth_tx",
        "X": "sha256_hash",
        "P": "ed25519_signed_payload",
    }[key[0]]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _memo(inner, body: dict) -> None:
    body["memo_type"] = inner.memo_type
    if inner.memo_type == "text":
        body["memo"] = inner.memo_value.decode("utf-8", "replace")
        body["memo_bytes"] = _b64(inner.memo_value)
    elif inner.memo_type == "id":
        body["memo"] = str(inner.memo_value)
    elif inner.memo_type in ("hash", "return"):
        body["memo"] = _b64(inner.memo_value)


def transaction_json(record, base: str, requested_hash: str | None = None) -> dict:
    env = record.env
    inner = env.inner
    tx_hash = requested_hash or env.hash_hex
    body = {
        "_links": {
            "self": {"href": f"{base}/transactions/{tx_hash}"},
            "account": {"href": f"{base}/accounts/{inner.source}"},
            "ledger": {"href": f"{base}/ledgers/{record.ledger}"},
        },
        "id": tx_hash,
        "paging_token": str(record.toid),
        "successful": record.result.successful,
        "hash": tx_hash,
        "ledger": record.ledger,
        "created_at": timestamp(record.closed_at),
        "source_account": inner.source,
        "source_account_sequence": str(inner.seq_num),
        "fee_account": env.fee_payer,
        "fee_charged": str(record.result.fee_charged),
        "max_fee": str(env.fee_bid),
        "operation_count": len(inner.operations),
        "envelope_xdr": env.xdr,
        "result_xdr": record.result_xdr,
        "signatures": [
            _b64(sig) for _hint, sig in (env.outer_signatures or inner.signatures).items
        ],
    }
    _memo(inner, body)
    preconditions = {}
    if inner.has_time_bounds:
        preconditions["timebounds"] = {"min_time": str(inner.min_time)}
        if inner.max_time:
            preconditions["timebounds"]["max_time"] = str(inner.max_time)
        body["valid_after"] = timestamp(inner.min_time)
        if inner.max_time:
            body["valid_before"] = timestamp(inner.max_time)
    if inner.has_ledger_bounds:
        preconditions["ledgerbounds"] = {"min_ledger": inner.min_ledger}
        if inner.max_ledger:
            preconditions["ledgerbounds"]["max_ledger"] = inner.max_ledger
    if inner.min_seq_num is not None:
        preconditions["min_account_sequence"] = str(inner.min_seq_num)
    if inner.min_seq_age:
        preconditions["min_account_sequence_age"] = str(inner.min_seq_age)
    if inner.min_seq_ledger_gap:
        preconditions["min_account_sequence_ledger_gap"] = inner.min_seq_ledger_gap
    if inner.extra_signers:
        preconditions["extra_signers"] = list(inner.extra_signers)
    if preconditions:
        body["preconditions"] = preconditions
    if env.is_fee_bump:
        body["fee_bump_transaction"] = {
            "hash": env.hash_hex,
            "signatures": [_b64(sig) for _hint, sig in env.outer_signatures.items],
        }
        body["inner_transaction"] = {
            "hash": inner.hash.hex(),
            "signatures": [_b64(sig) for _hint, sig in inner.signatures.items],
            "max_fee": str(inner.fee),
        }
    return body


def operation_json(record, op_index: int, base: str, join: bool = False) -> dict:
    """An operation record: Horizon's fields for create_account, payment,
    account_merge, change_trust and set_trust_line_flags, the common ones for
    the others; with ``join`` its transaction embedded (``join=transactions``)."""
    env = record.env
    op = env.inner.operations[op_index]
    source = op.source or env.inner.source
    op_id = record.toid + op_index + 1
    body = {
        "_links": {
            "self": {"href": f"{base}/operations/{op_id}"},
            "transaction": {"href": f"{base}/transactions/{env.hash_hex}"},
        },
        "id": str(op_id),
        "paging_token": str(op_id),
        "transaction_successful": record.result.successful,
        "source_account": source,
        "type": C.OPERATION_TYPE_NAMES[op.type],
        "type_i": op.type,
        "created_at": timestamp(record.closed_at),
        "transaction_hash": env.hash_hex,
    }
    f = op.fields
    if op.type == C.CREATE_ACCOUNT:
        body.update(
            starting_balance=amount(f["starting_balance"]),
            funder=source,
            account=f["destination"],
        )
    elif op.type == C.PAYMENT:
        asset = f["asset"]
        body["asset_type"] = asset_type_name(asset)
        if asset is not None:
            body["asset_code"], body["asset_issuer"] = asset
        body.update(
            {"from": source, "to": f["destination"], "amount": amount(f["amount"])}
        )
        if f.get("destination_muxed_id") is not None:  # Horizon's muxed fields
            muxed_id = f["destination_muxed_id"]
            body["to_muxed"] = MuxedAccount(f["destination"], muxed_id).account_muxed
            body["to_muxed_id"] = str(muxed_id)
    elif op.type == C.ACCOUNT_MERGE:
        body.update(account=source, into=f["destination"])
    elif op.type == C.CHANGE_TRUST and "asset" in f:
        _asset_fields(body, f["asset"])
        body.update(limit=amount(f["limit"]), trustor=source)
        if f["asset"] is not None:
            body["trustee"] = f["asset"][1]
    elif op.type == C.SET_TRUST_LINE_FLAGS:
        _asset_fields(body, f["asset"])
        body["trustor"] = f["trustor"]
    if join:
        body["transaction"] = transaction_json(record, base)
    return body


def _asset_fields(body: dict, asset) -> None:
    body["asset_type"] = asset_type_name(asset)
    if asset is not None:
        body["asset_code"], body["asset_issuer"] = asset


def ledger_json(record, base: str) -> dict:
    return {
        "_links": {"self": {"href": f"{base}/ledgers/{record.seq}"}},
        "id": record.hash,
        "paging_token": str(record.seq << 32),
        "hash": record.hash,
        "prev_hash": record.prev_hash,
        "sequence": record.seq,
        "successful_transaction_count": record.successful,
        "failed_transaction_count": record.failed,
        "operation_count": record.operations,
        "tx_set_operation_count": record.tx_set_operations,
        "closed_at": timestamp(record.closed_at),
        "total_coins": amount(record.total_coins),
        "fee_pool": amount(record.fee_pool),
        "base_fee_in_stroops": record.base_fee,
        "base_reserve_in_stroops": record.base_reserve,
        "max_tx_set_size": record.max_tx_set_size,
        "protocol_version": record.protocol_version,
    }


def page(records: list, base: str, path: str, params: dict, cursors: tuple) -> dict:
    """A Horizon page with self/next/prev links."""
    first_cursor, last_cursor = cursors
    order = params.get("order", "asc")
    limit = params.get("limit", 10)

    def link(cursor, link_order):
        query = urlencode({"cursor": cursor, "limit": limit, "order": link_order})
        return {"href": f"{base}{path}?{query}"}

    reverse = "desc" if order == "asc" else "asc"
    return {
        "_links": {
            "self": link(params.get("cursor", ""), order),
            "next": link(last_cursor, order),
            "prev": link(first_cursor, reverse),
        },
        "_embedded": {"records": records},
    }


__all__ = ["INT64_MAX", "amount", "problem"]
