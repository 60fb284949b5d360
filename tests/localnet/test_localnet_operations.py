"""GET /accounts/{id}/operations and /payments with join=transactions: every
operation an account takes part in, in Horizon's shape, read through
stellar-sdk's Server as the statement and the reconciliation read them."""

from stellar_sdk import Asset, Keypair

from localnet.testing import builder, submit


def _pay(net, payer, destination, asset, amount, memo=None):
    b = builder(net, payer.public_key).append_payment_op(destination, asset, amount)
    if memo:
        b.add_text_memo(memo)
    tx = b.build()
    tx.sign(payer)
    status, body = submit(net, tx)
    assert status == 200, body
    return tx.hash_hex()


def test_operations_of_an_account_include_trustlines_and_page_with_joined_transactions(
    localnet, accounts
):
    issuer, holder, payee = accounts(3)
    usdc = Asset("USDC", issuer.public_key)
    tx = (
        builder(localnet, holder.public_key)
        .append_change_trust_op(usdc, limit="5000")
        .build()
    )
    tx.sign(holder)
    assert submit(localnet, tx)[0] == 200
    trust_hash = tx.hash_hex()
    tx = builder(localnet, payee.public_key).append_change_trust_op(usdc).build()
    tx.sign(payee)
    assert submit(localnet, tx)[0] == 200
    fund_hash = _pay(localnet, issuer, holder.public_key, usdc, "100")
    pay_hash = _pay(localnet, holder, payee.public_key, usdc, "12.5", memo="inv 9")

    server = localnet.server()
    page = (
        server.operations()
        .for_account(holder.public_key)
        .join("transactions")
        .limit(2)
        .call()
    )
    records = page["_embedded"]["records"]
    # the create_account that funded it, then its change_trust
    assert [r["type"] for r in records] == ["create_account", "change_trust"]
    trust = records[1]
    assert trust["transaction_hash"] == trust_hash
    assert trust["asset_code"] == "USDC"
    assert trust["asset_issuer"] == issuer.public_key
    assert trust["trustee"] == issuer.public_key
    assert trust["trustor"] == holder.public_key
    assert trust["limit"] == "5000.0000000"
    assert trust["transaction"]["hash"] == trust_hash
    assert trust["transaction"]["fee_charged"] == "100"

    rest = (
        server.operations()
        .for_account(holder.public_key)
        .join("transactions")
        .cursor(records[-1]["paging_token"])
        .limit(200)
        .call()
    )["_embedded"]["records"]
    assert [(r["type"], r["transaction_hash"]) for r in rest] == [
        ("payment", fund_hash),
        ("payment", pay_hash),
    ]
    assert rest[1]["from"] == holder.public_key
    assert rest[1]["to"] == payee.public_key
    assert rest[1]["amount"] == "12.5000000"
    assert rest[1]["transaction"]["memo_type"] == "text"
    assert rest[1]["transaction"]["memo"] == "inv 9"
    # the payee's change_trust is not the holder's operation
    assert all(
        r["source_account"] != payee.public_key or r["type"] == "payment" for r in rest
    )

    payments = (
        server.payments().for_account(holder.public_key).join("transactions").call()
    )["_embedded"]["records"]
    assert [r["type"] for r in payments] == ["create_account", "payment", "payment"]
    assert payments[-1]["transaction"]["memo"] == "inv 9"


def test_operations_without_join_carry_no_transaction_and_refuse_other_joins(
    localnet, accounts
):
    payer, payee = accounts(2)
    _pay(localnet, payer, payee.public_key, Asset.native(), "1")
    server = localnet.server()
    records = (
        server.operations().for_account(payer.public_key).call()["_embedded"]["records"]
    )
    assert records
    assert all("transaction" not in r for r in records)
    status, body = localnet.request(
        "GET", f"/accounts/{payer.public_key}/operations?join=ledgers"
    )
    assert status == 400
    assert body["extras"]["invalid_field"] == "join"
    unknown = Keypair.random().public_key
    status, body = localnet.request("GET", f"/accounts/{unknown}/operations")
    assert status == 200
    assert body["_embedded"]["records"] == []
