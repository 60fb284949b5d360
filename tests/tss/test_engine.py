"""The engine against the localnet: real signed envelopes, each payment on the
ledger exactly once, also with the localnet's faults on."""

import time
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from stellar_sdk import Keypair

from tests.tss.conftest import create_receivers, payments_on_ledger, run_engine
from tss import accounts, horizon, services
from tss.models import ChannelAccount, SubmitterTransaction

pytestmark = pytest.mark.django_db


def _queue(tenant_id, destinations, amount="0.5", **extra):
    orders = [
        services.PaymentOrder(
            tenant_id=tenant_id,
            external_id=str(uuid.uuid4()),
            destination=destination,
            asset_code="XLM",
            asset_issuer="",
            amount=Decimal(amount),
            **extra,
        )
        for destination in destinations
    ]
    with transaction.atomic():
        services.queue_payments(orders)
    return orders


def _assert_paid_once(network, tenant_id, destinations):
    source = accounts.distribution_account_for(tenant_id)
    for destination in destinations:
        paid = payments_on_ledger(network, destination, source)
        assert len(paid) == 1, (destination, paid)
    rows = SubmitterTransaction.objects.filter(destination__in=destinations)
    assert set(rows.values_list("status", flat=True)) == {"SUCCESS"}
    for row in rows:
        assert horizon.transaction(row.stellar_transaction_hash)["successful"]


def _assert_channel_sequences_match_the_ledger():
    for channel in ChannelAccount.objects.exclude(sequence=None):
        assert channel.sequence == int(horizon.account(channel.pk)["sequence"])


def test_payments_land_once_each_with_channel_and_fee_bump(
    network, channel_accounts, tenant_id
):
    channel_accounts(3)
    destinations = create_receivers(8)
    _queue(tenant_id, destinations, memo="sdp-abc", memo_type="text")
    run_engine()
    _assert_paid_once(network, tenant_id, destinations)
    _assert_channel_sequences_match_the_ledger()
    row = SubmitterTransaction.objects.filter(destination=destinations[0]).get()
    record = horizon.transaction(row.stellar_transaction_hash)
    assert record["fee_account"] == accounts.distribution_account_for(tenant_id)
    assert record["source_account"] == row.channel_account
    assert record["memo"] == "sdp-abc"
    assert row.synced_at is not None
    assert row.status_changes.count() == 2  # PENDING->PROCESSING->SUCCESS


@pytest.mark.parametrize(
    "faults",
    [
        {"timeout_after_accept": 1.0},
        {"rate_limit": 0.5, "unavailable": 0.3},
        {"timeout_after_accept": 0.5, "ingestion_lag": 3},
    ],
    ids=["504-after-accept", "429-503-storm", "504-and-lagging-ingestion"],
)
def test_faults_never_pay_twice(network, channel_accounts, tenant_id, faults):
    channel_accounts(3)
    destinations = create_receivers(6)
    _queue(tenant_id, destinations)
    with network.injected_faults(seed=7, **faults):
        run_engine(timeout=90)
    _assert_paid_once(network, tenant_id, destinations)
    _assert_channel_sequences_match_the_ledger()


def test_dropped_envelopes_are_rebuilt_only_after_their_bound(
    network, channel_accounts, tenant_id, settings
):
    settings.TSS_LEASE_LEDGERS = 4
    channel_accounts(3)
    destinations = create_receivers(3)
    _queue(tenant_id, destinations)
    from tss import engine

    seen: dict = {}
    initial: dict = {}
    with network.injected_faults(timeout_drop=1.0):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            engine.pump_round()
            ingested = horizon.ledger_state(max_age=0).ingested
            for row in SubmitterTransaction.objects.filter(
                destination__in=destinations
            ):
                old = seen.get(row.pk)
                if old and old[0] != row.stellar_transaction_hash:
                    # a new envelope only once the old one's bound was ingested
                    assert ingested > old[1]
                if row.stellar_transaction_hash:
                    initial.setdefault(row.pk, row.stellar_transaction_hash)
                    seen[row.pk] = (
                        row.stellar_transaction_hash,
                        row.envelope_max_ledger,
                    )
            # Done once each payment's first envelope was dropped and a second
            # built (after its bound, as checked above). Waiting for the ledger
            # to pass the newest bound instead raced the rebuilds: each dropped
            # envelope is replaced by one with a later bound.
            if len(seen) == 3 and all(seen[pk][0] != initial[pk] for pk in seen):
                break
            time.sleep(0.05)
        else:
            pytest.fail(
                f"in 30 s not every envelope was dropped and rebuilt: {seen} "
                f"(first {initial}), ledger {ingested}"
            )
    run_engine()
    _assert_paid_once(network, tenant_id, destinations)
    for row in SubmitterTransaction.objects.filter(destination__in=destinations):
        assert row.attempts_count >= 2  # a second envelope was built
        assert row.stellar_transaction_hash != initial[row.pk]
        assert horizon.transaction(initial[row.pk]) is None


def test_receiver_without_account_fails_readably_and_a_retry_pays(
    network, channel_accounts, tenant_id
):
    channel_accounts(1)
    missing = Keypair.random().public_key
    (order,) = _queue(tenant_id, [missing])
    run_engine()
    row = SubmitterTransaction.objects.get(external_id=order.external_id)
    assert row.status == "ERROR"
    assert "does not exist" in row.status_message
    assert row.status_changes.last().note == row.status_message
    # the receiver creates the account; a new live row for the same payment
    network.friendbot(missing)
    with transaction.atomic():
        services.queue_payments([order])
    run_engine()
    assert (
        SubmitterTransaction.objects.get(
            external_id=order.external_id, status="SUCCESS"
        ).stellar_transaction_hash
        is not None
    )
    assert len(payments_on_ledger(network, missing, row.distribution_account)) == 1


def test_receiver_without_trustline_fails_with_the_reason(
    network, channel_accounts, tenant_id
):
    channel_accounts(1)
    issuer = Keypair.random()
    network.friendbot(issuer.public_key)
    accounts.ensure_trustline(tenant_id, "EURT", issuer.public_key)
    from stellar_sdk import Asset, Payment

    accounts.run_transaction(
        issuer,
        [
            Payment(
                destination=accounts.distribution_account_for(tenant_id),
                asset=Asset("EURT", issuer.public_key),
                amount="10",
            )
        ],
    )
    (destination,) = create_receivers(1)
    order = services.PaymentOrder(
        tenant_id=tenant_id,
        external_id=str(uuid.uuid4()),
        destination=destination,
        asset_code="EURT",
        asset_issuer=issuer.public_key,
        amount=Decimal("1"),
    )
    with transaction.atomic():
        services.queue_payments([order])
    run_engine()
    row = SubmitterTransaction.objects.get(external_id=order.external_id)
    assert row.status == "ERROR"
    assert "no trustline" in row.status_message
    assert "op_no_trust" in row.status_message


def test_stale_channel_sequence_is_reloaded_after_bad_seq(
    network, channel_accounts, tenant_id
):
    (channel,) = channel_accounts(1)
    destinations = create_receivers(2)
    _queue(tenant_id, destinations[:1])
    run_engine()
    # the database forgets the sequence it learned: the next envelope is stale
    ChannelAccount.objects.filter(pk=channel).update(sequence=1)
    _queue(tenant_id, destinations[1:])
    run_engine()
    _assert_paid_once(network, tenant_id, destinations)
    _assert_channel_sequences_match_the_ledger()
