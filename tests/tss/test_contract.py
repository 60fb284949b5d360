"""The engine paying contract accounts (C…) through Stellar RPC on the localnet,
mixed with classic payments: each paid exactly once, checked on the ledger
through the network's own APIs (RPC for contracts, Horizon for accounts)."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from stellar_sdk import Asset, StrKey, scval
from stellar_sdk import xdr as X
from stellar_sdk.soroban_rpc import GetTransactionStatus

from tests.tss.conftest import create_receivers, payments_on_ledger, run_engine
from tss import accounts, contract, engine, horizon, services
from tss.models import SubmitterTransaction
from tss.results import parse_result_xdr

pytestmark = pytest.mark.django_db


@pytest.fixture
def rpc_network(network, settings):
    settings.RPC_URL = network.rpc_url
    return network


def _contracts(count: int) -> list[str]:
    return [StrKey.encode_contract(os.urandom(32)) for _ in range(count)]


def _queue(tenant_id, destinations, amount="0.5"):
    with transaction.atomic():
        services.queue_payments(
            [
                services.PaymentOrder(
                    tenant_id=tenant_id,
                    external_id=str(uuid.uuid4()),
                    destination=destination,
                    asset_code="XLM",
                    asset_issuer="",
                    amount=Decimal(amount),
                )
                for destination in destinations
            ]
        )


def _transfer_events(net, to: str) -> list:
    rpc = net.soroban_server()
    sac = Asset.native().contract_id(net.passphrase)
    return rpc.get_events(
        start_ledger=1,
        filters=[
            {
                "type": "contract",
                "contractIds": [sac],
                "topics": [["*", "*", scval.to_address(to).to_xdr(), "*"]],
            }
        ],
        limit=100,
    ).events


def _assert_contracts_paid_once(net, tenant_id, destinations, amount_stroops):
    rpc = net.soroban_server()
    source = accounts.distribution_account_for(tenant_id)
    for destination in destinations:
        balance = rpc.get_sac_balance(destination, Asset.native(), net.passphrase)
        assert balance.balance_entry is not None, destination
        assert balance.balance_entry.amount == amount_stroops, destination
        events = _transfer_events(net, destination)
        assert len(events) == 1, (destination, events)
        topic = [X.SCVal.from_xdr(t) for t in events[0].topic]
        assert scval.from_address(topic[1]).address == source
    rows = SubmitterTransaction.objects.filter(destination__in=destinations)
    assert set(rows.values_list("status", flat=True)) == {"SUCCESS"}
    for row in rows:
        got = rpc.get_transaction(row.stellar_transaction_hash)
        assert got.status == GetTransactionStatus.SUCCESS
        assert got.fee_bump is True


def _assert_accounts_paid_once(net, tenant_id, destinations):
    source = accounts.distribution_account_for(tenant_id)
    for destination in destinations:
        assert len(payments_on_ledger(net, destination, source)) == 1


def test_mixed_classic_and_contract_payments_land_once_each(
    rpc_network, channel_accounts, tenant_id
):
    channel_accounts(3)
    classic = create_receivers(3)
    contracts = _contracts(3)
    _queue(tenant_id, classic + contracts)
    run_engine(timeout=90)
    _assert_accounts_paid_once(rpc_network, tenant_id, classic)
    _assert_contracts_paid_once(rpc_network, tenant_id, contracts, 5_000_000)
    row = SubmitterTransaction.objects.get(destination=contracts[0])
    # the envelope stored is the one on the ledger, bound by a ledger
    record = horizon.transaction(row.stellar_transaction_hash)
    assert record["successful"]
    assert row.envelope_max_ledger is not None
    assert record["fee_account"] == accounts.distribution_account_for(tenant_id)


@pytest.mark.parametrize(
    "faults",
    [
        {"timeout_after_accept": 1.0},
        {"timeout_drop": 0.5},
        {"rate_limit": 0.5, "unavailable": 0.3},
        {"timeout_after_accept": 0.5, "ingestion_lag": 3},
    ],
    ids=["504-after-accept", "dropped", "429-503-storm", "504-and-lagging-ingestion"],
)
def test_rpc_faults_never_pay_a_contract_twice(
    rpc_network, channel_accounts, tenant_id, faults
):
    channel_accounts(3)
    classic = create_receivers(2)
    contracts = _contracts(4)
    _queue(tenant_id, classic + contracts)
    with rpc_network.injected_faults(seed=11, **faults):
        run_engine(timeout=120)
    _assert_accounts_paid_once(rpc_network, tenant_id, classic)
    _assert_contracts_paid_once(rpc_network, tenant_id, contracts, 5_000_000)


def test_balance_too_low_fails_with_a_plain_reason(
    rpc_network, channel_accounts, tenant_id
):
    channel_accounts(1)
    (dest,) = _contracts(1)
    _queue(tenant_id, [dest], amount="100000")
    run_engine(timeout=60)
    row = SubmitterTransaction.objects.get(destination=dest)
    assert row.status == "ERROR"
    assert "balance is too low" in row.status_message
    assert "contract error #10" in row.status_message
    assert _transfer_events(rpc_network, dest) == []


def test_archived_balance_is_restored_before_paying_again(
    rpc_network, channel_accounts, tenant_id
):
    channel_accounts(2)
    (dest,) = _contracts(1)
    _queue(tenant_id, [dest])
    run_engine(timeout=60)
    sac = Asset.native().contract_id(rpc_network.passphrase)
    assert rpc_network.archive(sac) >= 2
    _queue(tenant_id, [dest], amount="0.25")
    run_engine(timeout=90)
    rows = SubmitterTransaction.objects.filter(destination=dest)
    assert set(rows.values_list("status", flat=True)) == {"SUCCESS"}
    balance = rpc_network.soroban_server().get_sac_balance(
        dest, Asset.native(), rpc_network.passphrase
    )
    assert balance.balance_entry.amount == 7_500_000
    assert len(_transfer_events(rpc_network, dest)) == 2


def test_an_entry_archived_after_simulation_is_restored_and_paid_once(
    rpc_network, channel_accounts, tenant_id, monkeypatch
):
    """The receiver's balance entry is archived between the transfer's
    simulation and its send: the envelope fails on the ledger
    (op_entry_archived), which makes it final there; the payment is built
    again, the entry restored first, and paid exactly once."""
    channel_accounts(2)
    (dest,) = _contracts(1)
    _queue(tenant_id, [dest])
    run_engine(timeout=60)
    sac = Asset.native().contract_id(rpc_network.passphrase)
    simulate = contract._simulate
    archived: list[int] = []

    def simulate_then_archive(tx):
        sim = simulate(tx)
        if not archived and not sim.error and sim.restore_preamble is None:
            archived.append(rpc_network.archive(sac))  # after simulation, before send
        return sim

    build = contract.build
    built: list[str] = []

    def build_and_note(*args):
        envelope = build(*args)
        built.append(envelope[0])
        return envelope

    monkeypatch.setattr(contract, "_simulate", simulate_then_archive)
    monkeypatch.setattr(contract, "build", build_and_note)
    _queue(tenant_id, [dest], amount="0.25")
    run_engine(timeout=120)
    assert archived
    assert archived[0] >= 1
    row = SubmitterTransaction.objects.get(destination=dest, amount=Decimal("0.25"))
    assert row.status == "SUCCESS", row.status_message
    assert row.attempts_count == 2  # the archived envelope, then the paying one
    # Two envelopes on the ledger: the first failed (op_entry_archived), the
    # second, built after the restore, paid.
    assert len(built) == 2
    assert built[1] == row.stellar_transaction_hash
    rpc = rpc_network.soroban_server()
    first, second = (rpc.get_transaction(tx_hash) for tx_hash in built)
    assert first.status == GetTransactionStatus.FAILED
    assert "op_entry_archived" in str(
        parse_result_xdr(first.result_xdr).failing_codes()
    )
    assert second.status == GetTransactionStatus.SUCCESS
    balance = rpc_network.soroban_server().get_sac_balance(
        dest, Asset.native(), rpc_network.passphrase
    )
    assert balance.balance_entry.amount == 7_500_000
    assert len(_transfer_events(rpc_network, dest)) == 2


def test_an_entry_archived_after_every_simulation_fails_after_three_retries(
    rpc_network, channel_accounts, tenant_id, monkeypatch
):
    """Archived again before each send: the payment is built four times
    (three retries, as SDP), every envelope fails on the ledger, and the
    payment ends ERROR with a plain reason; nothing is paid."""
    channel_accounts(2)
    (dest,) = _contracts(1)
    _queue(tenant_id, [dest])
    run_engine(timeout=60)
    sac = Asset.native().contract_id(rpc_network.passphrase)
    send = contract._send_rpc

    def archive_then_send(envelope_xdr):
        # One ledger first, so a restore sent in an earlier round has landed
        # (a restore applied after the archive would let the transfer through).
        rpc_network.wait_for_ledger(rpc_network.latest_ledger() + 1)
        rpc_network.archive(sac)
        return send(envelope_xdr)

    build = contract.build
    built: list[str] = []

    def build_and_note(*args):
        envelope = build(*args)
        built.append(envelope[0])
        return envelope

    monkeypatch.setattr(contract, "_send_rpc", archive_then_send)
    monkeypatch.setattr(contract, "build", build_and_note)
    _queue(tenant_id, [dest], amount="0.25")
    run_engine(timeout=180)
    row = SubmitterTransaction.objects.get(destination=dest, amount=Decimal("0.25"))
    assert row.status == "ERROR"
    assert row.status_message.startswith(
        "a ledger entry the transfer needs was archived"
    )
    assert row.attempts_count == 1 + engine.ARCHIVED_RETRIES
    assert len(built) == 1 + engine.ARCHIVED_RETRIES
    rpc = rpc_network.soroban_server()
    for tx_hash in built:
        assert rpc.get_transaction(tx_hash).status == GetTransactionStatus.FAILED
    assert len(_transfer_events(rpc_network, dest)) == 1  # the first payment only


def test_sac_reasons_are_plain():
    assert contract.sac_reason("HostError: Error(Contract, #13)\n...") == (
        "the distribution account has no trustline for the asset (contract error #13)"
    )
    assert contract.is_contract(_contracts(1)[0])
    assert not contract.is_contract(create_receivers.__name__)


@pytest.mark.django_db(transaction=True)
def test_disbursement_mixing_g_and_c_is_paid_once_by_the_worker(
    network, tss_worker, channel_accounts
):
    """A started disbursement whose receivers hold Stellar accounts (G...) and
    contract accounts (C...), paid by the real worker
    (which reaches RPC at the localnet's /rpc by default): each exactly once,
    checked through Horizon for accounts and through RPC for contracts."""
    import time

    from disbursements.handoff import hand_off_payments
    from disbursements.models import Disbursement, Payment
    from receivers.models import ReceiverWallet
    from tests.factories import (
        AssetFactory,
        DisbursementFactory,
        OrganizationFactory,
        PaymentFactory,
    )

    channel_accounts(3)
    organization = OrganizationFactory()
    disbursement = DisbursementFactory(
        organization=organization,
        status=Disbursement.Status.STARTED,
        asset=AssetFactory(organization=organization, code="XLM", issuer=""),
    )
    accounts.create_distribution_account(organization.pk)
    g1, g2 = create_receivers(2)
    contracts = _contracts(2)
    for destination in [g1, g2, *contracts]:
        PaymentFactory(
            disbursement=disbursement,
            asset=disbursement.asset,
            status=Payment.Status.READY,
            amount=Decimal("1.25"),
            receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
            receiver_wallet__stellar_address=destination,
        )
    assert hand_off_payments(Payment.objects.filter(disbursement=disbursement)) == 4
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        disbursement.refresh_from_db()
        if disbursement.status == Disbursement.Status.COMPLETED:
            break
        time.sleep(0.3)
    assert disbursement.status == Disbursement.Status.COMPLETED
    assert set(
        Payment.objects.filter(disbursement=disbursement).values_list(
            "status", flat=True
        )
    ) == {Payment.Status.SUCCESS}
    _assert_accounts_paid_once(network, organization.pk, [g1, g2])
    _assert_contracts_paid_once(network, organization.pk, contracts, 12_500_000)


def test_admin_shows_the_rpc_transaction_and_its_events(
    rpc_network, channel_accounts, tenant_id, client, operator
):
    channel_accounts(1)
    (dest,) = _contracts(1)
    _queue(tenant_id, [dest])
    run_engine(timeout=60)
    row = SubmitterTransaction.objects.get(destination=dest)
    seen = contract.describe_transaction(row.stellar_transaction_hash)
    assert seen["status"] == "SUCCESS"
    assert seen["fee_bump"] is True
    (event,) = seen["events"]
    source = accounts.distribution_account_for(tenant_id)
    assert event["topics"] == ["transfer", source, dest, "native"]
    assert event["value"] == 5_000_000
    client.force_login(operator)
    page = client.get(f"/admin/tss/submittertransaction/{row.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "RPC transaction and events" in text
    assert "SUCCESS in ledger" in text
    assert dest in text


def test_contract_envelopes_per_ledger_stay_within_the_soroban_lane(
    rpc_network, channel_accounts, tenant_id, settings
):
    """With room for one contract payment a ledger, three land in three ledgers
    (never queued beyond what the lane admits), each once; classic payments
    queued behind them are leased past them (the lease skips contract rows
    while the lane is full) and paid once too."""
    settings.TSS_SOROBAN_TXS_PER_LEDGER = 1
    channel_accounts(4)
    contracts = _contracts(3)
    classic = create_receivers(3)
    _queue(tenant_id, contracts)
    _queue(tenant_id, classic)
    run_engine(timeout=90)
    _assert_contracts_paid_once(rpc_network, tenant_id, contracts, 5_000_000)
    _assert_accounts_paid_once(rpc_network, tenant_id, classic)
    rpc = rpc_network.soroban_server()
    bounds = {
        row.envelope_max_ledger
        for row in SubmitterTransaction.objects.filter(destination__in=contracts)
    }
    assert len(bounds) == 3  # built in three different ledgers
    ledgers = {
        rpc.get_transaction(row.stellar_transaction_hash).ledger
        for row in SubmitterTransaction.objects.filter(destination__in=contracts)
    }
    assert len(ledgers) == 3


def test_lane_open_filters_contract_rows_once_the_ledger_is_full(settings):
    from django.db.models import Q

    settings.TSS_SOROBAN_TXS_PER_LEDGER = 2
    bound = 10**12 + int.from_bytes(os.urandom(3), "big")
    assert contract.lane_open(bound) == Q()
    contract._take_lane(bound)
    contract._take_lane(bound)
    assert contract.lane_open(bound) == ~Q(destination__startswith="C")
    with pytest.raises(contract.Retry):
        contract._take_lane(bound)
    assert contract.lane_open(bound + 1) == Q()  # the next ledger has room
