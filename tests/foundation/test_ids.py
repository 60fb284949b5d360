"""Time-ordered keys (core.ids)."""

from __future__ import annotations

import time
import uuid

from core import ids


def millis(key: uuid.UUID) -> int:
    return key.int >> 80


def test_a_key_is_version_7_and_starts_with_its_millisecond():
    before = time.time_ns() // 1_000_000
    keys = [ids.uuid7() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert len(set(keys)) == 1000
    for key in keys:
        assert key.version == 7
        assert key.variant == uuid.RFC_4122
        assert before <= millis(key) <= after


def test_keys_of_later_milliseconds_sort_after_earlier_ones():
    first = ids.uuid7()
    time.sleep(0.002)
    assert ids.uuid7() > first
    assert str(ids.uuid7()) > str(first)  # as text too, as PostgreSQL compares


def test_a_batch_ascends_in_the_order_given_with_random_bits():
    before = time.time_ns() // 1_000_000
    texts = list(ids.uuid7_texts(5000))
    keys = [uuid.UUID(text) for text in texts]
    assert [str(key) for key in keys] == texts  # canonical text
    assert texts == sorted(texts)
    assert keys == sorted(keys)
    assert len(set(keys)) == 5000
    assert {key.version for key in keys} == {7}
    assert {key.variant for key in keys} == {uuid.RFC_4122}
    assert {millis(key) for key in keys} <= set(
        range(before, time.time_ns() // 1_000_000 + 1)
    )
    # 50 random bits per key: two batches drawn in one millisecond differ.
    assert set(texts).isdisjoint(ids.uuid7_texts(5000))
    assert len({key.int & (1 << 50) - 1 for key in keys}) == 5000


def test_past_the_sequence_a_batch_stays_unique(monkeypatch):
    monkeypatch.setattr(ids, "_SEQUENCE_BITS", 4)
    keys = [uuid.UUID(text) for text in ids.uuid7_texts(64)]
    assert len(set(keys)) == 64
    assert {key.version for key in keys} == {7}
    assert keys[:16] == sorted(keys[:16])
