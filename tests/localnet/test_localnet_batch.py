"""A fee-bumped transaction of several payments applies atomically, with one
result per operation, as stellar-core does: the TSS's batches depend on it."""

from stellar_sdk import Asset, Keypair, TransactionBuilder
from stellar_sdk import xdr as X

from localnet.testing import builder, submit


def _balance(net, account_id, asset=None):
    account = net.server().accounts().account_id(account_id).call()
    for line in account["balances"]:
        if asset is None and line["asset_type"] == "native":
            return line["balance"]
        if asset is not None and line.get("asset_code") == asset.code:
            return line["balance"]
    return None


def _sequence(net, account_id):
    return int(net.server().accounts().account_id(account_id).call()["sequence"])


def _issue(net, issuer, holder, amount):
    """A trustline of ``holder`` to ``issuer``'s TOK, and ``amount`` of it."""
    asset = Asset("TOK", issuer.public_key)
    tx = builder(net, holder.public_key).append_change_trust_op(asset).build()
    tx.sign(holder)
    assert submit(net, tx)[0] == 200
    if amount:
        tx = (
            builder(net, issuer.public_key)
            .append_payment_op(holder.public_key, asset, amount)
            .build()
        )
        tx.sign(issuer)
        assert submit(net, tx)[0] == 200
    return asset


def _batch(net, channel, distribution, destinations, asset, base_fee=1000):
    tx = builder(net, channel.public_key)
    for destination in destinations:
        tx.append_payment_op(destination, asset, "1", source=distribution.public_key)
    inner = tx.build()
    inner.sign(channel)
    inner.sign(distribution)
    bump = TransactionBuilder.build_fee_bump_transaction(
        distribution.public_key, base_fee, inner, net.passphrase
    )
    bump.sign(distribution)
    return bump


def test_one_failing_operation_fails_the_whole_batch_with_its_own_code(
    localnet, accounts
):
    issuer, channel, distribution, good_1, missing_line, good_2 = accounts(6)
    asset = _issue(localnet, issuer, distribution, amount="100")
    for holder in (good_1, good_2):
        _issue(localnet, issuer, holder, amount="")
    before = {
        key: _balance(localnet, key, asset)
        for key in (distribution.public_key, good_1.public_key, good_2.public_key)
    }
    channel_seq = _sequence(localnet, channel.public_key)
    bump = _batch(
        localnet,
        channel,
        distribution,
        [good_1.public_key, missing_line.public_key, good_2.public_key],
        asset,
    )
    status, body = submit(localnet, bump)

    assert status == 400
    codes = body["extras"]["result_codes"]
    assert codes["transaction"] == "tx_fee_bump_inner_failed"
    assert codes["inner_transaction"] == {
        "transaction": "tx_failed",
        "operations": ["op_success", "op_no_trust", "op_success"],
    }
    # The result XDR as stellar-sdk reads it: the fee bump's, with the inner
    # transaction's failure and each operation's own result.
    result = X.TransactionResult.from_xdr(body["extras"]["result_xdr"])
    assert result.result.code == X.TransactionResultCode.txFEE_BUMP_INNER_FAILED
    inner = result.result.inner_result_pair.result.result
    assert inner.code == X.TransactionResultCode.txFAILED
    codes = [op.tr.payment_result.code for op in inner.results]
    assert codes == [
        X.PaymentResultCode.PAYMENT_SUCCESS,
        X.PaymentResultCode.PAYMENT_NO_TRUST,
        X.PaymentResultCode.PAYMENT_SUCCESS,
    ]
    # Nothing applied; the fee (4 operations' worth) charged and the channel's
    # sequence number consumed.
    after = {key: _balance(localnet, key, asset) for key in before}
    assert after == before
    assert result.fee_charged.int64 == 4 * 100
    assert _sequence(localnet, channel.public_key) == channel_seq + 1
    on_ledger = localnet.server().transactions().transaction(bump.hash_hex()).call()
    assert on_ledger["successful"] is False


def test_a_batch_of_good_payments_applies_every_operation(localnet, accounts):
    channel, distribution, *payees = accounts(5)
    before = [float(_balance(localnet, payee.public_key)) for payee in payees]
    bump = _batch(
        localnet,
        channel,
        distribution,
        [payee.public_key for payee in payees],
        Asset.native(),
    )
    status, body = submit(localnet, bump)

    assert status == 200, body
    result = X.TransactionResult.from_xdr(body["result_xdr"])
    inner = result.result.inner_result_pair.result.result
    assert inner.code == X.TransactionResultCode.txSUCCESS
    assert len(inner.results) == 3
    after = [float(_balance(localnet, payee.public_key)) for payee in payees]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1.0] * 3
    # Each payment operation counts against the ledger's budget, plus the bump.
    assert result.fee_charged.int64 == 4 * 100


def test_a_missing_destination_in_a_batch_fails_only_its_own_operation(
    localnet, accounts
):
    channel, distribution, payee = accounts(3)
    bump = _batch(
        localnet,
        channel,
        distribution,
        [payee.public_key, Keypair.random().public_key],
        Asset.native(),
    )
    status, body = submit(localnet, bump)
    assert status == 400
    assert body["extras"]["result_codes"]["inner_transaction"]["operations"] == [
        "op_success",
        "op_no_destination",
    ]
