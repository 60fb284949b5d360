"""Fee-bumped payment envelopes written straight to XDR bytes.

stellar-sdk's TransactionBuilder spends much CPU per fee-bumped payment
(objects, validation, three XDR round trips); at a ledger's pace that is the
engine's whole CPU budget. The envelope the engine sends always has the same
shape, so it is packed here with ``struct`` and signed with the raw ed25519 keys,
for a small fraction of that (docs/performance.md). The bytes are identical
to the builder's (tests/tss/test_envelopes
compares them for every memo and asset kind); anything outside that shape (a
muxed destination) goes through the builder.

Shape: inner transaction (source: channel account, fee ``100``, sequence
``seq``, time bounds 0/0, ledger bounds 0/``max_ledger``, memo, one to 100
payments whose source is the distribution account, inner fee 100 per
operation), signed by the channel and the distribution account; fee bump paid by
the distribution account at ``base_fee`` per operation (the inner ones and its
own), signed by the distribution account.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stellar_sdk import Keypair, StrKey

INNER_BASE_FEE = 100
MAX_OPERATIONS = 100  # per transaction (classic)
ENVELOPE_TYPE_TX = 2
ENVELOPE_TYPE_TX_FEE_BUMP = 5
_PRECOND_V2 = 2
_PAYMENT = 1
_MEMO = {"none": 0, "text": 1, "id": 2, "hash": 3, "return": 4}
_INT64_MAX = 2**63 - 1

_u32 = struct.Struct(">I").pack
_i64 = struct.Struct(">q").pack
_u64 = struct.Struct(">Q").pack


@functools.lru_cache(maxsize=64)
def network_id(passphrase: str) -> bytes:
    return hashlib.sha256(passphrase.encode()).digest()


@functools.lru_cache(maxsize=8192)
def _account_id(public_key: str) -> bytes:
    """A G... key as XDR MuxedAccount / PublicKey (type 0 + 32 bytes)."""
    return _u32(0) + StrKey.decode_ed25519_public_key(public_key)


@functools.lru_cache(maxsize=256)
def asset_xdr(code: str, issuer: str) -> bytes:
    if code == "XLM" and not issuer:
        return _u32(0)
    raw = code.encode("ascii")
    if not raw or len(raw) > 12 or not raw.isalnum():
        raise ValueError(f"invalid asset code {code!r}")
    if len(raw) <= 4:
        return _u32(1) + raw.ljust(4, b"\0") + _account_id(issuer)
    return _u32(2) + raw.ljust(12, b"\0") + _account_id(issuer)


def _opaque(data: bytes) -> bytes:
    return _u32(len(data)) + data + b"\0" * (-len(data) % 4)


def memo_xdr(memo: str, memo_type: str) -> bytes:
    if not memo:
        return _u32(_MEMO["none"])
    kind = memo_type or "text"
    if kind == "id":
        value = int(memo)
        if not 0 <= value < 2**64:
            raise ValueError("an id memo is an unsigned 64-bit number")
        return _u32(_MEMO["id"]) + _u64(value)
    if kind in ("hash", "return"):
        raw = bytes.fromhex(memo)
        if len(raw) != 32:
            raise ValueError(f"a {kind} memo is 32 bytes")
        return _u32(_MEMO[kind]) + raw
    if kind != "text":
        raise ValueError(f"unknown memo type {kind!r}")
    raw = memo.encode()
    if len(raw) > 28:
        raise ValueError("a text memo is at most 28 bytes")
    return _u32(_MEMO["text"]) + _opaque(raw)


def stroops(amount: Decimal | str | int) -> int:
    scaled = Decimal(amount).scaleb(7)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {amount} has more than 7 decimal places")
    value = int(scaled)
    if not 0 < value <= _INT64_MAX:
        raise ValueError(f"amount {amount} is out of range")
    return value


@functools.lru_cache(maxsize=8192)
def _signer(keypair: Keypair) -> tuple[bytes, Callable[[bytes], Any]]:
    """(hint, sign) for a keypair: the raw nacl signing call, no wrappers."""
    if keypair.signing_key is None:
        raise ValueError("the keypair cannot sign (no secret)")
    return keypair.signature_hint(), keypair.signing_key.sign


def _signature(keypair: Keypair, payload_hash: bytes) -> bytes:
    hint, sign = _signer(keypair)
    signature: bytes = sign(payload_hash).signature
    return hint + _u32(64) + signature


@dataclass(frozen=True)
class PaymentOp:
    """One payment operation, its parts already in XDR (``asset_xdr``)."""

    destination: str
    asset: bytes
    amount_stroops: int


def payment_envelope(
    *,
    channel: Keypair,
    distribution: Keypair,
    sequence: int,
    max_ledger: int,
    destination: str,
    asset: bytes,
    amount_stroops: int,
    memo: bytes,
    base_fee: int,
    passphrase: str,
) -> tuple[str, str]:
    """(hash hex, base64 envelope) of the fee-bumped, signed payment."""
    return batch_envelope(
        channel=channel,
        distribution=distribution,
        sequence=sequence,
        max_ledger=max_ledger,
        payments=[PaymentOp(destination, asset, amount_stroops)],
        memo=memo,
        base_fee=base_fee,
        passphrase=passphrase,
    )


def batch_envelope(
    *,
    channel: Keypair,
    distribution: Keypair,
    sequence: int,
    max_ledger: int,
    payments: list[PaymentOp],
    memo: bytes,
    base_fee: int,
    passphrase: str,
) -> tuple[str, str]:
    """(hash hex, base64 envelope) of the fee-bumped, signed transaction of
    ``payments``, one operation each, in that order. The fee bump bids
    ``base_fee`` per operation (the inner ones and its own)."""
    if not 0 < sequence <= _INT64_MAX:
        raise ValueError(f"sequence number {sequence} is out of range")
    if base_fee < INNER_BASE_FEE:
        raise ValueError(f"the fee bump's base fee must be at least {INNER_BASE_FEE}")
    if not 0 < len(payments) <= MAX_OPERATIONS:
        raise ValueError(f"a transaction has 1 to {MAX_OPERATIONS} operations")
    dist = _account_id(distribution.public_key)
    operations = b"".join(
        b"".join(
            (
                _u32(1) + dist,  # its source: the distribution account
                _u32(_PAYMENT),
                _account_id(op.destination),
                op.asset,
                _i64(op.amount_stroops),
            )
        )
        for op in payments
    )
    count = len(payments)
    tx = b"".join(
        (
            _account_id(channel.public_key),
            _u32(INNER_BASE_FEE * count),
            _i64(sequence),
            _u32(_PRECOND_V2),
            _u32(1) + _u64(0) + _u64(0),  # time bounds 0/0: none
            _u32(1) + _u32(0) + _u32(max_ledger),  # ledger bounds
            _u32(0),  # no min sequence number
            _u64(0),  # min sequence age
            _u32(0),  # min sequence ledger gap
            _u32(0),  # no extra signers
            memo,
            _u32(count),
            operations,
            _u32(0),  # ext
        )
    )
    network = network_id(passphrase)
    inner_hash = hashlib.sha256(network + _u32(ENVELOPE_TYPE_TX) + tx).digest()
    inner = (
        _u32(ENVELOPE_TYPE_TX)
        + tx
        + _u32(2)
        + _signature(channel, inner_hash)
        + _signature(distribution, inner_hash)
    )
    bump = dist + _i64(base_fee * (count + 1)) + inner + _u32(0)
    bump_hash = hashlib.sha256(
        network + _u32(ENVELOPE_TYPE_TX_FEE_BUMP) + bump
    ).digest()
    envelope = (
        _u32(ENVELOPE_TYPE_TX_FEE_BUMP)
        + bump
        + _u32(1)
        + _signature(distribution, bump_hash)
    )
    return bump_hash.hex(), base64.b64encode(envelope).decode()


def can_pack(destination: str) -> bool:
    """The packer writes G... destinations; muxed ones go through the builder."""
    return destination.startswith("G")
