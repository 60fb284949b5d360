"""Decoding of transaction envelopes into plain Python objects.

stellar-sdk's XDR classes do the decoding; this module turns the result into
small objects the ledger can apply quickly, and computes the hashes that the
signatures cover from the raw bytes (re-encoding through the SDK would cost
more than the decoding itself).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from functools import lru_cache

from stellar_sdk import StrKey
from stellar_sdk import xdr as X

from localnet import codes

ENVELOPE_TYPE_TX_V0 = 0
ENVELOPE_TYPE_TX = 2
ENVELOPE_TYPE_TX_FEE_BUMP = 5

MAX_OPS_PER_TX = 100


class MalformedEnvelopeError(ValueError):
    """The bytes are not a transaction envelope this network accepts."""


@lru_cache(maxsize=200_000)
def encode_account(raw: bytes) -> str:
    return StrKey.encode_ed25519_public_key(raw)


@lru_cache(maxsize=200_000)
def account_of(muxed: X.MuxedAccount) -> str:
    """The G… address behind a (possibly muxed) account."""
    if muxed.ed25519 is not None:
        return encode_account(muxed.ed25519.uint256)
    return encode_account(muxed.med25519.ed25519.uint256)


def muxed_id_of(muxed: X.MuxedAccount) -> int | None:
    if muxed.med25519 is not None:
        return muxed.med25519.id.uint64
    return None


def account_id_of(account_id: X.AccountID) -> str:
    return encode_account(account_id.account_id.ed25519.uint256)


def asset_of(asset) -> tuple[str, str] | None:
    """Native is None; a credit asset is (code, issuer).

    Raises MalformedEnvelopeError for a code that is not valid XDR-wise
    (stellar-core answers those with each operation's MALFORMED code, so the
    callers catch it and keep an invalid marker instead).
    """
    if asset.type.value == 0:
        return None
    if asset.alpha_num4 is not None:
        code = asset.alpha_num4.asset_code.asset_code4
        issuer = asset.alpha_num4.issuer
        return (_asset_code(code, 4), account_id_of(issuer))
    if asset.alpha_num12 is not None:
        code = asset.alpha_num12.asset_code.asset_code12
        issuer = asset.alpha_num12.issuer
        return (_asset_code(code, 12), account_id_of(issuer))
    raise MalformedEnvelopeError("liquidity pool assets are not supported")


INVALID_ASSET = ("", "")


def _asset_code(raw: bytes, width: int) -> str:
    """The asset code, or "" when it breaks stellar-core's rules.

    Rules: characters [A-Za-z0-9], zero padding only at the end, 1-4
    characters for alphanum4 and 5-12 for alphanum12.
    """
    stripped = raw.rstrip(b"\x00")
    if not stripped or b"\x00" in stripped:
        return ""
    if not all(chr(c).isascii() and chr(c).isalnum() for c in stripped):
        return ""
    if width == 12 and len(stripped) < 5:
        return ""
    return stripped.decode("ascii")


def asset_type_name(asset: tuple[str, str] | None) -> str:
    if asset is None:
        return "native"
    return "credit_alphanum4" if len(asset[0]) <= 4 else "credit_alphanum12"


def signer_key_string(key: X.SignerKey) -> str:
    kind = key.type.value
    if kind == 0:
        return encode_account(key.ed25519.uint256)
    if kind == 1:
        return StrKey.encode_pre_auth_tx(key.pre_auth_tx.uint256)
    if kind == 2:
        return StrKey.encode_sha256_hash(key.hash_x.uint256)
    payload = key.ed25519_signed_payload
    return StrKey.encode_ed25519_signed_payload(
        payload.ed25519.uint256
        + struct.pack(">I", len(payload.payload))
        + payload.payload
        + b"\x00" * (-len(payload.payload) % 4)
    )


class Operation:
    """One operation: its type, optional source account, and its fields."""

    __slots__ = ("fields", "source", "source_muxed", "type")

    def __init__(self, op_type: int, source: str | None, fields: dict):
        self.type = op_type
        self.source = source
        self.fields = fields
        self.source_muxed = None

    def __getattr__(self, name):  # fields read as attributes
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


def _uint32(value) -> int | None:
    return None if value is None else value.uint32


def _operation(op: X.Operation) -> Operation:
    body = op.body
    op_type = body.type.value
    source = account_of(op.source_account) if op.source_account else None
    fields: dict = {}
    if op_type == codes.CREATE_ACCOUNT:
        b = body.create_account_op
        fields = {
            "destination": account_id_of(b.destination),
            "starting_balance": b.starting_balance.int64,
        }
    elif op_type == codes.PAYMENT:
        b = body.payment_op
        fields = {
            "destination": account_of(b.destination),
            "destination_muxed_id": muxed_id_of(b.destination),
            "asset": _asset_or_invalid(b.asset),
            "amount": b.amount.int64,
        }
    elif op_type == codes.SET_OPTIONS:
        b = body.set_options_op
        signer = None
        if b.signer is not None:
            signer = (signer_key_string(b.signer.key), b.signer.weight.uint32)
        fields = {
            "inflation_dest": (
                account_id_of(b.inflation_dest) if b.inflation_dest else None
            ),
            "clear_flags": _uint32(b.clear_flags),
            "set_flags": _uint32(b.set_flags),
            "master_weight": _uint32(b.master_weight),
            "low_threshold": _uint32(b.low_threshold),
            "med_threshold": _uint32(b.med_threshold),
            "high_threshold": _uint32(b.high_threshold),
            "home_domain": (
                b.home_domain.string32 if b.home_domain is not None else None
            ),
            "signer": signer,
        }
    elif op_type == codes.CHANGE_TRUST:
        b = body.change_trust_op
        if b.line.type.value == 3:  # liquidity pool shares
            return Operation(op_type, source, {"unsupported": True})
        fields = {"asset": _asset_or_invalid(b.line), "limit": b.limit.int64}
    elif op_type == codes.ACCOUNT_MERGE:
        fields = {"destination": account_of(body.destination)}
    elif op_type == codes.MANAGE_DATA:
        b = body.manage_data_op
        fields = {
            "name": b.data_name.string64,
            "value": b.data_value.data_value if b.data_value is not None else None,
        }
    elif op_type == codes.BUMP_SEQUENCE:
        fields = {"bump_to": body.bump_sequence_op.bump_to.sequence_number.int64}
    elif op_type == codes.BEGIN_SPONSORING_FUTURE_RESERVES:
        b = body.begin_sponsoring_future_reserves_op
        fields = {"sponsored_id": account_id_of(b.sponsored_id)}
    elif op_type == codes.END_SPONSORING_FUTURE_RESERVES:
        fields = {}
    elif op_type == codes.REVOKE_SPONSORSHIP:
        b = body.revoke_sponsorship_op
        fields = _revoke_fields(b)
    elif op_type == codes.SET_TRUST_LINE_FLAGS:
        b = body.set_trust_line_flags_op
        fields = {
            "trustor": account_id_of(b.trustor),
            "asset": _asset_or_invalid(b.asset),
            "clear_flags": b.clear_flags.uint32,
            "set_flags": b.set_flags.uint32,
        }
    elif op_type == codes.INVOKE_HOST_FUNCTION:
        b = body.invoke_host_function_op
        fields = {"host_function": b.host_function, "auth": list(b.auth)}
    elif op_type == codes.EXTEND_FOOTPRINT_TTL:
        fields = {"extend_to": body.extend_footprint_ttl_op.extend_to.uint32}
    elif op_type == codes.RESTORE_FOOTPRINT:
        fields = {}
    else:
        fields = {"unsupported": True}
    operation = Operation(op_type, source, fields)
    if op.source_account is not None:
        operation.source_muxed = muxed_id_of(op.source_account)
    return operation


def _asset_or_invalid(asset):
    try:
        return asset_of(asset)
    except MalformedEnvelopeError:
        return INVALID_ASSET


def _revoke_fields(b: X.RevokeSponsorshipOp) -> dict:
    if b.type.value == 1:  # REVOKE_SPONSORSHIP_SIGNER
        return {
            "kind": "signer",
            "account": account_id_of(b.signer.account_id),
            "signer": signer_key_string(b.signer.signer_key),
        }
    key = b.ledger_key
    entry_type = key.type.value
    if entry_type == 0:
        return {"kind": "account", "account": account_id_of(key.account.account_id)}
    if entry_type == 1:
        tl_asset = key.trust_line.asset
        if tl_asset.type.value == 3:
            return {"kind": "pool_share"}
        return {
            "kind": "trustline",
            "account": account_id_of(key.trust_line.account_id),
            "asset": _asset_or_invalid(tl_asset),
        }
    if entry_type == 3:
        return {
            "kind": "data",
            "account": account_id_of(key.data.account_id),
            "name": key.data.data_name.string64,
        }
    if entry_type in (2, 4, 5):  # offers, claimable balances, pools: none exist here
        return {"kind": "absent"}
    return {"kind": "malformed"}


class Signatures:
    """The signatures of one envelope part and what they were checked to sign.

    Verification results are kept, because a transaction's signatures are
    checked at submission and again at apply time (signers may have changed).
    """

    __slots__ = ("hash", "items", "verified")

    def __init__(self, tx_hash: bytes, items: list[tuple[bytes, bytes]]):
        self.hash = tx_hash
        self.items = items
        self.verified: dict[tuple[int, bytes], bool] = {}


class InnerTransaction:
    """A v1 transaction: source, fee, sequence, preconditions, memo, operations."""

    __slots__ = (
        "extra_signers",
        "fee",
        "has_ledger_bounds",
        "has_time_bounds",
        "hash",
        "max_ledger",
        "max_time",
        "memo_type",
        "memo_value",
        "min_ledger",
        "min_seq_age",
        "min_seq_ledger_gap",
        "min_seq_num",
        "min_time",
        "operations",
        "precondition_type",
        "seq_num",
        "signatures",
        "size",
        "soroban",
        "source",
        "source_muxed",
    )

    @property
    def resource_fee(self) -> int:
        return 0 if self.soroban is None else self.soroban.resource_fee.int64


class Envelope:
    """A decoded envelope, ready for validation and apply."""

    __slots__ = (
        "arrival",
        "fee_bid",
        "fee_source",
        "fee_source_muxed",
        "hash",
        "hash_hex",
        "inner",
        "is_fee_bump",
        "op_count",
        "outer_signatures",
        "xdr",
    )

    @property
    def seq_source(self) -> str:
        return self.inner.source

    @property
    def fee_payer(self) -> str:
        return self.fee_source if self.is_fee_bump else self.inner.source

    @property
    def resource_fee(self) -> int:
        """The declared Soroban resource fee (0 for a classic transaction)."""
        return self.inner.resource_fee

    @property
    def inclusion_bid(self) -> int:
        """The bid for inclusion: the fee less the Soroban resource fee."""
        return self.fee_bid - self.inner.resource_fee

    @property
    def is_soroban(self) -> bool:
        return self.inner.soroban is not None or any(
            op.type in codes.SOROBAN_OPERATIONS for op in self.inner.operations
        )


def _signatures_length(signatures) -> int:
    # array length + per signature: 4-byte hint, 4-byte length, padded bytes
    return 4 + sum(
        8 + len(s.signature.signature) + (-len(s.signature.signature) % 4)
        for s in signatures
    )


def _sig_items(signatures) -> list[tuple[bytes, bytes]]:
    return [(s.hint.signature_hint, s.signature.signature) for s in signatures]


def _inner(tx: X.Transaction, signatures, tx_hash: bytes) -> InnerTransaction:
    inner = InnerTransaction()
    inner.source = account_of(tx.source_account)
    inner.source_muxed = muxed_id_of(tx.source_account)
    inner.fee = tx.fee.uint32
    inner.seq_num = tx.seq_num.sequence_number.int64
    inner.min_time = inner.max_time = 0
    inner.min_ledger = inner.max_ledger = 0
    inner.min_seq_num = None
    inner.min_seq_age = inner.min_seq_ledger_gap = 0
    inner.extra_signers = []
    inner.has_time_bounds = inner.has_ledger_bounds = False
    cond = tx.cond
    inner.precondition_type = cond.type.value
    time_bounds = None
    if cond.type.value == 1:
        time_bounds = cond.time_bounds
    elif cond.type.value == 2:
        v2 = cond.v2
        time_bounds = v2.time_bounds
        if v2.ledger_bounds is not None:
            inner.has_ledger_bounds = True
            inner.min_ledger = v2.ledger_bounds.min_ledger.uint32
            inner.max_ledger = v2.ledger_bounds.max_ledger.uint32
        if v2.min_seq_num is not None:
            inner.min_seq_num = v2.min_seq_num.sequence_number.int64
        inner.min_seq_age = v2.min_seq_age.duration.uint64
        inner.min_seq_ledger_gap = v2.min_seq_ledger_gap.uint32
        inner.extra_signers = [signer_key_string(k) for k in v2.extra_signers]
    if time_bounds is not None:
        inner.has_time_bounds = True
        inner.min_time = time_bounds.min_time.time_point.uint64
        inner.max_time = time_bounds.max_time.time_point.uint64
    memo = tx.memo
    memo_type = memo.type.value
    if memo_type == 0:
        inner.memo_type, inner.memo_value = "none", None
    elif memo_type == 1:
        inner.memo_type, inner.memo_value = "text", memo.text
    elif memo_type == 2:
        inner.memo_type, inner.memo_value = "id", memo.id.uint64
    elif memo_type == 3:
        inner.memo_type, inner.memo_value = "hash", memo.hash.hash
    else:
        inner.memo_type, inner.memo_value = "return", memo.ret_hash.hash
    inner.operations = [_operation(op) for op in tx.operations]
    inner.soroban = tx.ext.soroban_data if tx.ext.v == 1 else None
    inner.size = 0
    inner.signatures = Signatures(tx_hash, _sig_items(signatures))
    inner.hash = tx_hash
    return inner


def parse_envelope(envelope_b64: str, network_id: bytes) -> Envelope:
    """Decode a base64 envelope; raise MalformedEnvelopeError if it isn't one."""
    try:
        raw = base64.b64decode(envelope_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedEnvelopeError("tx is not valid base64") from exc
    try:
        decoded = X.TransactionEnvelope.from_xdr_bytes(raw)
    except Exception as exc:
        raise MalformedEnvelopeError("tx is not a transaction envelope") from exc
    try:
        return _build(decoded, raw, envelope_b64, network_id)
    except MalformedEnvelopeError:
        raise
    except Exception as exc:
        raise MalformedEnvelopeError(f"tx could not be read: {exc}") from exc


def _build(decoded, raw: bytes, envelope_b64: str, network_id: bytes) -> Envelope:
    env = Envelope()
    env.xdr = envelope_b64
    kind = decoded.type.value
    tx_type = struct.pack(">I", ENVELOPE_TYPE_TX)
    if kind == ENVELOPE_TYPE_TX:
        v1 = decoded.v1
        body = raw[4 : len(raw) - _signatures_length(v1.signatures)]
        tx_hash = hashlib.sha256(network_id + tx_type + body).digest()
        env.inner = _inner(v1.tx, v1.signatures, tx_hash)
        env.is_fee_bump = False
        env.fee_source = None
        env.fee_source_muxed = None
        env.fee_bid = env.inner.fee
        env.outer_signatures = None
        env.hash = tx_hash
        env.op_count = len(env.inner.operations)
    elif kind == ENVELOPE_TYPE_TX_FEE_BUMP:
        fee_bump = decoded.fee_bump
        outer_sigs_len = _signatures_length(fee_bump.signatures)
        body = raw[4 : len(raw) - outer_sigs_len]
        outer_hash = hashlib.sha256(
            network_id + struct.pack(">I", ENVELOPE_TYPE_TX_FEE_BUMP) + body
        ).digest()
        fb_tx = fee_bump.tx
        if fb_tx.inner_tx.type.value != ENVELOPE_TYPE_TX:
            raise MalformedEnvelopeError("fee bump of an unsupported envelope type")
        inner_env = fb_tx.inner_tx.v1
        fee_source_len = 36 if fb_tx.fee_source.ed25519 is not None else 44
        inner_start = 4 + fee_source_len + 8 + 4
        inner_end = (
            len(raw) - outer_sigs_len - 4 - _signatures_length(inner_env.signatures)
        )
        inner_hash = hashlib.sha256(
            network_id + tx_type + raw[inner_start:inner_end]
        ).digest()
        env.inner = _inner(inner_env.tx, inner_env.signatures, inner_hash)
        env.is_fee_bump = True
        env.fee_source = account_of(fb_tx.fee_source)
        env.fee_source_muxed = muxed_id_of(fb_tx.fee_source)
        env.fee_bid = fb_tx.fee.int64
        env.outer_signatures = Signatures(outer_hash, _sig_items(fee_bump.signatures))
        env.hash = outer_hash
        env.op_count = len(env.inner.operations) + 1
    elif kind == ENVELOPE_TYPE_TX_V0:
        # Legacy envelopes: let the SDK convert and hash them (rare, not hot).
        from stellar_sdk import TransactionEnvelope

        raise_if = None
        try:
            sdk_env = TransactionEnvelope.from_xdr_object(decoded, "")
        except Exception as exc:  # pragma: no cover - defensive
            raise_if = exc
        if raise_if is not None:
            raise MalformedEnvelopeError("unreadable v0 envelope")
        v1_tx = sdk_env.transaction.to_xdr_object()
        body = v1_tx.to_xdr_bytes()
        tx_hash = hashlib.sha256(network_id + tx_type + body).digest()
        env.inner = _inner(v1_tx, decoded.v0.signatures, tx_hash)
        env.is_fee_bump = False
        env.fee_source = None
        env.fee_source_muxed = None
        env.fee_bid = env.inner.fee
        env.outer_signatures = None
        env.hash = tx_hash
        env.op_count = len(env.inner.operations)
    else:
        raise MalformedEnvelopeError("unknown envelope type")
    env.hash_hex = env.hash.hex()
    env.inner.size = len(raw)
    env.arrival = 0
    return env
