"""Each result code, produced by real signed envelopes through stellar_sdk.Server."""

import time

import pytest
from stellar_sdk import (
    Asset,
    AuthorizationFlag,
    Keypair,
    TransactionBuilder,
    TrustLineFlags,
)
from stellar_sdk import xdr as X

from localnet.testing import builder, result_codes, submit


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


def _pay(net, source, destination, amount="1", asset=None, signers=None, **kw):
    tx = (
        builder(net, source.public_key, **kw)
        .append_payment_op(destination, asset or Asset.native(), amount)
        .build()
    )
    for keypair in signers or [source]:
        tx.sign(keypair)
    return tx


def test_bad_sequence_is_rejected_without_consuming_it(localnet, accounts):
    payer, payee = accounts(2)
    account = localnet.server().load_account(payer.public_key)
    account.sequence += 5
    tx = (
        TransactionBuilder(account, localnet.passphrase, base_fee=100)
        .set_timeout(30)
        .append_payment_op(payee.public_key, Asset.native(), "1")
        .build()
    )
    tx.sign(payer)
    before = _sequence(localnet, payer.public_key)
    assert result_codes(localnet, tx) == {"transaction": "tx_bad_seq"}
    assert _sequence(localnet, payer.public_key) == before


def test_time_bounds_too_early_and_too_late(localnet, accounts):
    payer, payee = accounts(2)
    now = int(time.time())
    early = builder(localnet, payer.public_key).append_payment_op(
        payee.public_key, Asset.native(), "1"
    )
    early.time_bounds = None
    early.add_time_bounds(now + 3600, now + 7200)
    tx = early.build()
    tx.sign(payer)
    assert result_codes(localnet, tx) == {"transaction": "tx_too_early"}
    late = builder(localnet, payer.public_key).append_payment_op(
        payee.public_key, Asset.native(), "1"
    )
    late.time_bounds = None
    late.add_time_bounds(0, now - 10)
    tx = late.build()
    tx.sign(payer)
    assert result_codes(localnet, tx) == {"transaction": "tx_too_late"}


def test_ledger_bounds_upper_end_is_exclusive(localnet, accounts):
    payer, payee = accounts(2)
    latest = localnet.latest_ledger()
    tx = (
        builder(localnet, payer.public_key)
        .append_payment_op(payee.public_key, Asset.native(), "1")
        .set_ledger_bounds(0, latest)
        .build()
    )
    tx.sign(payer)
    assert result_codes(localnet, tx) == {"transaction": "tx_too_late"}
    tx = (
        builder(localnet, payer.public_key)
        .append_payment_op(payee.public_key, Asset.native(), "1")
        .set_ledger_bounds(latest + 50, 0)
        .build()
    )
    tx.sign(payer)
    assert result_codes(localnet, tx) == {"transaction": "tx_too_early"}
    tx = (
        builder(localnet, payer.public_key)
        .append_payment_op(payee.public_key, Asset.native(), "1")
        .set_ledger_bounds(0, latest + 20)
        .build()
    )
    tx.sign(payer)
    assert result_codes(localnet, tx) == {"transaction": "tx_success"}


def test_fee_below_base_fee_times_operations(localnet, accounts):
    payer, payee = accounts(2)
    b = builder(localnet, payer.public_key, base_fee=99)
    tx = b.append_payment_op(payee.public_key, Asset.native(), "1").build()
    tx.sign(payer)
    assert result_codes(localnet, tx) == {"transaction": "tx_insufficient_fee"}


def test_fee_bump_needs_one_more_base_fee_than_inner_operations(localnet, accounts):
    channel, distribution, payee = accounts(3)
    inner = (
        builder(localnet, channel.public_key)
        .append_payment_op(
            payee.public_key, Asset.native(), "1", source=distribution.public_key
        )
        .build()
    )
    inner.sign(channel)
    inner.sign(distribution)
    low = TransactionBuilder.build_fee_bump_transaction(
        distribution.public_key, 100, inner, localnet.passphrase
    )
    # build_fee_bump_transaction takes a per-operation base fee; 100 x 2 ops is the
    # minimum, so craft a 199-stroop bid by hand
    low.transaction.fee = 199
    low.sign(distribution)
    assert result_codes(localnet, low) == {"transaction": "tx_insufficient_fee"}


def test_missing_signature_and_extra_signature(localnet, accounts):
    payer, payee, stranger = accounts(3)
    unsigned = _pay(localnet, payer, payee.public_key, signers=[stranger])
    assert result_codes(localnet, unsigned) == {"transaction": "tx_bad_auth"}
    extra = _pay(localnet, payer, payee.public_key, signers=[payer, stranger])
    assert result_codes(localnet, extra) == {"transaction": "tx_bad_auth_extra"}


def test_unknown_source_account(localnet, accounts):
    (payee,) = accounts(1)
    ghost = Keypair.random()
    from stellar_sdk import Account

    tx = (
        TransactionBuilder(
            Account(ghost.public_key, 1), localnet.passphrase, base_fee=100
        )
        .set_timeout(30)
        .append_payment_op(payee.public_key, Asset.native(), "1")
        .build()
    )
    tx.sign(ghost)
    assert result_codes(localnet, tx) == {"transaction": "tx_no_source_account"}


def test_fee_larger_than_spendable_balance(localnet, accounts):
    payer, payee = accounts(2, starting_balance="1.0001")
    tx = _pay(localnet, payer, payee.public_key, base_fee=10_000)
    assert result_codes(localnet, tx) == {"transaction": "tx_insufficient_balance"}


def test_failed_transaction_pays_its_fee_and_consumes_its_sequence(localnet, accounts):
    payer, payee = accounts(2, starting_balance="10")
    before_seq = _sequence(localnet, payer.public_key)
    tx = _pay(localnet, payer, payee.public_key, amount="100")
    status, body = submit(localnet, tx)
    assert status == 400
    assert body["extras"]["result_codes"] == {
        "transaction": "tx_failed",
        "operations": ["op_underfunded"],
    }
    result = X.TransactionResult.from_xdr(body["extras"]["result_xdr"])
    assert result.result.code == X.TransactionResultCode.txFAILED
    assert result.fee_charged.int64 == 100
    assert _sequence(localnet, payer.public_key) == before_seq + 1
    assert _balance(localnet, payer.public_key) == "9.9999900"
    included = localnet.server().transactions().transaction(tx.hash_hex()).call()
    assert included["successful"] is False
    assert included["result_xdr"] == body["extras"]["result_xdr"]


def test_payment_to_missing_account(localnet, accounts):
    (payer,) = accounts(1)
    tx = _pay(localnet, payer, Keypair.random().public_key)
    assert result_codes(localnet, tx)["operations"] == ["op_no_destination"]


def test_create_account_codes(localnet, accounts):
    payer, existing = accounts(2)
    new = Keypair.random().public_key
    cases = [
        (existing.public_key, "5", "op_already_exists"),
        (new, "0.9", "op_low_reserve"),
        (new, "5000", "op_underfunded"),
    ]
    for destination, amount, code in cases:
        tx = (
            builder(localnet, payer.public_key)
            .append_create_account_op(destination, amount)
            .build()
        )
        tx.sign(payer)
        assert result_codes(localnet, tx)["operations"] == [code]


def test_create_account_to_self_is_malformed(localnet, accounts):
    (payer,) = accounts(1)
    tx = (
        builder(localnet, payer.public_key)
        .append_create_account_op(payer.public_key, "5")
        .build()
    )
    tx.sign(payer)
    assert result_codes(localnet, tx)["operations"] == ["op_malformed"]


def _issue(
    net, issuer, holder, code="USDC", amount="100", limit=None, auth_required=False
):
    asset = Asset(code, issuer.public_key)
    if auth_required:
        tx = (
            builder(net, issuer.public_key)
            .append_set_options_op(
                set_flags=AuthorizationFlag.AUTHORIZATION_REQUIRED
                | AuthorizationFlag.AUTHORIZATION_REVOCABLE
            )
            .build()
        )
        tx.sign(issuer)
        assert submit(net, tx)[0] == 200
    tx = (
        builder(net, holder.public_key)
        .append_change_trust_op(asset, limit=limit)
        .build()
    )
    tx.sign(holder)
    assert submit(net, tx)[0] == 200
    if not auth_required and amount:
        tx = _pay(net, issuer, holder.public_key, amount, asset)
        assert submit(net, tx)[0] == 200
    return asset


def test_credit_payment_codes(localnet, accounts):
    issuer, holder, no_trust, small = accounts(4)
    asset = _issue(localnet, issuer, holder)
    _issue(localnet, issuer, small, limit="10", amount=None)
    assert result_codes(
        localnet, _pay(localnet, holder, no_trust.public_key, "1", asset)
    )["operations"] == ["op_no_trust"]
    assert result_codes(
        localnet, _pay(localnet, holder, small.public_key, "11", asset)
    )["operations"] == ["op_line_full"]
    assert result_codes(
        localnet, _pay(localnet, holder, small.public_key, "101", asset)
    )["operations"] == ["op_line_full"]
    assert result_codes(
        localnet, _pay(localnet, no_trust, holder.public_key, "1", asset)
    )["operations"] == ["op_src_no_trust"]
    assert result_codes(localnet, _pay(localnet, small, holder.public_key, "1", asset))[
        "operations"
    ] == ["op_underfunded"]
    ok = _pay(localnet, holder, small.public_key, "10", asset)
    assert result_codes(localnet, ok) == {"transaction": "tx_success"}
    assert _balance(localnet, small.public_key, asset) == "10.0000000"
    account = localnet.server().accounts().account_id(small.public_key).call()
    line = next(b for b in account["balances"] if b["asset_type"] == "credit_alphanum4")
    assert line["limit"] == "10.0000000"
    assert line["is_authorized"] is True
    assert line["asset_issuer"] == issuer.public_key


def test_auth_required_issuer_and_set_trust_line_flags(localnet, accounts):
    issuer, holder, other = accounts(3)
    asset = _issue(localnet, issuer, holder, code="EURT", auth_required=True)
    _issue(localnet, issuer, other, code="EURT", auth_required=False, amount=None)
    tx = _pay(localnet, issuer, holder.public_key, "5", asset)
    assert result_codes(localnet, tx)["operations"] == ["op_not_authorized"]
    authorize = (
        builder(localnet, issuer.public_key)
        .append_set_trust_line_flags_op(
            holder.public_key, asset, set_flags=TrustLineFlags.AUTHORIZED_FLAG
        )
        .append_set_trust_line_flags_op(
            other.public_key, asset, set_flags=TrustLineFlags.AUTHORIZED_FLAG
        )
        .build()
    )
    authorize.sign(issuer)
    assert result_codes(localnet, authorize) == {"transaction": "tx_success"}
    assert result_codes(
        localnet, _pay(localnet, issuer, holder.public_key, "5", asset)
    ) == {"transaction": "tx_success"}
    revoke = (
        builder(localnet, issuer.public_key)
        .append_set_trust_line_flags_op(
            holder.public_key, asset, clear_flags=TrustLineFlags.AUTHORIZED_FLAG
        )
        .build()
    )
    revoke.sign(issuer)
    assert result_codes(localnet, revoke) == {"transaction": "tx_success"}
    tx = _pay(localnet, holder, other.public_key, "1", asset)
    assert result_codes(localnet, tx)["operations"] == ["op_src_not_authorized"]


def test_unsupported_operation(localnet, accounts):
    (payer,) = accounts(1)
    tx = (
        builder(localnet, payer.public_key)
        .append_manage_sell_offer_op(
            Asset.native(), Asset("USDC", payer.public_key), "1", "1"
        )
        .build()
    )
    tx.sign(payer)
    assert result_codes(localnet, tx)["operations"] == ["op_not_supported"]


def test_low_reserve_for_a_trustline(localnet, accounts):
    issuer, poor = accounts(2, starting_balance="1.00002")
    tx = (
        builder(localnet, poor.public_key)
        .append_change_trust_op(Asset("USDC", issuer.public_key))
        .build()
    )
    tx.sign(poor)
    assert result_codes(localnet, tx)["operations"] == ["op_low_reserve"]


def test_operation_source_must_sign(localnet, accounts):
    channel, distribution, payee = accounts(3)
    tx = (
        builder(localnet, channel.public_key)
        .append_payment_op(
            payee.public_key, Asset.native(), "1", source=distribution.public_key
        )
        .build()
    )
    tx.sign(channel)
    assert result_codes(localnet, tx) == {
        "transaction": "tx_failed",
        "operations": ["op_bad_auth"],
    }


def test_set_options_thresholds_and_multisig(localnet, accounts):
    account, cosigner, payee = accounts(3)
    tx = (
        builder(localnet, account.public_key)
        .append_ed25519_public_key_signer(cosigner.public_key, 1)
        .append_set_options_op(low_threshold=1, med_threshold=2, high_threshold=2)
        .build()
    )
    tx.sign(account)
    assert result_codes(localnet, tx) == {"transaction": "tx_success"}
    one = _pay(localnet, account, payee.public_key)
    assert result_codes(localnet, one) == {
        "transaction": "tx_failed",
        "operations": ["op_bad_auth"],
    }
    both = _pay(localnet, account, payee.public_key, signers=[account, cosigner])
    assert result_codes(localnet, both) == {"transaction": "tx_success"}
    state = localnet.server().accounts().account_id(account.public_key).call()
    assert state["subentry_count"] == 1
    assert {s["key"] for s in state["signers"]} == {
        account.public_key,
        cosigner.public_key,
    }
    bad = (
        builder(localnet, account.public_key)
        .append_set_options_op(master_weight=256)
        .build()
    )
    bad.sign(account)
    bad.sign(cosigner)
    assert result_codes(localnet, bad)["operations"] == ["op_threshold_out_of_range"]


def test_manage_data_and_merge(localnet, accounts):
    account, into = accounts(2)
    tx = (
        builder(localnet, account.public_key)
        .append_manage_data_op("config.memo_required", b"1")
        .build()
    )
    tx.sign(account)
    assert submit(localnet, tx)[0] == 200
    merge = (
        builder(localnet, account.public_key)
        .append_account_merge_op(into.public_key)
        .build()
    )
    merge.sign(account)
    assert result_codes(localnet, merge)["operations"] == ["op_has_sub_entries"]
    missing = (
        builder(localnet, account.public_key)
        .append_manage_data_op("nope", None)
        .build()
    )
    missing.sign(account)
    assert result_codes(localnet, missing)["operations"] == ["op_data_name_not_found"]
    clear = (
        builder(localnet, account.public_key)
        .append_manage_data_op("config.memo_required", None)
        .append_account_merge_op(into.public_key)
        .build()
    )
    clear.sign(account)
    status, body = submit(localnet, clear)
    assert status == 200
    result = X.TransactionResult.from_xdr(body["result_xdr"])
    merged = result.result.results[1].tr.account_merge_result.source_account_balance
    # 1,000 XLM less four fees: 100 + 100 + 100 + 200 (two operations)
    assert merged.int64 == 1000 * 10**7 - 500
    assert _balance(localnet, into.public_key) == "1999.9999500"


def test_conservation_holds_after_these_tests(localnet):
    stats = localnet.stats()
    assert stats["total_native"] + stats["fee_pool"] == stats["total_coins"]


@pytest.mark.parametrize("with_end", [True, False])
def test_begin_without_end_is_bad_sponsorship(localnet, accounts, with_end):
    sponsor, sponsored = accounts(2)
    b = (
        builder(localnet, sponsor.public_key)
        .append_begin_sponsoring_future_reserves_op(sponsored.public_key)
        .append_manage_data_op("k", b"v", source=sponsored.public_key)
    )
    if with_end:
        b.append_end_sponsoring_future_reserves_op(source=sponsored.public_key)
    tx = b.build()
    tx.sign(sponsor)
    tx.sign(sponsored)
    codes = result_codes(localnet, tx)
    if with_end:
        assert codes == {"transaction": "tx_success"}
        state = localnet.server().accounts().account_id(sponsored.public_key).call()
        assert state["num_sponsored"] == 1
    else:
        assert codes == {"transaction": "tx_bad_sponsorship"}
