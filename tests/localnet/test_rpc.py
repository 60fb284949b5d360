"""The localnet's Stellar RPC and Stellar Asset Contract, driven by stellar-sdk's
RPC client (SorobanServer) exactly as a payer of contract accounts drives the
real network: build with TransactionBuilder, prepare (simulate + assemble),
sign, fee-bump, send, poll."""

from __future__ import annotations

import os
import time
from decimal import Decimal

import pytest
from stellar_sdk import (
    Asset,
    AuthorizationFlag,
    Keypair,
    Server,
    SorobanServer,
    StrKey,
    TransactionBuilder,
    TrustLineFlags,
    scval,
)
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import PrepareTransactionException, SorobanRpcErrorResponse
from stellar_sdk.soroban_rpc import GetTransactionStatus, SendTransactionStatus

from localnet.testing import builder, submit


def _send(rpc: SorobanServer, tx, timeout: float = 20.0):
    sent = rpc.send_transaction(tx)
    assert sent.status == SendTransactionStatus.PENDING, sent
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = rpc.get_transaction(sent.hash)
        if got.status != GetTransactionStatus.NOT_FOUND:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{sent.hash} not ingested")


def _op_result(got) -> X.OperationResultTr:
    result = X.TransactionResult.from_xdr(got.result_xdr)
    pair = result.result.inner_result_pair
    results = pair.result.result.results if pair is not None else result.result.results
    return results[0].tr


@pytest.fixture(scope="module")
def world(localnet):
    """An issuer, a distribution account holding USDC, the USDC SAC deployed."""
    root = localnet.root_keypair()
    issuer, dist = Keypair.random(), Keypair.random()
    tx = (
        builder(localnet, root.public_key)
        .append_create_account_op(issuer.public_key, "100")
        .append_create_account_op(dist.public_key, "1000")
        .build()
    )
    tx.sign(root)
    assert submit(localnet, tx)[0] == 200
    usdc = Asset("USDC", issuer.public_key)
    tx = (
        builder(localnet, dist.public_key)
        .append_change_trust_op(usdc)
        .append_payment_op(dist.public_key, usdc, "500", source=issuer.public_key)
        .build()
    )
    tx.sign(dist)
    tx.sign(issuer)
    assert submit(localnet, tx)[0] == 200
    rpc = localnet.soroban_server()
    deploy = (
        TransactionBuilder(
            rpc.load_account(dist.public_key), localnet.passphrase, base_fee=100
        )
        .set_timeout(60)
        .append_create_stellar_asset_contract_from_asset_op(usdc)
        .build()
    )
    deploy = rpc.prepare_transaction(deploy)
    deploy.sign(dist)
    got = _send(rpc, deploy)
    assert got.status == GetTransactionStatus.SUCCESS, got
    return {
        "issuer": issuer,
        "dist": dist,
        "usdc": usdc,
        "sac": usdc.contract_id(localnet.passphrase),
        "rpc": rpc,
    }


def _transfer(localnet, world, to: str, amount: int, source=None):
    rpc: SorobanServer = world["rpc"]
    payer = source or world["dist"]
    return (
        TransactionBuilder(
            rpc.load_account(payer.public_key), localnet.passphrase, base_fee=100
        )
        .set_timeout(60)
        .append_invoke_contract_function_op(
            world["sac"],
            "transfer",
            [
                scval.to_address(world["dist"].public_key),
                scval.to_address(to),
                scval.to_int128(amount),
            ],
        )
        .build()
    )


def _contract_address() -> str:
    return StrKey.encode_contract(os.urandom(32))


def test_network_reads(localnet):
    rpc = localnet.soroban_server()
    health = rpc.get_health()
    assert health.status == "healthy"
    assert health.latest_ledger >= 1
    network = rpc.get_network()
    assert network.passphrase == localnet.passphrase
    latest = rpc.get_latest_ledger()
    assert latest.sequence >= health.latest_ledger
    header = X.LedgerHeader.from_xdr(latest.header_xdr)
    assert header.ledger_seq.uint32 == latest.sequence


def test_sac_deployed_with_the_assets_own_contract_id(localnet, world):
    rpc: SorobanServer = world["rpc"]
    instance = rpc.get_contract_data(
        world["sac"],
        X.SCVal(X.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE),
    )
    assert instance is not None
    data = X.LedgerEntryData.from_xdr(instance.xdr).contract_data
    assert (
        data.val.instance.executable.type
        == X.ContractExecutableType.CONTRACT_EXECUTABLE_STELLAR_ASSET
    )
    assert instance.live_until_ledger > instance.last_modified_ledger
    # deploying again fails in simulation, as on the real network
    again = (
        TransactionBuilder(
            rpc.load_account(world["dist"].public_key),
            localnet.passphrase,
            base_fee=100,
        )
        .set_timeout(60)
        .append_create_stellar_asset_contract_from_asset_op(world["usdc"])
        .build()
    )
    with pytest.raises(PrepareTransactionException):
        rpc.prepare_transaction(again)


def test_transfer_to_contract_fee_bumped(localnet, world):
    rpc: SorobanServer = world["rpc"]
    dest = _contract_address()
    fee_payer = Keypair.random()
    localnet.friendbot(fee_payer.public_key)
    tx = rpc.prepare_transaction(_transfer(localnet, world, dest, 12_500_000))
    # the simulation asked for the source account's authorization
    auth = tx.transaction.operations[0].auth
    assert len(auth) == 1
    assert (
        auth[0].credentials.type
        == X.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
    )
    tx.sign(world["dist"])
    bump = TransactionBuilder.build_fee_bump_transaction(
        fee_payer.public_key, 200, tx, localnet.passphrase
    )
    bump.sign(fee_payer)
    got = _send(rpc, bump)
    assert got.status == GetTransactionStatus.SUCCESS, got
    assert got.fee_bump is True

    balance = rpc.get_sac_balance(dest, world["usdc"], localnet.passphrase)
    assert balance.balance_entry is not None
    assert balance.balance_entry.amount == 12_500_000
    assert balance.balance_entry.authorized is True

    # the transfer event, in the SAC's topic shape
    events = rpc.get_events(
        start_ledger=got.ledger,
        filters=[
            {
                "type": "contract",
                "contractIds": [world["sac"]],
                "topics": [["*", "*", scval.to_address(dest).to_xdr(), "*"]],
            }
        ],
    ).events
    assert len(events) == 1
    topic = [X.SCVal.from_xdr(t) for t in events[0].topic]
    assert scval.from_symbol(topic[0]) == "transfer"
    assert scval.from_address(topic[1]).address == world["dist"].public_key
    assert scval.from_address(topic[2]).address == dest
    assert scval.from_string(topic[3]).decode() == (
        f"USDC:{world['issuer'].public_key}"
    )
    assert scval.from_int128(X.SCVal.from_xdr(events[0].value)) == 12_500_000
    assert events[0].transaction_hash == got.transaction_hash

    # the meta carries the same event
    meta = X.TransactionMeta.from_xdr(got.result_meta_xdr)
    assert len(meta.v3.soroban_meta.events) == 1

    # the classic side moved: Horizon shows the trustline debited
    account = localnet.server().accounts().account_id(world["dist"].public_key).call()
    line = next(b for b in account["balances"] if b.get("asset_code") == "USDC")
    assert line["balance"] == "498.7500000"


def test_insufficient_balance_is_the_sacs_error(localnet, world):
    rpc: SorobanServer = world["rpc"]
    sim = rpc.simulate_transaction(
        _transfer(localnet, world, _contract_address(), 10**15)
    )
    assert sim.error is not None
    assert "Error(Contract, #10)" in sim.error


def test_missing_trustline_of_a_g_destination(localnet, world):
    rpc: SorobanServer = world["rpc"]
    stranger = Keypair.random()
    localnet.friendbot(stranger.public_key)
    sim = rpc.simulate_transaction(_transfer(localnet, world, stranger.public_key, 1))
    assert sim.error is not None
    assert "Error(Contract, #13)" in sim.error


def test_auth_required_issuer_leaves_a_contract_balance_deauthorized(localnet):
    root = localnet.root_keypair()
    issuer, dist = Keypair.random(), Keypair.random()
    tx = (
        builder(localnet, root.public_key)
        .append_create_account_op(issuer.public_key, "100")
        .append_create_account_op(dist.public_key, "100")
        .build()
    )
    tx.sign(root)
    assert submit(localnet, tx)[0] == 200
    asset = Asset("KYC", issuer.public_key)
    tx = (
        builder(localnet, issuer.public_key)
        .append_set_options_op(
            set_flags=AuthorizationFlag.AUTHORIZATION_REQUIRED
            | AuthorizationFlag.AUTHORIZATION_REVOCABLE
        )
        .append_change_trust_op(asset, source=dist.public_key)
        .append_set_trust_line_flags_op(
            dist.public_key, asset, set_flags=TrustLineFlags.AUTHORIZED_FLAG
        )
        .append_payment_op(dist.public_key, asset, "10")
        .build()
    )
    tx.sign(issuer)
    tx.sign(dist)
    assert submit(localnet, tx)[0] == 200
    rpc = localnet.soroban_server()
    deploy = rpc.prepare_transaction(
        TransactionBuilder(rpc.load_account(dist.public_key), localnet.passphrase)
        .set_timeout(60)
        .append_create_stellar_asset_contract_from_asset_op(asset)
        .build()
    )
    deploy.sign(dist)
    assert _send(rpc, deploy).status == GetTransactionStatus.SUCCESS
    world = {"dist": dist, "sac": asset.contract_id(localnet.passphrase), "rpc": rpc}
    sim = rpc.simulate_transaction(_transfer(localnet, world, _contract_address(), 1))
    assert sim.error is not None
    assert "Error(Contract, #11)" in sim.error


def test_archived_balance_must_be_restored_first(localnet, world):
    rpc: SorobanServer = world["rpc"]
    dest = _contract_address()
    first = rpc.prepare_transaction(_transfer(localnet, world, dest, 10))
    first.sign(world["dist"])
    assert _send(rpc, first).status == GetTransactionStatus.SUCCESS

    # a transfer prepared while the entries were live...
    stale = rpc.prepare_transaction(_transfer(localnet, world, dest, 10))
    stale.sign(world["dist"])
    assert localnet.archive(world["sac"]) >= 2  # the instance and balances
    # ...fails at apply with the archived-entry code
    got = _send(rpc, stale)
    assert got.status == GetTransactionStatus.FAILED
    assert (
        _op_result(got).invoke_host_function_result.code
        == X.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_ENTRY_ARCHIVED
    )

    # the simulation now says what to restore
    sim = rpc.simulate_transaction(_transfer(localnet, world, dest, 10))
    assert sim.error is None
    assert sim.restore_preamble is not None
    data = X.SorobanTransactionData.from_xdr(sim.restore_preamble.transaction_data)
    restored_keys = {k.to_xdr() for k in data.resources.footprint.read_write}
    assert len(restored_keys) >= 2
    restore = (
        TransactionBuilder(
            rpc.load_account(world["dist"].public_key),
            localnet.passphrase,
            base_fee=100 + sim.restore_preamble.min_resource_fee,
        )
        .set_timeout(60)
        .append_restore_footprint_op()
        .set_soroban_data(data)
        .build()
    )
    restore.sign(world["dist"])
    assert _send(rpc, restore).status == GetTransactionStatus.SUCCESS

    again = rpc.prepare_transaction(_transfer(localnet, world, dest, 10))
    assert (
        rpc.simulate_transaction(_transfer(localnet, world, dest, 10)).restore_preamble
        is None
    )
    again.sign(world["dist"])
    assert _send(rpc, again).status == GetTransactionStatus.SUCCESS
    balance = rpc.get_sac_balance(dest, world["usdc"], localnet.passphrase)
    assert balance.balance_entry.amount == 20


def test_resource_fee_below_the_schedule_is_refused(localnet, world):
    rpc: SorobanServer = world["rpc"]
    tx = rpc.prepare_transaction(_transfer(localnet, world, _contract_address(), 1))
    data = tx.transaction.soroban_data
    tx.transaction.fee -= data.resource_fee.int64 - 1
    data.resource_fee = X.Int64(1)
    tx.sign(world["dist"])
    sent = rpc.send_transaction(tx)
    assert sent.status == SendTransactionStatus.ERROR
    result = X.TransactionResult.from_xdr(sent.error_result_xdr)
    assert result.result.code == X.TransactionResultCode.txSOROBAN_INVALID


def test_missing_authorization_traps(localnet, world):
    rpc: SorobanServer = world["rpc"]
    tx = rpc.prepare_transaction(_transfer(localnet, world, _contract_address(), 1))
    tx.transaction.operations[0].auth = []
    tx.sign(world["dist"])
    got = _send(rpc, tx)
    assert got.status == GetTransactionStatus.FAILED
    assert (
        _op_result(got).invoke_host_function_result.code
        == X.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_TRAPPED
    )


def test_duplicate_and_not_found(localnet, world):
    rpc: SorobanServer = world["rpc"]
    assert rpc.get_transaction("00" * 32).status == GetTransactionStatus.NOT_FOUND
    tx = rpc.prepare_transaction(_transfer(localnet, world, _contract_address(), 1))
    tx.sign(world["dist"])
    first = rpc.send_transaction(tx)
    second = rpc.send_transaction(tx)
    assert first.status == SendTransactionStatus.PENDING
    assert second.status in (
        SendTransactionStatus.DUPLICATE,
        SendTransactionStatus.ERROR,  # already applied: bad sequence
    )


def test_contract_balances_survive_a_restart_and_lumens_add_up(
    localnet_factory, tmp_path
):
    """The state file keeps contract data and TTLs; XLM held by contracts
    counts in the total (accounts + contracts + fee pool = all lumens)."""
    state = tmp_path / "state.json"
    net = localnet_factory(ledger_close=0.2, state=str(state))
    rpc = net.soroban_server()
    payer = Keypair.random()
    net.friendbot(payer.public_key)
    deploy = rpc.prepare_transaction(
        TransactionBuilder(rpc.load_account(payer.public_key), net.passphrase)
        .set_timeout(60)
        .append_create_stellar_asset_contract_from_asset_op(Asset.native())
        .build()
    )
    deploy.sign(payer)
    assert _send(rpc, deploy).status == GetTransactionStatus.SUCCESS
    dest = _contract_address()
    world = {
        "dist": payer,
        "sac": Asset.native().contract_id(net.passphrase),
        "rpc": rpc,
    }
    tx = rpc.prepare_transaction(_transfer(net, world, dest, 30_000_000))
    tx.sign(payer)
    assert _send(rpc, tx).status == GetTransactionStatus.SUCCESS
    stats = net.stats()
    assert stats["total_native"] + stats["fee_pool"] == stats["total_coins"]
    net.stop()

    again = localnet_factory(ledger_close=0.2, state=str(state))
    balance = again.soroban_server().get_sac_balance(
        dest, Asset.native(), again.passphrase
    )
    assert balance.balance_entry.amount == 30_000_000
    assert balance.balance_entry.live_until_ledger > 1
    stats = again.stats()
    assert stats["total_native"] + stats["fee_pool"] == stats["total_coins"]


def test_get_ledger_entries_answers_account_and_trustline_keys(localnet, world):
    """As real Stellar RPC: each present entry as base64 XDR LedgerEntryData with
    its own key, absent keys omitted, the latest ledger; at most 200 keys."""
    rpc: SorobanServer = world["rpc"]
    dist, usdc = world["dist"], world["usdc"]
    root = localnet.root_keypair()
    line = usdc.to_trust_line_asset_xdr_object()

    def account_key(address: str) -> X.LedgerKey:
        return X.LedgerKey(
            X.LedgerEntryType.ACCOUNT,
            account=X.LedgerKeyAccount(
                Keypair.from_public_key(address).xdr_account_id()
            ),
        )

    def trustline_key(address: str) -> X.LedgerKey:
        return X.LedgerKey(
            X.LedgerEntryType.TRUSTLINE,
            trust_line=X.LedgerKeyTrustLine(
                Keypair.from_public_key(address).xdr_account_id(), line
            ),
        )

    present_account = account_key(dist.public_key)
    present_line = trustline_key(dist.public_key)
    keys = [
        present_account,
        account_key(Keypair.random().public_key),  # never created
        present_line,
        trustline_key(root.public_key),  # the root does not trust USDC
    ]
    answer = rpc.get_ledger_entries(keys)
    assert answer.latest_ledger >= 1
    by_key = {entry.key: entry for entry in answer.entries}
    assert set(by_key) == {present_account.to_xdr(), present_line.to_xdr()}
    account = X.LedgerEntryData.from_xdr(by_key[present_account.to_xdr()].xdr)
    assert account.type == X.LedgerEntryType.ACCOUNT
    assert account.account.account_id == dist.xdr_account_id()
    assert account.account.balance.int64 > 0
    trustline = X.LedgerEntryData.from_xdr(by_key[present_line.to_xdr()].xdr)
    assert trustline.type == X.LedgerEntryType.TRUSTLINE
    assert trustline.trust_line.asset == line
    horizon = Server(localnet.url).accounts().account_id(dist.public_key).call()
    (usdc_balance,) = [b for b in horizon["balances"] if b.get("asset_code") == "USDC"]
    assert trustline.trust_line.balance.int64 == round(
        Decimal(usdc_balance["balance"]) * 10**7
    )
    assert account.account.balance.int64 == round(
        Decimal(horizon["balances"][-1]["balance"]) * 10**7
    )
    assert trustline.trust_line.limit.int64 == 2**63 - 1
    assert trustline.trust_line.flags.uint32 & TrustLineFlags.AUTHORIZED_FLAG.value
    for entry in answer.entries:
        assert 1 <= entry.last_modified_ledger <= answer.latest_ledger
    with pytest.raises(SorobanRpcErrorResponse) as refused:
        rpc.get_ledger_entries([present_account] * 201)
    assert "201" in str(refused.value)
