import time
import urllib.request

import pytest
from stellar_sdk import Asset, Keypair, TransactionBuilder
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import NotFoundError

from localnet.testing import builder, submit


def test_root_describes_the_network_and_warns_it_is_not_production(localnet):
    root = localnet.server().root().call()
    assert root["network_passphrase"] == "Standalone Network ; February 2017"
    assert root["core_latest_ledger"] >= root["history_latest_ledger"] >= 1
    assert root["localnet"] is True
    assert "production" in root["warning"]


def test_friendbot_creates_an_account_with_10000_xlm(localnet):
    keypair = Keypair.random()
    localnet.friendbot(keypair.public_key)
    account = localnet.server().accounts().account_id(keypair.public_key).call()
    assert account["id"] == account["account_id"] == keypair.public_key
    assert account["balances"] == [
        {
            "balance": "10000.0000000",
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "asset_type": "native",
        }
    ]
    assert isinstance(account["sequence"], str)
    assert account["thresholds"] == {
        "low_threshold": 0,
        "med_threshold": 0,
        "high_threshold": 0,
    }
    assert account["signers"] == [
        {"weight": 1, "key": keypair.public_key, "type": "ed25519_public_key"}
    ]
    assert account["num_sponsoring"] == account["num_sponsored"] == 0
    loaded = localnet.server().load_account(keypair.public_key)
    assert loaded.sequence == int(account["sequence"])


def test_missing_account_is_a_404_problem(localnet):
    with pytest.raises(NotFoundError) as raised:
        localnet.server().accounts().account_id(Keypair.random().public_key).call()
    assert raised.value.status == 404
    assert raised.value.type == "https://stellar.org/horizon-errors/not_found"


def test_base_fee_ledgers_and_fee_stats_parse_with_the_sdk(localnet):
    server = localnet.server()
    assert server.fetch_base_fee() == 100
    latest = (
        server.ledgers().order(desc=True).limit(1).call()["_embedded"]["records"][0]
    )
    assert latest["max_tx_set_size"] == 1000
    assert latest["base_reserve_in_stroops"] == 5_000_000
    stats = server.fee_stats().call()
    assert stats["last_ledger_base_fee"] == "100"
    assert int(stats["fee_charged"]["p99"]) >= 100


def test_cors_is_open_for_the_dashboard(localnet):
    with urllib.request.urlopen(localnet.url + "/") as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    request = urllib.request.Request(
        localnet.url + "/accounts/GABC",
        method="OPTIONS",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
        },
    )
    with urllib.request.urlopen(request) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_sync_submission_answers_with_the_included_transaction(localnet, accounts):
    payer, payee = accounts(2)
    tx = (
        builder(localnet, payer.public_key)
        .append_payment_op(payee.public_key, Asset.native(), "1.5")
        .build()
    )
    tx.sign(payer)
    status, body = submit(localnet, tx)
    assert status == 200
    assert body["hash"] == tx.hash_hex()
    assert body["successful"] is True
    assert body["ledger"] >= 2
    assert body["envelope_xdr"] == tx.to_xdr()
    result = X.TransactionResult.from_xdr(body["result_xdr"])
    assert result.result.code == X.TransactionResultCode.txSUCCESS
    assert result.fee_charged.int64 == 100
    fetched = localnet.server().transactions().transaction(tx.hash_hex()).call()
    assert fetched["hash"] == tx.hash_hex()
    assert fetched["fee_charged"] == "100"


@pytest.mark.parametrize("memo", ["text", "id", "hash", "return"])
def test_memos_of_every_type_are_kept(localnet, accounts, memo):
    payer, payee = accounts(2)
    b = builder(localnet, payer.public_key).append_payment_op(
        payee.public_key, Asset.native(), "1"
    )
    if memo == "text":
        b.add_text_memo("invoice 7")
    elif memo == "id":
        b.add_id_memo(2**64 - 1)
    elif memo == "hash":
        b.add_hash_memo(b"\x01" * 32)
    else:
        b.add_return_hash_memo(b"\x02" * 32)
    tx = b.build()
    tx.sign(payer)
    status, body = submit(localnet, tx)
    assert status == 200
    assert body["memo_type"] == memo
    expected = {
        "text": "invoice 7",
        "id": str(2**64 - 1),
        "hash": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
        "return": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
    }[memo]
    assert body["memo"] == expected


def test_payments_and_transactions_of_an_account_page_newest_first(localnet, accounts):
    payer, payee = accounts(2)
    hashes = []
    for amount in ("1", "2", "3"):
        tx = (
            builder(localnet, payer.public_key)
            .append_payment_op(payee.public_key, Asset.native(), amount)
            .build()
        )
        tx.sign(payer)
        assert submit(localnet, tx)[0] == 200
        hashes.append(tx.hash_hex())
    server = localnet.server()
    page = (
        server.payments().for_account(payee.public_key).order(desc=True).limit(2).call()
    )
    records = page["_embedded"]["records"]
    assert [r["amount"] for r in records] == ["3.0000000", "2.0000000"]
    assert records[0]["type"] == "payment"
    assert records[0]["from"] == payer.public_key
    assert records[0]["asset_type"] == "native"
    cursor = records[-1]["paging_token"]
    rest = (
        server.payments()
        .for_account(payee.public_key)
        .order(desc=True)
        .cursor(cursor)
        .limit(10)
        .call()["_embedded"]["records"]
    )
    assert [r["type"] for r in rest] == ["payment", "create_account"]
    assert rest[0]["amount"] == "1.0000000"
    txs = (
        server.transactions()
        .for_account(payer.public_key)
        .order(desc=True)
        .limit(3)
        .call()["_embedded"]["records"]
    )
    assert [t["hash"] for t in txs] == hashes[::-1]
    ascending = (
        server.transactions()
        .for_account(payer.public_key)
        .order(desc=False)
        .call()["_embedded"]["records"]
    )
    assert [t["hash"] for t in ascending][-3:] == hashes


def test_unknown_transaction_is_a_404(localnet):
    with pytest.raises(NotFoundError):
        localnet.server().transactions().transaction("ab" * 32).call()


def test_transaction_builder_from_horizon_account_works(localnet, accounts):
    (payer,) = accounts(1)
    account = localnet.server().load_account(payer.public_key)
    tx = (
        TransactionBuilder(account, localnet.passphrase, base_fee=100)
        .set_timeout(30)
        .append_manage_data_op("k", b"v")
        .build()
    )
    tx.sign(payer)
    assert submit(localnet, tx)[0] == 200
    data = localnet.server().accounts().account_id(payer.public_key).call()["data"]
    assert data == {"k": "dg=="}


def test_a_ledgers_transactions_are_listed_and_paged(localnet, accounts):
    """GET /ledgers/{seq}/transactions: what the TSS reads once per ledger to
    confirm all its envelopes at once (failed ones with include_failed)."""
    *payers, payee_keypair = accounts(5, starting_balance="10")
    payee = payee_keypair.public_key
    server = localnet.server()
    txs = []
    for index, payer in enumerate(payers):
        amount = "500" if index == 3 else "1"  # the last one fails: underfunded
        tx = (
            builder(localnet, payer.public_key)
            .append_payment_op(payee, Asset.native(), amount)
            .build()
        )
        tx.sign(payer)
        txs.append(tx)
    answers = [server.submit_transaction_async(tx) for tx in txs[:1]]
    assert answers[0]["tx_status"] == "PENDING"
    first = localnet.latest_ledger()
    for tx in txs[1:]:
        assert server.submit_transaction_async(tx)["tx_status"] == "PENDING"
    deadline = time.monotonic() + 30
    records = {}
    while time.monotonic() < deadline and len(records) < 4:
        time.sleep(0.2)
        for tx in txs:
            status, body = localnet.request("GET", f"/transactions/{tx.hash_hex()}")
            if status == 200:
                records[tx.hash_hex()] = body
    assert len(records) == 4
    ledgers = sorted({record["ledger"] for record in records.values()})
    assert ledgers[0] > first - 1
    listed = []
    for seq in ledgers:
        page = server.transactions().for_ledger(seq).include_failed(True).limit(1)
        body = page.call()
        while body["_embedded"]["records"]:
            assert len(body["_embedded"]["records"]) == 1
            listed += body["_embedded"]["records"]
            body = (
                server.transactions()
                .for_ledger(seq)
                .include_failed(True)
                .limit(1)
                .cursor(body["_embedded"]["records"][-1]["paging_token"])
                .call()
            )
    ours = [r for r in listed if r["hash"] in records]
    assert sorted(r["hash"] for r in ours) == sorted(records)
    assert all(r["ledger"] in ledgers for r in listed)
    failed = records[txs[3].hash_hex()]
    assert failed["successful"] is False
    successful_only = [
        r["hash"]
        for seq in ledgers
        for r in server.transactions()
        .for_ledger(seq)
        .limit(200)
        .call()["_embedded"]["records"]
    ]
    assert txs[3].hash_hex() not in successful_only
    assert txs[1].hash_hex() in successful_only
    status, _ = localnet.request(
        "GET", f"/ledgers/{localnet.latest_ledger() + 50}/transactions"
    )
    assert status == 404
