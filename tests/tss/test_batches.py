"""Batched submission against the localnet, with real signed envelopes: payments
of one tenant, asset and memo share a fee-bumped transaction; each payment's
result is its own operation's; each is on the ledger exactly once."""

import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from stellar_sdk import (
    Asset,
    ChangeTrust,
    CreateAccount,
    FeeBumpTransactionEnvelope,
    Keypair,
    Payment,
)

from tests.tss.conftest import create_receivers, payments_on_ledger, run_engine
from tss import accounts, engine, horizon, keys, services
from tss.models import SubmitterTransaction

pytestmark = pytest.mark.django_db


def _orders(tenant_id, destinations, asset=("XLM", ""), amount="0.5", **extra):
    orders = [
        services.PaymentOrder(
            tenant_id=tenant_id,
            external_id=str(uuid.uuid4()),
            destination=destination,
            asset_code=asset[0],
            asset_issuer=asset[1],
            amount=Decimal(amount),
            **extra,
        )
        for destination in destinations
    ]
    with transaction.atomic():
        services.queue_payments(orders)
    return orders


def _rows(orders):
    return {
        row.external_id: row
        for row in SubmitterTransaction.objects.filter(
            external_id__in=[order.external_id for order in orders]
        )
    }


def _envelope(tx_hash: str, network) -> FeeBumpTransactionEnvelope:
    lead = SubmitterTransaction.objects.get(
        stellar_transaction_hash=tx_hash, operation_index=0
    )
    return FeeBumpTransactionEnvelope.from_xdr(lead.envelope_xdr, network.passphrase)


def _assert_paid_once(network, tenant_id, destinations):
    source = accounts.distribution_account_for(tenant_id)
    for destination in destinations:
        assert len(payments_on_ledger(network, destination, source)) == 1, destination


def _issued_asset(tenant_id, code="EURT"):
    """An asset the tenant's distribution account holds 1,000 of."""
    issuer = Keypair.random()
    accounts.run_transaction(
        keys.host_keypair(),
        [CreateAccount(destination=issuer.public_key, starting_balance="5")],
    )
    accounts.ensure_trustline(tenant_id, code, issuer.public_key)
    accounts.run_transaction(
        issuer,
        [
            Payment(
                destination=accounts.distribution_account_for(tenant_id),
                asset=Asset(code, issuer.public_key),
                amount="1000",
            )
        ],
    )
    return code, issuer.public_key


def _holders(count: int, asset) -> list[str]:
    """Accounts with a trustline to ``asset``."""
    holders = [Keypair.random() for _ in range(count)]
    accounts.run_transaction(
        keys.host_keypair(),
        [
            CreateAccount(destination=h.public_key, starting_balance="5")
            for h in holders
        ],
    )
    for holder in holders:
        accounts.run_transaction(
            holder, [ChangeTrust(asset=Asset(asset[0], asset[1]))], signers=[holder]
        )
    return [holder.public_key for holder in holders]


def test_payments_share_one_fee_bumped_transaction_one_operation_each(
    network, channel_accounts, tenant_id, settings
):
    channel_accounts(1)
    destinations = create_receivers(10)
    orders = _orders(tenant_id, destinations)
    run_engine()

    _assert_paid_once(network, tenant_id, destinations)
    rows = _rows(orders)
    assert {row.status for row in rows.values()} == {"SUCCESS"}
    (tx_hash,) = {row.stellar_transaction_hash for row in rows.values()}
    assert sorted(row.operation_index for row in rows.values()) == list(range(10))
    envelope = _envelope(tx_hash, network)
    inner = envelope.transaction.inner_transaction_envelope.transaction
    distribution = accounts.distribution_account_for(tenant_id)
    # Each payment its own operation, from the distribution account, in the
    # order of the rows' operation indexes.
    by_index = {row.operation_index: row for row in rows.values()}
    assert [op.destination.account_id for op in inner.operations] == [
        by_index[i].destination for i in range(10)
    ]
    assert {op.source.account_id for op in inner.operations} == {distribution}
    # The fee bump bids the tenant's maximum per operation (10 and its own).
    assert envelope.transaction.fee == settings.MAX_BASE_FEE * 11
    assert envelope.transaction.fee_source.account_id == distribution
    record = horizon.transaction(tx_hash)
    assert record["successful"]
    assert record["operation_count"] == 10


def test_batching_off_sends_each_payment_alone(
    network, channel_accounts, tenant_id, settings
):
    settings.TSS_MAX_PAYMENTS_PER_TX = 1
    channel_accounts(3)
    destinations = create_receivers(3)
    orders = _orders(tenant_id, destinations)
    run_engine()
    _assert_paid_once(network, tenant_id, destinations)
    rows = _rows(orders).values()
    assert len({row.stellar_transaction_hash for row in rows}) == 3
    assert {row.destination_ok for row in rows} == {None}  # no check


def test_a_destination_without_the_trustline_is_checked_out_of_the_batch(
    network, channel_accounts, tenant_id
):
    channel_accounts(2)
    asset = _issued_asset(tenant_id)
    good = _holders(3, asset)
    (no_line,) = create_receivers(1)
    orders = _orders(tenant_id, [*good, no_line], asset=asset)
    run_engine()

    rows = _rows(orders)
    failed = rows[orders[3].external_id]
    assert failed.status == "ERROR"
    assert failed.destination_ok is False
    assert "op_no_trust" in failed.status_message
    paid = [rows[order.external_id] for order in orders[:3]]
    assert {row.status for row in paid} == {"SUCCESS"}
    assert len({row.stellar_transaction_hash for row in paid}) == 1
    assert failed.stellar_transaction_hash not in {
        row.stellar_transaction_hash for row in paid
    }
    _assert_paid_once(network, tenant_id, good)


def test_a_batch_with_a_missing_trustline_fails_it_alone_and_pays_the_others(
    network, channel_accounts, tenant_id
):
    """The trustline went away after the check (here: the check said yes): the
    batch fails as a whole on the ledger; the payment without the trustline
    fails with its own operation's code, the others are rebuilt at once and
    paid once each."""
    channel_accounts(2)
    asset = _issued_asset(tenant_id)
    good = _holders(3, asset)
    (no_line,) = create_receivers(1)
    destinations = [good[0], no_line, *good[1:]]
    orders = _orders(tenant_id, destinations, asset=asset)
    SubmitterTransaction.objects.filter(
        external_id__in=[o.external_id for o in orders]
    ).update(destination_ok=True)
    state = horizon.ledger_state(max_age=0)
    ((group, _channel),) = engine.lease(state, 10)
    assert [row.destination for row in group] == destinations
    (first, *_) = engine.build_and_store(
        [(group, _channel)], engine.RoundResult(), state
    )
    failed_hash = first.stellar_transaction_hash
    run_engine()

    record = horizon.transaction(failed_hash)
    assert record is not None
    assert record["successful"] is False
    rows = _rows(orders)
    failed = rows[orders[1].external_id]
    assert failed.status == "ERROR"
    assert "op_no_trust" in failed.status_message
    assert "no trustline" in failed.status_message
    assert failed.stellar_transaction_hash == failed_hash
    paid = [rows[o.external_id] for o in orders if o is not orders[1]]
    assert {row.status for row in paid} == {"SUCCESS"}
    (paid_hash,) = {row.stellar_transaction_hash for row in paid}
    assert paid_hash != failed_hash
    assert horizon.transaction(paid_hash)["successful"]
    assert {row.attempts_count for row in paid} == {2}
    _assert_paid_once(network, tenant_id, good)


def test_memos_group_only_payments_sharing_them_and_a_bad_memo_fails_alone(
    network, channel_accounts, tenant_id
):
    channel_accounts(4)
    destinations = create_receivers(6)
    plain = _orders(tenant_id, destinations[:2])
    memo_7 = _orders(tenant_id, destinations[2:4], memo="7", memo_type="id")
    memo_8 = _orders(tenant_id, destinations[4:5], memo="8", memo_type="id")
    bad = _orders(tenant_id, destinations[5:], memo="x" * 40, memo_type="text")
    run_engine()

    rows = _rows(plain + memo_7 + memo_8 + bad)
    (bad_row,) = [rows[o.external_id] for o in bad]
    assert bad_row.status == "ERROR"
    assert "cannot be built" in bad_row.status_message
    _assert_paid_once(network, tenant_id, destinations[:5])
    hashes = {}
    for name, orders in (("plain", plain), ("7", memo_7), ("8", memo_8)):
        (tx_hash,) = {rows[o.external_id].stellar_transaction_hash for o in orders}
        hashes[name] = tx_hash
        assert {rows[o.external_id].status for o in orders} == {"SUCCESS"}
    assert len(set(hashes.values())) == 3
    assert horizon.transaction(hashes["plain"])["memo_type"] == "none"
    for memo in ("7", "8"):
        record = horizon.transaction(hashes[memo])
        assert (record["memo_type"], record["memo"]) == ("id", memo)


def test_a_batch_lost_to_a_504_is_resent_as_it_is(network, channel_accounts, tenant_id):
    channel_accounts(1)
    destinations = create_receivers(5)
    orders = _orders(tenant_id, destinations)
    with network.injected_faults(timeout_after_accept=1.0):
        result = engine.pump_round()
    assert result.built == 5
    assert result.sent == 0
    rows = _rows(orders).values()
    (tx_hash,) = {row.stellar_transaction_hash for row in rows}
    assert all(row.maybe_accepted for row in rows)
    run_engine()

    rows = _rows(orders).values()
    assert {row.stellar_transaction_hash for row in rows} == {tx_hash}
    assert {row.status for row in rows} == {"SUCCESS"}
    assert {row.attempts_count for row in rows} == {1}
    _assert_paid_once(network, tenant_id, destinations)


def test_under_a_fee_surge_a_batch_pays_at_most_its_bid_per_operation(
    network, channel_accounts, tenant_id, settings
):
    """More operations are offered than a ledger admits (another account's
    transaction with ours): surge pricing charges every included transaction
    the lowest included bid per operation. The batch bids the tenant's maximum
    per operation (its payments and the fee bump's own), lands whole, and pays
    no more than that."""
    from stellar_sdk import TransactionBuilder

    settings.MAX_BASE_FEE = 500
    channel_accounts(1)
    destinations = create_receivers(7)
    other = Keypair.random()
    network.friendbot(other.public_key)
    previous = network.configure()
    network.configure(ledger_close=1.5, max_ops_per_ledger=8)
    engine._capacity.clear()
    try:
        network.wait_for_ledger(network.latest_ledger() + 2)
        orders = _orders(tenant_id, destinations)
        competing = TransactionBuilder(
            network.server().load_account(other.public_key),
            network.passphrase,
            base_fee=300,
        ).set_timeout(60)
        for destination in destinations[:4]:
            competing.append_payment_op(destination, Asset.native(), "0.1")
        tx = competing.build()
        tx.sign(other)
        assert horizon.submit_async(tx.to_xdr()).status == "PENDING"
        run_engine()
    finally:
        network.configure(
            ledger_close=previous["ledger_close"],
            max_ops_per_ledger=previous["max_ops_per_ledger"],
        )
        engine._capacity.clear()

    rows = _rows(orders).values()
    (tx_hash,) = {row.stellar_transaction_hash for row in rows}
    assert {row.status for row in rows} == {"SUCCESS"}
    record = horizon.transaction(tx_hash)
    # 7 payments and the fee bump: 8 operations bid at 500 each; in the surge
    # the ledger charged the lowest included bid per operation (ours: the
    # other one did not fit), never more (100 each without a surge).
    assert int(record["max_fee"]) == 500 * 8
    assert int(record["fee_charged"]) == 500 * 8
    _assert_paid_once(network, tenant_id, destinations)
    competitor = network.wait_for_transaction(tx.hash_hex())
    assert competitor["ledger"] > record["ledger"]  # outbid: the next ledger
