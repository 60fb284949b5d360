"""Confirmation: the engine reads each new ledger's transactions once instead of
looking every envelope up by hash; rows the scan cannot vouch for (built before
this process started reading) are looked up by hash; and an answer that a
re-send of an already landed envelope would get never makes a new envelope."""

import time
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from tests.tss.conftest import create_receivers, payments_on_ledger, run_engine
from tss import accounts, engine, horizon, metrics, services
from tss.models import SubmitterTransaction

pytestmark = pytest.mark.django_db


def _queue(tenant_id, destinations):
    orders = [
        services.PaymentOrder(
            tenant_id=tenant_id,
            external_id=str(uuid.uuid4()),
            destination=destination,
            asset_code="XLM",
            asset_issuer="",
            amount=Decimal("0.5"),
        )
        for destination in destinations
    ]
    with transaction.atomic():
        services.queue_payments(orders)


def _calls(endpoint: str) -> float:
    return metrics.horizon_calls.labels(endpoint=endpoint)._value.get()


def _assert_paid_once(network, tenant_id, destinations):
    source = accounts.distribution_account_for(tenant_id)
    for destination in destinations:
        assert len(payments_on_ledger(network, destination, source)) == 1
    rows = SubmitterTransaction.objects.filter(destination__in=destinations)
    assert set(rows.values_list("status", flat=True)) == {"SUCCESS"}


def test_envelopes_are_confirmed_by_reading_ledgers_not_by_hash(
    network, channel_accounts, tenant_id
):
    channel_accounts(4)
    destinations = create_receivers(12)
    engine.ledger_scan.__init__()  # a fresh process
    _queue(tenant_id, destinations)
    lookups, ledger_reads = _calls("transactions"), _calls("ledgers")
    run_engine()
    _assert_paid_once(network, tenant_id, destinations)
    assert _calls("transactions") == lookups  # not one lookup by hash
    assert _calls("ledgers") > ledger_reads


def test_envelopes_built_before_the_scan_began_are_looked_up_by_hash(
    network, channel_accounts, tenant_id
):
    channel_accounts(3)
    destinations = create_receivers(3)
    _queue(tenant_id, destinations)
    engine.pump_round()  # stores and sends
    rows = SubmitterTransaction.objects.filter(destination__in=destinations)
    assert all(row.stellar_transaction_hash for row in rows)
    # A restarted process: it has read no ledger yet, and once it starts it
    # reads only ledgers after these envelopes may have landed.
    for row in rows:
        deadline = time.monotonic() + 20
        while horizon.transaction(row.stellar_transaction_hash) is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    engine.ledger_scan.restart(horizon.ledger_state(max_age=0).ingested + 1)
    lookups = _calls("transactions")
    run_engine()
    _assert_paid_once(network, tenant_id, destinations)
    assert _calls("transactions") > lookups


def test_a_landed_envelope_answered_bad_seq_is_never_replaced(
    network, channel_accounts, tenant_id
):
    """A send whose acceptance was never recorded (a crash between the send and
    the write) leaves ``maybe_accepted`` false; when the envelope has landed
    unseen, its re-send is answered tx_bad_seq. That must not count as a
    refusal: a new envelope would pay the receiver a second time."""
    channel_accounts(1)
    (destination,) = create_receivers(1)
    _queue(tenant_id, [destination])
    state = horizon.ledger_state(max_age=0)
    engine.check_destinations(1)
    pairs = engine.lease(state, 1)
    (row,) = engine.build_and_store(pairs, engine.RoundResult(), state)
    assert horizon.submit_async(row.envelope_xdr).status == "PENDING"
    deadline = time.monotonic() + 20
    while (found := horizon.transaction(row.stellar_transaction_hash)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # The scan has read past that ledger without finishing the row (the crash),
    # and nothing records that the envelope was sent.
    engine.ledger_scan.start = row.envelope_built_ledger
    engine.ledger_scan.through = found["ledger"]
    SubmitterTransaction.objects.filter(pk=row.pk).update(
        updated_at=timezone.now() - engine.STALE_SEND * 2
    )
    run_engine()
    _assert_paid_once(network, tenant_id, [destination])
    row.refresh_from_db()
    assert row.attempts_count == 1  # the one envelope, never rebuilt
