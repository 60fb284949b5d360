"""Pair the network's payment operations with our payments.

A transaction of the TSS carries up to 100 payments, one operation each, so a
transaction hash names several payments. Within each transaction, operations
and payments are paired, never reusing either, by:

1. the operation's index, where the TSS recorded it for the payment's
   transaction (Horizon's operation id carries it: its low 12 bits are the
   1-based index of the operation in its transaction);
2. destination and amount;
3. destination;
4. amount;
5. what is left: one operation and one payment left in a transaction are
   each other's (both their destination and amount differ).

What stays unpaired is a payment with no operation, or an operation no
payment of ours made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal

# Horizon's operation id (a TOID): ledger << 32 | transaction order << 12 | index.
_INDEX_BITS = 0xFFF


@dataclass(frozen=True)
class Op:
    operation_id: str
    transaction_hash: str
    destination: str
    amount: Decimal


@dataclass(frozen=True)
class Ours:
    key: Hashable
    transaction_hash: str
    destination: str
    amount: Decimal
    operation_index: int | None = None  # 0-based, as the TSS recorded it


def operation_index(operation_id: str) -> int | None:
    """The 0-based index of the operation in its transaction, from its id."""
    try:
        position = int(operation_id) & _INDEX_BITS
    except ValueError:
        return None
    return position - 1 if position else None


def pair(ops: list[Op], payments: list[Ours]) -> dict[str, Hashable]:
    """Operation id -> the key of the payment it is, for the pairs found."""
    ops_by_hash: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        ops_by_hash[op.transaction_hash].append(op)
    ours_by_hash: dict[str, list[Ours]] = defaultdict(list)
    for payment in payments:
        ours_by_hash[payment.transaction_hash].append(payment)
    paired: dict[str, Hashable] = {}
    for tx_hash, tx_ops in ops_by_hash.items():
        paired.update(_pair_in_transaction(tx_ops, ours_by_hash.get(tx_hash, [])))
    return paired


_Rule = Callable[[Op, Ours], bool]

_RULES: tuple[_Rule, ...] = (
    lambda op, p: (
        p.operation_index is not None
        and operation_index(op.operation_id) == p.operation_index
    ),
    lambda op, p: op.destination == p.destination and op.amount == p.amount,
    lambda op, p: op.destination == p.destination,
    lambda op, p: op.amount == p.amount,
)


def _pair_in_transaction(ops: list[Op], payments: list[Ours]) -> dict[str, Hashable]:
    left_ops = list(ops)
    left_ours = list(payments)
    paired: dict[str, Hashable] = {}
    for rule in _RULES:
        for op in list(left_ops):
            payment = next((p for p in left_ours if rule(op, p)), None)
            if payment is not None:
                paired[op.operation_id] = payment.key
                left_ops.remove(op)
                left_ours.remove(payment)
    if len(left_ops) == 1 and len(left_ours) == 1:
        paired[left_ops[0].operation_id] = left_ours[0].key
    return paired
