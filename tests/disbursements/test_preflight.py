"""Pre-flight and duplicate warnings against the localnet: each receiver's account
and trustline as the network shows them, the distribution balance, the fee
statistics, and our own records."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from stellar_sdk import Asset as StellarAsset
from stellar_sdk import ChangeTrust, CreateAccount, Keypair, Payment

from auth_org.controls import update_controls
from auth_org.models import Asset, Role, Wallet
from disbursements import ledger_reads, preflight
from disbursements.models import Disbursement, DisbursementStatusChange
from disbursements.models import Payment as PaymentRow
from tests.api2_fixtures import client_for
from tests.factories import (
    DisbursementFactory,
    OrganizationFactory,
    PaymentFactory,
    ReceiverWalletFactory,
    UserFactory,
)
from tests.tss.conftest import network, tss_network  # noqa: F401 - fixtures
from tss import accounts, horizon, keys

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rpc_on_the_localnet(network, settings):  # noqa: F811 - the fixture imported above
    """Destinations are read through the localnet's RPC (getLedgerEntries)."""
    settings.RPC_URL = network.rpc_url


@pytest.fixture
def tenant(network):  # noqa: F811 - the fixture imported above
    """An organization with a funded distribution account holding 1000 USDC."""
    cache.clear()
    organization = OrganizationFactory()
    accounts.create_distribution_account(organization.id)
    issuer = Keypair.random()
    network.friendbot(issuer.public_key)
    usdc = Asset.objects.create(
        organization=organization, code="USDC", issuer=issuer.public_key
    )
    accounts.ensure_trustline(organization.id, "USDC", issuer.public_key)
    accounts.run_transaction(
        issuer,
        [
            Payment(
                destination=accounts.distribution_account_for(organization.id),
                asset=StellarAsset("USDC", issuer.public_key),
                amount="1000",
            )
        ],
    )
    wallet = Wallet.objects.create(
        organization=organization,
        name="Preflight wallet",
        homepage="https://wallet.example.org",
        deep_link_schema="wallet://sdp",
    )
    wallet.assets.add(usdc)
    return organization, usdc, wallet, issuer


def new_accounts(count: int) -> list[Keypair]:
    pairs = [Keypair.random() for _ in range(count)]
    accounts.run_transaction(
        keys.host_keypair(),
        [CreateAccount(destination=k.public_key, starting_balance="3") for k in pairs],
    )
    return pairs


def trust(pair: Keypair, issuer: Keypair) -> None:
    accounts.run_transaction(
        pair, [ChangeTrust(asset=StellarAsset("USDC", issuer.public_key))]
    )


def test_preflight_sorts_each_payment_by_what_the_network_shows(tenant):
    organization, usdc, wallet, issuer = tenant
    trusting, untrusting = new_accounts(2)
    trust(trusting, issuer)
    missing = Keypair.random()  # never created
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )

    def payment(external_id, amount, *, address=None, status="DRAFT"):
        receiver_wallet = ReceiverWalletFactory(
            receiver__organization=organization,
            receiver__external_id=external_id,
            wallet=wallet,
            status=status,
            stellar_address=address,
        )
        return PaymentFactory(
            disbursement=disbursement,
            receiver_wallet=receiver_wallet,
            amount=Decimal(amount),
        )

    ready = payment("ready", "10", address=trusting.public_key, status="REGISTERED")
    no_line = payment(
        "no-line", "20", address=untrusting.public_key, status="REGISTERED"
    )
    no_account = payment(
        "no-acct", "30", address=missing.public_key, status="REGISTERED"
    )
    payment("invite", "40")

    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    response = client_for(owner).get(f"/disbursements/{disbursement.pk}/preflight")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["payments"] == {
        "total": 4,
        "ready": {"count": 1, "amount": "10.0000000"},
        "waiting": {"count": 1, "amount": "40.0000000"},
        "failing": {"count": 2, "amount": "50.0000000"},
    }
    failures = {f["payment_id"]: f["reason"] for f in body["failures"]}
    assert failures == {
        str(no_line.pk): "no_trustline",
        str(no_account.pk): "no_account",
    }
    assert str(ready.pk) not in failures
    assert body["reasons"]["waiting"][0]["reason"] == "invitation_needed"
    assert body["balance"] == {
        "asset": "USDC",
        "needed": "100.0000000",
        "balance": "1000.0000000",
        "in_flight": "0.0000000",
        "available": "1000.0000000",
        "sufficient": True,
        "missing": "0.0000000",
    }
    fees = horizon.get("/fee_stats")
    forecast = body["forecast"]
    assert forecast["network_fees"]["fee_per_operation_stroops"] == int(
        fees["fee_charged"]["p50"]
    )
    assert forecast["network_fees"]["operations"] == 2  # ready + waiting
    assert forecast["ledgers_to_pay"] == 1
    assert forecast["messages"]["count"] == 1
    assert forecast["messages"]["by_channel"]["SMS"]["count"] == 1
    assert Decimal(forecast["messages"]["estimated_cost"]) > 0
    assert body["cached"] is False

    # Cached while nothing changes; a changed payment is a new answer.
    assert (
        client_for(owner)
        .get(f"/disbursements/{disbursement.pk}/preflight")
        .json()["cached"]
    )
    PaymentRow.objects.filter(pk=ready.pk).update(amount=Decimal("11"))
    again = client_for(owner).get(f"/disbursements/{disbursement.pk}/preflight")
    assert again.json()["cached"] is False
    assert again.json()["payments"]["ready"]["amount"] == "11.0000000"


def test_preflight_reads_a_muxed_address_on_its_base_account(tenant):
    """An M... address is paid to its G account: the preflight reads that
    account's trustline on the network."""
    from stellar_sdk import MuxedAccount

    organization, usdc, wallet, issuer = tenant
    trusting, untrusting = new_accounts(2)
    trust(trusting, issuer)
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    paid = {}
    for name, pair in (("trusting", trusting), ("untrusting", untrusting)):
        receiver_wallet = ReceiverWalletFactory(
            receiver__organization=organization,
            wallet=wallet,
            status="REGISTERED",
            stellar_address=MuxedAccount(pair.public_key, 12).account_muxed,
        )
        paid[name] = PaymentFactory(
            disbursement=disbursement,
            receiver_wallet=receiver_wallet,
            amount=Decimal("5"),
        )
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    response = client_for(owner).get(f"/disbursements/{disbursement.pk}/preflight")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["payments"]["ready"]["count"] == 1
    failures = {f["payment_id"]: f["reason"] for f in body["failures"]}
    assert failures == {str(paid["untrusting"].pk): "no_trustline"}


def test_preflight_counts_a_contract_address_as_ready(tenant):
    """A C... address is paid through the asset's contract (no account or
    trustline to read): ready, beside a G... account without the trustline."""
    import os

    from stellar_sdk import StrKey

    organization, usdc, wallet, _ = tenant
    (untrusting,) = new_accounts(1)
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    paid = {}
    for name, address in (
        ("contract", StrKey.encode_contract(os.urandom(32))),
        ("untrusting", untrusting.public_key),
    ):
        receiver_wallet = ReceiverWalletFactory(
            receiver__organization=organization,
            wallet=wallet,
            status="REGISTERED",
            stellar_address=address,
        )
        paid[name] = PaymentFactory(
            disbursement=disbursement,
            receiver_wallet=receiver_wallet,
            amount=Decimal("5"),
        )
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    response = client_for(owner).get(f"/disbursements/{disbursement.pk}/preflight")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["payments"]["ready"]["count"] == 1
    failures = {f["payment_id"]: f["reason"] for f in body["failures"]}
    assert failures == {str(paid["untrusting"].pk): "no_trustline"}


def test_preflight_shows_limits_duplicates_and_trustline_limits(tenant):
    organization, usdc, wallet, issuer = tenant
    (pair,) = new_accounts(1)
    accounts.run_transaction(
        pair, [ChangeTrust(asset=StellarAsset("USDC", issuer.public_key), limit="5")]
    )
    update_controls(organization, usdc, {"per_disbursement_max": "6"}, actor=None)
    receiver_wallet = ReceiverWalletFactory(
        receiver__organization=organization,
        receiver__external_id="capped",
        wallet=wallet,
        status="REGISTERED",
        stellar_address=pair.public_key,
    )
    earlier = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="COMPLETED"
    )
    paid = PaymentFactory(
        disbursement=earlier,
        receiver_wallet=receiver_wallet,
        amount=Decimal("7"),
        status="SUCCESS",
    )
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    PaymentFactory(
        disbursement=disbursement, receiver_wallet=receiver_wallet, amount=Decimal("7")
    )
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    body = client_for(owner).get(f"/disbursements/{disbursement.pk}/preflight").json()
    assert body["failures"][0]["reason"] == "over_trustline_limit"
    assert body["limits"][0]["limit"] == "per_disbursement_max"
    assert body["limits"][0]["over_by"] == "1.0000000"
    (duplicate,) = body["duplicates"]
    assert duplicate["kind"] == "recent_payment"
    assert duplicate["earlier_payment"]["id"] == str(paid.pk)
    assert duplicate["earlier_payment"]["disbursement_name"] == earlier.name


def test_preflight_route_tenants_and_statuses(tenant):
    organization, usdc, wallet, _ = tenant
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    other = DisbursementFactory(status="READY")
    client = client_for(owner)
    assert client.get(f"/disbursements/{other.pk}/preflight").status_code == 404
    started = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )
    answer = client.get(f"/disbursements/{started.pk}/preflight")
    assert answer.status_code == 400
    assert "DRAFT or READY" in answer.json()["error"]
    developer = UserFactory(organization=organization, roles=[Role.DEVELOPER])
    draft = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="DRAFT"
    )
    assert (
        client_for(developer).get(f"/disbursements/{draft.pk}/preflight").status_code
        == 403
    )
    assert Disbursement.objects.get(pk=draft.pk).status == "DRAFT"
    assert not DisbursementStatusChange.objects.filter(disbursement=draft).exists()


def test_admin_preflight_action_and_the_reason_on_the_payment_page(
    tenant, client, operator
):
    from django.urls import reverse

    organization, usdc, wallet, _ = tenant
    (untrusting,) = new_accounts(1)
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    payment = PaymentFactory(
        disbursement=disbursement,
        amount=Decimal("4"),
        receiver_wallet=ReceiverWalletFactory(
            receiver__organization=organization,
            wallet=wallet,
            status="REGISTERED",
            stellar_address=untrusting.public_key,
        ),
    )
    client.force_login(operator)
    response = client.post(
        reverse("admin:disbursements_disbursement_changelist"),
        {"action": "preflight", "_selected_action": [str(disbursement.pk)]},
        follow=True,
    )
    page = response.content.decode()
    assert (
        "0 ready, 0 waiting, 1 failing (1 the receiver&#x27;s account does not "
        "trust the asset)" in page
    )
    assert "balance sufficient" in page
    PaymentRow.objects.filter(pk=payment.pk).update(failure_reason="no_trustline")
    page = client.get(
        reverse("admin:disbursements_payment_change", args=[payment.pk])
    ).content.decode()
    assert "Waiting on the receiver" in page
    assert "does not trust the asset" in page


def _mixed_disbursement(organization, wallet, asset, pairs, missing):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=asset, status="READY"
    )
    for i, (address, amount, status) in enumerate(
        [(p.public_key, "3", "REGISTERED") for p in pairs]
        + [(missing.public_key, "2", "REGISTERED"), (None, "1", "DRAFT")]
    ):
        PaymentFactory(
            disbursement=disbursement,
            amount=Decimal(amount),
            receiver_wallet=ReceiverWalletFactory(
                receiver__organization=organization,
                receiver__external_id=f"{asset.code}-{i}",
                wallet=wallet,
                status=status,
                stellar_address=address,
            ),
        )
    return disbursement


def _answer(disbursement) -> dict:
    cache.clear()
    answer = preflight.preflight(disbursement)
    assert answer["cached"] is False
    return {k: v for k, v in answer.items() if k != "checked_at"}


@pytest.fixture
def rpc_reads(monkeypatch):
    """Counts the pre-flight's reads through RPC (the real read runs)."""
    calls = []
    real = ledger_reads.read_destinations

    def counted(addresses, asset):
        calls.append(len(addresses))
        return real(addresses, asset)

    monkeypatch.setattr(ledger_reads, "read_destinations", counted)
    return calls


def test_preflight_answers_the_same_through_rpc_and_horizon(
    tenant, settings, rpc_reads
):
    """One USDC and one XLM disbursement (ready, no trustline, a trustline at its
    limit, no account, waiting), each through RPC getLedgerEntries and through
    Horizon /accounts: the same answer."""
    organization, usdc, wallet, issuer = tenant
    ready, untrusting, capped = new_accounts(3)
    trust(ready, issuer)
    accounts.run_transaction(
        capped, [ChangeTrust(asset=StellarAsset("USDC", issuer.public_key), limit="2")]
    )
    missing = Keypair.random()
    xlm = Asset.objects.create(organization=organization, code="XLM", issuer="")
    wallet.assets.add(xlm)
    pairs = [ready, untrusting, capped]
    by_usdc = _mixed_disbursement(organization, wallet, usdc, pairs, missing)
    by_xlm = _mixed_disbursement(organization, wallet, xlm, pairs, missing)

    rpc = {"USDC": _answer(by_usdc), "XLM": _answer(by_xlm)}
    # USDC: the trustline keys, then the accounts of the two without one.
    assert rpc_reads == [4, 4]
    settings.RPC_URL = ""
    horizon_path = {"USDC": _answer(by_usdc), "XLM": _answer(by_xlm)}
    assert rpc_reads == [4, 4]
    assert rpc == horizon_path
    failing = {r["reason"]: r["count"] for r in rpc["USDC"]["reasons"]["failing"]}
    assert failing == {"no_trustline": 1, "over_trustline_limit": 1, "no_account": 1}
    assert rpc["USDC"]["payments"]["ready"]["count"] == 1
    assert rpc["XLM"]["payments"]["ready"]["count"] == 3
    assert [r["reason"] for r in rpc["XLM"]["reasons"]["failing"]] == ["no_account"]


def test_preflight_falls_back_to_horizon_when_rpc_fails(tenant, settings, rpc_reads):
    organization, usdc, wallet, issuer = tenant
    ready, untrusting = new_accounts(2)
    trust(ready, issuer)
    disbursement = _mixed_disbursement(
        organization, wallet, usdc, [ready, untrusting], Keypair.random()
    )
    expected = _answer(disbursement)
    settings.RPC_URL = "http://127.0.0.1:9/rpc"  # nothing listens there
    assert _answer(disbursement) == expected
    assert len(rpc_reads) == 2  # asked, failed, Horizon answered
    failing = {r["reason"] for r in expected["reasons"]["failing"]}
    assert failing == {"no_trustline", "no_account"}
