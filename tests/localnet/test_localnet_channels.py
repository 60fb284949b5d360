"""The TSS's way of using the network: sponsored channel accounts, fee-bumped
payments with a channel as transaction source, deletion of channels."""

from stellar_sdk import Asset, Keypair, TransactionBuilder
from stellar_sdk import xdr as X

from localnet.testing import builder, result_codes, submit


def _account(net, account_id):
    return net.server().accounts().account_id(account_id).call()


def _create_channels(net, distribution, channels, sign_channels=True):
    b = builder(net, distribution.public_key)
    for channel in channels:
        b.append_begin_sponsoring_future_reserves_op(channel.public_key)
        b.append_create_account_op(channel.public_key, "0")
        b.append_end_sponsoring_future_reserves_op(source=channel.public_key)
    tx = b.build()
    tx.sign(distribution)
    if sign_channels:
        for channel in channels:
            tx.sign(channel)
    return tx


def test_sponsored_channel_accounts_are_created_in_one_transaction(localnet, accounts):
    (distribution,) = accounts(1)
    channels = [Keypair.random() for _ in range(5)]
    assert result_codes(
        localnet, _create_channels(localnet, distribution, channels)
    ) == {"transaction": "tx_success"}
    channel = _account(localnet, channels[0].public_key)
    assert channel["balances"][0]["balance"] == "0.0000000"
    assert channel["num_sponsored"] == 2
    assert channel["sponsor"] == distribution.public_key
    assert _account(localnet, distribution.public_key)["num_sponsoring"] == 10


def test_sponsored_creation_needs_the_new_accounts_signature(localnet, accounts):
    (distribution,) = accounts(1)
    channel = Keypair.random()
    tx = _create_channels(localnet, distribution, [channel], sign_channels=False)
    assert result_codes(localnet, tx) == {
        "transaction": "tx_failed",
        "operations": ["op_success", "op_success", "op_bad_auth"],
    }


def _fee_bumped_payment(
    net,
    channel,
    distribution,
    destination,
    amount="1",
    asset=None,
    max_ledger=None,
    base_fee=1000,
):
    latest = net.latest_ledger()
    inner = (
        builder(net, channel.public_key)
        .append_payment_op(
            destination, asset or Asset.native(), amount, source=distribution.public_key
        )
        .set_ledger_bounds(0, max_ledger or latest + 10)
        .add_text_memo("payment-1")
        .build()
    )
    inner.sign(channel)
    inner.sign(distribution)
    fee_bump = TransactionBuilder.build_fee_bump_transaction(
        distribution.public_key, base_fee, inner, net.passphrase
    )
    fee_bump.sign(distribution)
    return inner, fee_bump


def test_fee_bumped_payment_from_a_channel_lands_and_is_paid_by_distribution(
    localnet, accounts
):
    distribution, receiver = accounts(2)
    channel = Keypair.random()
    assert (
        submit(localnet, _create_channels(localnet, distribution, [channel]))[0] == 200
    )
    before = _account(localnet, distribution.public_key)
    inner, fee_bump = _fee_bumped_payment(
        localnet, channel, distribution, receiver.public_key, "25"
    )

    response = localnet.server().submit_transaction_async(fee_bump)
    assert response["tx_status"] == "PENDING"
    assert response["hash"] == fee_bump.hash_hex()
    record = localnet.wait_for_transaction(fee_bump.hash_hex())

    assert record["successful"] is True
    assert record["fee_account"] == distribution.public_key
    assert record["source_account"] == channel.public_key
    assert record["fee_charged"] == "200"
    assert record["inner_transaction"]["hash"] == inner.hash_hex()
    result = X.TransactionResult.from_xdr(record["result_xdr"])
    assert result.result.code == X.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS
    assert (
        result.result.inner_result_pair.transaction_hash.hash.hex() == inner.hash_hex()
    )
    after = _account(localnet, distribution.public_key)
    spent = int(before["balances"][-1]["balance"].replace(".", "")) - int(
        after["balances"][-1]["balance"].replace(".", "")
    )
    assert spent == 25 * 10**7 + 200
    assert (
        int(_account(localnet, channel.public_key)["sequence"])
        == inner.transaction.sequence
    )
    by_inner = localnet.server().transactions().transaction(inner.hash_hex()).call()
    assert by_inner["hash"] == inner.hash_hex()


def test_fee_bump_with_failing_inner_payment_reports_inner_codes(localnet, accounts):
    distribution, receiver = accounts(2)
    channel = Keypair.random()
    assert (
        submit(localnet, _create_channels(localnet, distribution, [channel]))[0] == 200
    )
    _inner, fee_bump = _fee_bumped_payment(
        localnet,
        channel,
        distribution,
        receiver.public_key,
        "1",
        Asset("USDC", receiver.public_key),
    )
    status, body = submit(localnet, fee_bump)
    assert status == 400
    assert body["extras"]["result_codes"] == {
        "transaction": "tx_fee_bump_inner_failed",
        "inner_transaction": {
            "transaction": "tx_failed",
            "operations": ["op_src_no_trust"],
        },
    }
    record = localnet.server().transactions().transaction(fee_bump.hash_hex()).call()
    assert record["successful"] is False


def test_channel_deletion_as_sdp_does_it(localnet, accounts):
    (distribution,) = accounts(1)
    channel = Keypair.random()
    assert (
        submit(localnet, _create_channels(localnet, distribution, [channel]))[0] == 200
    )

    revoke_only = (
        builder(localnet, distribution.public_key)
        .append_revoke_account_sponsorship_op(channel.public_key)
        .append_account_merge_op(distribution.public_key, source=channel.public_key)
        .build()
    )
    revoke_only.sign(distribution)
    revoke_only.sign(channel)
    # with a zero balance the channel can't carry its own reserve
    assert result_codes(localnet, revoke_only) == {
        "transaction": "tx_failed",
        "operations": ["op_low_reserve", "op_success"],
    }

    delete = (
        builder(localnet, distribution.public_key)
        .append_payment_op(channel.public_key, Asset.native(), "1")
        .append_revoke_account_sponsorship_op(channel.public_key)
        .append_account_merge_op(distribution.public_key, source=channel.public_key)
        .build()
    )
    delete.sign(distribution)
    delete.sign(channel)
    assert result_codes(localnet, delete) == {"transaction": "tx_success"}
    assert _account(localnet, distribution.public_key)["num_sponsoring"] == 0


def test_a_sponsor_cannot_merge_while_sponsoring(localnet, accounts):
    distribution, other = accounts(2)
    channel = Keypair.random()
    assert (
        submit(localnet, _create_channels(localnet, distribution, [channel]))[0] == 200
    )
    merge = (
        builder(localnet, distribution.public_key)
        .append_account_merge_op(other.public_key)
        .build()
    )
    merge.sign(distribution)
    assert result_codes(localnet, merge)["operations"] == ["op_is_sponsor"]
