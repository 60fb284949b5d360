"""Ledger closing, capacity, the queue's rules, faults and the state file,
each on a network of its own (ledgers close only when the test says so)."""

import json
import threading

import pytest
import requests
from stellar_sdk import Asset, Keypair, TransactionBuilder
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import BadRequestError, BadResponseError, NotFoundError

from localnet.testing import LocalnetError, start_localnet


def _funded(net, count, amount="100"):
    """Accounts created by root, three per ledger (the test networks hold four
    operations per ledger), closing the ledgers by hand."""
    root = net.root_keypair()
    server = net.server()
    keypairs = [Keypair.random() for _ in range(count)]
    for start in range(0, count, 3):
        b = TransactionBuilder(
            server.load_account(root.public_key), net.passphrase, base_fee=100
        ).set_timeout(300)
        for keypair in keypairs[start : start + 3]:
            b.append_create_account_op(keypair.public_key, amount)
        tx = b.build()
        tx.sign(root)
        assert server.submit_transaction_async(tx)["tx_status"] == "PENDING"
        net.close_ledger()
        assert server.transactions().transaction(tx.hash_hex()).call()["successful"]
    return keypairs


def _payment(net, payer, payee, base_fee=100, amount="1"):
    tx = (
        TransactionBuilder(
            net.server().load_account(payer.public_key),
            net.passphrase,
            base_fee=base_fee,
        )
        .set_timeout(300)
        .append_payment_op(payee.public_key, Asset.native(), amount)
        .build()
    )
    tx.sign(payer)
    return tx


def _async(net, tx):
    return requests.post(
        net.url + "/transactions_async", data={"tx": tx.to_xdr()}, timeout=10
    )


@pytest.fixture
def manual(localnet_factory):
    return localnet_factory(ledger_close=0, max_ops_per_ledger=4, submit_timeout=2)


def test_async_statuses_pending_duplicate_try_again_later_error(manual):
    payer, payee = _funded(manual, 2)
    first = _payment(manual, payer, payee)
    assert _async(manual, first).status_code == 201
    duplicate = _async(manual, first)
    assert duplicate.status_code == 409
    assert duplicate.json() == {"hash": first.hash_hex(), "tx_status": "DUPLICATE"}
    second = _payment(manual, payer, payee, amount="2")  # same source, same seq
    later = _async(manual, second)
    assert later.status_code == 503
    assert later.json()["tx_status"] == "TRY_AGAIN_LATER"
    manual.close_ledger()
    stale = _async(manual, second)  # its sequence number is used up now
    assert stale.status_code == 400
    body = stale.json()
    assert body["tx_status"] == "ERROR"
    result = X.TransactionResult.from_xdr(body["error_result_xdr"])
    assert result.result.code == X.TransactionResultCode.txBAD_SEQ
    with pytest.raises(BadRequestError):
        manual.server().submit_transaction_async(second)


def test_ledger_capacity_fee_priority_and_drop_after_three_ledgers(manual):
    payers = _funded(manual, 6)
    (payee,) = _funded(manual, 1)
    blockers = _funded(manual, 12)
    fees = [100, 500, 300, 200, 400, 100]
    txs = [
        _payment(manual, payer, payee, base_fee=fee)
        for payer, fee in zip(payers, fees, strict=True)
    ]
    for tx in txs:
        assert _async(manual, tx).status_code == 201
    ledger = manual.close_ledger()  # 4 operations fit: bids 500, 400, 300, 200
    server = manual.server()
    included = {tx.hash_hex() for tx in txs if _exists(server, tx)}
    assert included == {txs[i].hash_hex() for i in (1, 2, 3, 4)}
    charged = {
        server.transactions().transaction(txs[i].hash_hex()).call()["fee_charged"]
        for i in (1, 2, 3, 4)
    }
    assert charged == {"200"}  # surge pricing: everyone pays the lowest included bid
    assert (
        server.ledgers()
        .order(desc=True)
        .limit(1)
        .call()["_embedded"]["records"][0]["sequence"]
        == ledger
    )
    # the two 100-stroop bids wait, are not included (capacity is taken by new
    # higher bids), and are dropped after three ledgers
    for round_ in range(3):
        for blocker in blockers[round_ * 4 : round_ * 4 + 4]:
            tx = _payment(manual, blocker, payee, base_fee=1000)
            assert _async(manual, tx).status_code == 201
        manual.close_ledger()
    assert not _exists(server, txs[0])
    assert manual.stats()["dropped"] >= 2
    assert _async(manual, txs[0]).json()["tx_status"] == "TRY_AGAIN_LATER"  # banned


def _exists(server, tx):
    try:
        server.transactions().transaction(tx.hash_hex()).call()
        return True
    except NotFoundError:
        return False


def test_fee_bump_counts_one_extra_operation(manual):
    channel, distribution, payee = _funded(manual, 3)
    inner = TransactionBuilder(
        manual.server().load_account(channel.public_key),
        manual.passphrase,
        base_fee=100,
    ).set_timeout(300)
    for _ in range(3):
        inner.append_payment_op(
            payee.public_key, Asset.native(), "1", source=distribution.public_key
        )
    tx = inner.build()
    tx.sign(channel)
    tx.sign(distribution)
    fee_bump = TransactionBuilder.build_fee_bump_transaction(
        distribution.public_key, 100, tx, manual.passphrase
    )
    fee_bump.sign(distribution)
    assert _async(manual, fee_bump).status_code == 201
    manual.close_ledger()
    record = manual.server().transactions().transaction(fee_bump.hash_hex()).call()
    assert record["fee_charged"] == "400"
    latest = manual.server().ledgers().order(desc=True).limit(1).call()
    assert latest["_embedded"]["records"][0]["tx_set_operation_count"] == 4


def test_sync_submission_times_out_with_504_when_no_ledger_closes(manual):
    payer, payee = _funded(manual, 2)
    tx = _payment(manual, payer, payee)
    with pytest.raises(BadResponseError) as raised:
        manual.server().submit_transaction(tx)
    assert raised.value.status == 504
    manual.close_ledger()  # it was queued: it lands
    assert (
        manual.server().transactions().transaction(tx.hash_hex()).call()["successful"]
    )


def test_sync_submission_waits_for_the_ledger(manual):
    payer, payee = _funded(manual, 2)
    tx = _payment(manual, payer, payee)
    timer = threading.Timer(0.5, manual.close_ledger)
    timer.start()
    try:
        response = manual.server().submit_transaction(tx)
    finally:
        timer.join()
    assert response["successful"] is True


def test_faults_504_after_accept_lands_and_504_drop_does_not(manual):
    payer, payee, other = _funded(manual, 3)
    server = manual.server()
    with manual.injected_faults(timeout_after_accept=1.0):
        accepted = _payment(manual, payer, payee)
        assert _async(manual, accepted).status_code == 504
    with manual.injected_faults(timeout_drop=1.0):
        dropped = _payment(manual, other, payee)
        assert _async(manual, dropped).status_code == 504
    manual.close_ledger()
    assert _exists(server, accepted)
    assert not _exists(server, dropped)


def test_faults_429_and_503_and_runtime_readback(manual):
    with manual.injected_faults(rate_limit=1.0):
        response = requests.get(manual.url + "/", timeout=5)
        assert response.status_code == 429
        assert response.json()["type"].endswith("rate_limit_exceeded")
        assert manual.faults()["rate_limit"] == 1.0
    with manual.injected_faults(unavailable=1.0):
        assert requests.get(manual.url + "/fee_stats", timeout=5).status_code == 503
    assert requests.get(manual.url + "/", timeout=5).status_code == 200
    assert manual.faults()["unavailable"] == 0


def test_ingestion_lag_hides_recent_transactions_from_history(manual):
    payer, payee = _funded(manual, 2)
    manual.set_faults(ingestion_lag=2)
    tx = _payment(manual, payer, payee)
    assert _async(manual, tx).status_code == 201
    ledger = manual.close_ledger()
    root = manual.root()
    assert root["core_latest_ledger"] == ledger
    assert root["history_latest_ledger"] == ledger - 2
    assert not _exists(manual.server(), tx)
    manual.close_ledger()
    manual.close_ledger()
    assert _exists(manual.server(), tx)
    manual.clear_faults()


def test_network_reset_wipes_everything(manual):
    (account,) = _funded(manual, 1)
    manual.set_faults(reset=True)
    with pytest.raises(NotFoundError):
        manual.server().accounts().account_id(account.public_key).call()
    assert manual.latest_ledger() == 1


def test_config_can_change_at_run_time(manual):
    assert manual.configure(max_ops_per_ledger=10)["max_ops_per_ledger"] == 10
    latest = manual.server().ledgers().order(desc=True).limit(1).call()
    manual.close_ledger()
    latest = manual.server().ledgers().order(desc=True).limit(1).call()
    assert latest["_embedded"]["records"][0]["max_tx_set_size"] == 10
    manual.configure(ledger_close=0.2)
    before = manual.latest_ledger()
    manual.wait_for_ledger(before + 2, timeout=10)


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    net = start_localnet(ledger_close=0, state=str(state))
    try:
        payer, payee = _funded(net, 2)
        tx = _payment(net, payer, payee, amount="7")
        assert _async(net, tx).status_code == 201
        net.close_ledger()
        balance = (
            net.server().accounts().account_id(payee.public_key).call()["balances"]
        )
    finally:
        net.stop()
    again = start_localnet(ledger_close=0, state=str(state))
    try:
        assert (
            again.server().accounts().account_id(payee.public_key).call()["balances"]
            == balance
        )
        assert (
            again.server()
            .transactions()
            .transaction(tx.hash_hex())
            .call()["successful"]
        )
        payments = again.server().payments().for_account(payee.public_key).call()
        assert payments["_embedded"]["records"][-1]["amount"] == "7.0000000"
        again.close_ledger()
    finally:
        again.stop()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a localnet state file"),
        (json.dumps({"hello": "world"}), "not a localnet state file"),
        (
            json.dumps(
                {
                    "format": "sdp-localnet-state",
                    "version": 1,
                    "network_passphrase": "Test SDF Network ; September 2015",
                }
            ),
            "belongs to the network",
        ),
    ],
)
def test_corrupt_or_foreign_state_file_is_refused(tmp_path, content, message):
    state = tmp_path / "state.json"
    state.write_text(content)
    with pytest.raises(LocalnetError) as raised:
        start_localnet(ledger_close=0, state=str(state), startup_timeout=60)
    assert message in str(raised.value)
    assert "refusing the state file" in str(raised.value)
