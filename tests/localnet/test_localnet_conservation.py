"""Property: lumens are never created or destroyed. Across random sequences of
transactions (payments, account creation, merges, trustlines, fee bumps,
failures of every kind), the balances of all accounts plus the fees charged
stay equal to the 100 billion XLM the network started with."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stellar_sdk import Account, Asset, Keypair, TransactionBuilder
from stellar_sdk.exceptions import BaseHorizonError, NotFoundError

from localnet.testing import start_localnet

TOTAL_STROOPS = 100_000_000_000 * 10**7


@pytest.fixture(scope="module")
def network():
    net = start_localnet(ledger_close=0, max_ops_per_ledger=50)
    root = net.root_keypair()
    keypairs = [Keypair.random() for _ in range(5)]
    server = net.server()
    b = TransactionBuilder(
        server.load_account(root.public_key), net.passphrase, base_fee=100
    ).set_timeout(300)
    for keypair in keypairs:
        b.append_create_account_op(keypair.public_key, "50")
    tx = b.build()
    tx.sign(root)
    server.submit_transaction_async(tx)
    net.close_ledger()
    known = {root.public_key, net.info()["friendbot_account"]}
    known |= {k.public_key for k in keypairs}
    yield net, keypairs, known, {"fees": 0, "cursor": None}
    net.stop()


def _stroops(balance: str) -> int:
    whole, fraction = balance.split(".")
    return int(whole) * 10**7 + int(fraction)


action = st.tuples(
    st.sampled_from(["pay", "create", "merge", "trust", "pay_credit", "data"]),
    st.integers(0, 4),
    st.integers(0, 5),
    st.sampled_from(["0.0000001", "1", "30", "49.5", "1000"]),
    st.sampled_from([100, 150, 1000]),
    st.booleans(),  # wrap in a fee bump paid by another account
    st.booleans(),  # use a wrong sequence number
)


def _build(net, keypairs, sequences, fresh, step):
    kind, src, dst, amount, fee, bump, bad_seq = step
    source = keypairs[src]
    destination = fresh[0].public_key if dst == 5 else keypairs[dst].public_key
    sequence = sequences.get(source.public_key, 0) + (7 if bad_seq else 0)
    b = TransactionBuilder(
        Account(source.public_key, sequence), net.passphrase, base_fee=fee
    ).set_timeout(300)
    issuer = keypairs[0].public_key
    if kind == "pay":
        b.append_payment_op(destination, Asset.native(), amount)
    elif kind == "create":
        b.append_create_account_op(destination, amount)
    elif kind == "merge":
        b.append_account_merge_op(destination)
    elif kind == "trust":
        b.append_change_trust_op(Asset("CNS", issuer))
    elif kind == "pay_credit":
        b.append_payment_op(destination, Asset("CNS", issuer), amount)
    else:
        b.append_manage_data_op("k", b"v" if dst % 2 else None)
    tx = b.build()
    tx.sign(source)
    if bump:
        payer = keypairs[(src + 1) % len(keypairs)]
        tx = TransactionBuilder.build_fee_bump_transaction(
            payer.public_key, fee, tx, net.passphrase
        )
        tx.sign(payer)
    return tx


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(action, min_size=1, max_size=8))
def test_total_lumens_plus_fees_never_change(network, steps):
    net, keypairs, known, seen = network
    server = net.server()
    sequences = {}
    for keypair in keypairs:
        try:
            sequences[keypair.public_key] = int(
                server.accounts().account_id(keypair.public_key).call()["sequence"]
            )
        except NotFoundError:
            sequences[keypair.public_key] = 0
    fresh = [Keypair.random()]
    known.add(fresh[0].public_key)
    for step in steps:
        tx = _build(net, keypairs, sequences, fresh, step)
        # Rejected at the door (bad seq, TRY_AGAIN_LATER, ...) costs nothing.
        with contextlib.suppress(BaseHorizonError):
            server.submit_transaction_async(tx, skip_memo_required_check=True)
    net.close_ledger()

    balances = 0
    for account_id in known:
        try:
            account = server.accounts().account_id(account_id).call()
        except NotFoundError:
            continue
        balances += _stroops(account["balances"][-1]["balance"])
    while True:  # fees of the transactions not seen yet, page by page
        call = server.transactions().include_failed(True).limit(200)
        if seen["cursor"]:
            call = call.cursor(seen["cursor"])
        records = call.call()["_embedded"]["records"]
        if not records:
            break
        seen["fees"] += sum(int(r["fee_charged"]) for r in records)
        seen["cursor"] = records[-1]["paging_token"]
    assert balances + seen["fees"] == TOTAL_STROOPS
