"""Time-ordered primary keys (UUID version 7, RFC 9562) for the tables that grow
by thousands of rows at a time: receivers, their wallets, payments, messages and
submitter transactions.

Random (version 4) keys land on random pages of every B-tree that holds them:
the primary key, and each index of another table that refers to them (a
payment's receiver and receiver wallet). Once those indexes outgrow
PostgreSQL's buffers, every new row reads pages back in. Measured with
``bench.csv`` on a database already holding 1,000,000 payments: a 10,000-row
upload spent 1.3-1.7 s of PostgreSQL CPU with random keys, 0.9-1.0 s with
these. A version 7 key starts with its millisecond, so new rows append at the
right edge of each index.

The millisecond is public in the key; so is ``created_at`` in every answer that
carries one. What must not be guessable is never a key alone: every read is
scoped to the caller's organization, and capabilities are separate secrets.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

_SEQUENCE_BITS = 24


def _millis() -> int:
    """Unix time in milliseconds, as the key's first 48 bits."""
    return time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF


def uuid7() -> uuid.UUID:
    """One key: the millisecond, then 74 random bits."""
    random = int.from_bytes(os.urandom(10))
    return uuid.UUID(
        int=_millis() << 80
        | 0x7 << 76  # version
        | (random >> 62 & 0xFFF) << 64  # rand_a
        | 0b10 << 62  # variant
        | random & 0x3FFFFFFFFFFFFFFF  # rand_b
    )


def uuid7_texts(count: int) -> Iterator[str]:
    """``count`` keys as text, ascending in the order given, for rows that go
    straight into COPY: one millisecond for the batch, then a 24-bit sequence
    (12 bits in rand_a, 12 after the variant) and 50 random bits. Past 2**24
    keys the sequence wraps: the keys stay unique by their random bits, only
    their order is lost.

    Drawn from os.urandom in one call and formatted without a UUID object each
    (cheaper than str(uuid4()); docs/performance.md)."""
    millis = _millis()
    prefix = f"{millis >> 16:08x}-{millis & 0xFFFF:04x}-7"
    random_hex = os.urandom(8 * count).hex()
    mask = (1 << _SEQUENCE_BITS) - 1
    for i in range(count):
        sequence = i & mask
        random = int(random_hex[16 * i : 16 * i + 16], 16)
        clock_seq = 0x8000 | (sequence & 0xFFF) << 2 | random >> 62
        yield (
            f"{prefix}{sequence >> 12:03x}-{clock_seq:04x}"
            f"-{random >> 14 & 0xFFFFFFFFFFFF:012x}"
        )


_HEX = frozenset("0123456789abcdef")


def prefix_range(text: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The keys whose text starts with ``text`` ("0190c3f2", "0190c3f2-1a"),
    as an inclusive range of the primary key's B-tree (a search by part of an
    id that reads a slice of the index, not every row's text); None when no
    key's text could start so."""
    text = text.strip().lower()
    digits = text.replace("-", "")
    if not digits or len(digits) > 32 or not set(digits) <= _HEX:
        return None
    low = uuid.UUID(digits.ljust(32, "0"))
    if not str(low).startswith(text):  # dashes where a key has none
        return None
    return low, uuid.UUID(digits.ljust(32, "f"))
