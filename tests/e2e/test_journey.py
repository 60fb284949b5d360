"""The whole journey through HTTP only, as a user and a recipient do it: the
owner logs in with MFA, uploads a phone-number CSV and starts the disbursement;
the recipient's wallet registers (SEP-10, SEP-24, the pages); a real worker pays
on the localnet; the ledger, /statistics, /payments and the payments export all
show it. A second journey, EMAIL_AND_WALLET_ADDRESS, needs no registration.

Server-side state is read only where a person would read it elsewhere: the MFA
and the registration codes from the dry-run outbox."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import pytest
from stellar_sdk import Keypair

from receivers import demo_wallet
from tests.e2e.conftest import OWNER_EMAIL, OWNER_PASSWORD
from tests.e2e.dashboard import Dashboard, mfa_code_from_outbox
from tests.receivers.conftest import DATE_OF_BIRTH
from tests.tss.conftest import payments_on_ledger

pytestmark = pytest.mark.django_db(transaction=True)

TIME_LIMIT = 90  # seconds, each journey
PHONE = "+14155550177"
EMAIL = "recipient@journey.example.org"


def _logged_in(live_server, tenant, closing) -> Dashboard:
    dashboard = Dashboard(live_server.url, tenant.name)
    closing(dashboard.http)
    organization_id = tenant.organization.id
    dashboard.log_in(
        OWNER_EMAIL,
        OWNER_PASSWORD,
        lambda email, since: mfa_code_from_outbox(organization_id, email, since),
    )
    assert dashboard.get("/profile")["email"] == OWNER_EMAIL
    return dashboard


def _wallet_and_asset(dashboard: Dashboard, wallet_name: str) -> tuple[dict, dict]:
    """The new-disbursement form's inputs: GET /wallets, GET /assets?wallet=."""
    wallet = next(w for w in dashboard.get("/wallets") if w["name"] == wallet_name)
    assets = dashboard.get(f"/assets?wallet={wallet['id']}")
    return wallet, next(a for a in assets if a["code"] == "USDC")


def _payment_when_done(dashboard: Dashboard, deadline: float) -> dict:
    """GET /payments/ (the dashboard's trailing slash) until the one payment is
    final: the ledger shows it a moment before the worker records it."""
    while True:
        body = dashboard.get("/payments/?page=1&page_limit=20")
        assert body["pagination"]["total"] == 1
        payment = body["data"][0]
        if payment["status"] in ("SUCCESS", "FAILED") or time.monotonic() > deadline:
            return payment
        time.sleep(0.3)


def _check_statistics(dashboard: Dashboard, amount: Decimal) -> None:
    statistics = dashboard.get("/statistics")
    assert statistics["payment_counters"]["success"] == 1
    assert statistics["payment_counters"]["total"] == 1
    assert statistics["total_disbursements"] == 1
    assert statistics["total_receivers"] == 1
    [usdc] = [
        figures
        for figures in statistics["payment_amounts_by_asset"]
        if figures["asset_code"] == "USDC"
    ]
    assert Decimal(str(usdc["payment_amounts"]["success"])) == amount


def _export_row(dashboard: Dashboard) -> dict:
    response = dashboard.call("GET", "/exports/payments?status=SUCCESS")
    assert response.headers["Content-Type"].startswith("text/csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=payments_")
    assert '"' not in disposition  # the dashboard takes the name literally
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    return row


def _on_ledger(network, address: str, source: str) -> tuple[dict, dict]:
    [payment] = payments_on_ledger(network, address, source)
    status, transaction = network.request(
        "GET", f"/transactions/{payment['transaction_hash']}"
    )
    assert status == 200, transaction
    return payment, transaction


def test_phone_journey_from_csv_to_success(
    journey_tenant, live_server, wallet_domain, tss_worker, network, closing
):
    deadline = time.monotonic() + TIME_LIMIT
    dashboard = _logged_in(live_server, journey_tenant, closing)
    wallet, asset = _wallet_and_asset(dashboard, "Demo Wallet")
    disbursement = dashboard.create_disbursement_with_csv(
        {
            "name": "Journey payroll",
            "wallet_id": wallet["id"],
            "asset_id": asset["id"],
            "registration_contact_type": "PHONE_NUMBER",
            "verification_field": "DATE_OF_BIRTH",
            "receiver_registration_message_template": "",
        },
        f"phone,id,amount,verification\n{PHONE},r-1,4.75,{DATE_OF_BIRTH}\n",
    )
    assert disbursement["status"] == "READY"
    assert disbursement["total_amount"] == "4.7500000"
    assert dashboard.start(disbursement["id"])["message"]
    assert dashboard.get(f"/disbursements/{disbursement['id']}")["status"] == "STARTED"

    # The recipient: the invitation in the outbox, SEP-10/24 and the pages.
    said: list[str] = []
    outcome = demo_wallet.play(
        base_url=live_server.url,
        tenant=journey_tenant.name,
        invite=PHONE,
        verification_value=DATE_OF_BIRTH,
        attribution=demo_wallet.Attribution(keypair=wallet_domain.keypair),
        wait=deadline - time.monotonic(),
        say=said.append,
    )
    assert f"SEP-10: authenticated as {wallet_domain.domain}" in said

    # The ledger's own record: amount, asset, memo.
    on_ledger, transaction = _on_ledger(
        network, outcome.address, journey_tenant.distribution_address
    )
    assert (on_ledger["amount"], on_ledger["asset_code"]) == ("4.7500000", "USDC")
    assert on_ledger["asset_issuer"] == journey_tenant.issuer.public_key
    memo = outcome.payment.memo
    assert memo.startswith("sdp-")  # the organization's tracing memo
    assert (transaction["memo_type"], transaction["memo"]) == ("text", memo)
    tx_hash = on_ledger["transaction_hash"]
    assert outcome.payment.transaction_hash == tx_hash

    payment = _payment_when_done(dashboard, deadline)
    assert payment["status"] == "SUCCESS", payment["status_history"]
    assert payment["amount"] == "4.7500000"
    assert payment["stellar_transaction_id"] == tx_hash
    assert payment["receiver_wallet"]["stellar_address"] == outcome.address
    assert payment["receiver_wallet"]["status"] == "REGISTERED"
    assert payment["disbursement"]["id"] == disbursement["id"]
    _check_statistics(dashboard, Decimal("4.75"))
    row = _export_row(dashboard)
    assert row["StellarTransactionID"] == tx_hash
    assert row["Status"] == "SUCCESS"
    assert row["Amount"] == "4.7500000"
    # A phone is a number, not a formula: exported as it is, so the export can
    # be uploaded again (issue 17 item 18).
    assert row["Receiver.PhoneNumber"] == PHONE
    assert row["ReceiverWallet.Address"] == outcome.address
    assert time.monotonic() < deadline


def test_email_and_wallet_address_journey_needs_no_registration(
    journey_tenant, live_server, tss_worker, network, closing
):
    deadline = time.monotonic() + TIME_LIMIT
    dashboard = _logged_in(live_server, journey_tenant, closing)
    # Known addresses go to the user-managed wallet, off and without assets
    # until the owner enables it for USDC (the wallet providers page).
    user_managed = next(w for w in dashboard.get("/wallets") if w["user_managed"])
    usdc_id = next(a["id"] for a in dashboard.get("/assets") if a["code"] == "USDC")
    dashboard.call(
        "PATCH",
        f"/wallets/{user_managed['id']}",
        json={"enabled": True, "assets": [{"id": usdc_id}]},
    )
    # The recipient's own account, already trusting USDC: nothing to register.
    recipient = demo_wallet.DemoWallet(
        base_url=live_server.url, tenant=journey_tenant.name, keypair=Keypair.random()
    )
    closing(recipient.http)
    recipient.read_stellar_toml()
    usdc = (journey_tenant.usdc.code, journey_tenant.usdc.issuer)
    recipient.ensure_account(*usdc)

    wallet, asset = _wallet_and_asset(dashboard, user_managed["name"])
    disbursement = dashboard.create_disbursement_with_csv(
        {
            "name": "Journey known addresses",
            "wallet_id": wallet["id"],
            "asset_id": asset["id"],
            "registration_contact_type": "EMAIL_AND_WALLET_ADDRESS",
            "verification_field": "",
            "receiver_registration_message_template": "",
        },
        f"email,walletAddress,id,amount\n{EMAIL},{recipient.address},r-9,2.5\n",
    )
    assert disbursement["status"] == "READY"
    dashboard.start(disbursement["id"])

    arrived = recipient.wait_for_payment(deadline - time.monotonic(), *usdc)
    on_ledger, transaction = _on_ledger(
        network, recipient.address, journey_tenant.distribution_address
    )
    assert on_ledger["amount"] == "2.5000000"
    assert arrived.transaction_hash == on_ledger["transaction_hash"]
    assert transaction["memo"].startswith("sdp-")

    payment = _payment_when_done(dashboard, deadline)
    assert payment["status"] == "SUCCESS", payment["status_history"]
    assert payment["stellar_transaction_id"] == on_ledger["transaction_hash"]
    assert payment["receiver_wallet"]["stellar_address"] == recipient.address
    _check_statistics(dashboard, Decimal("2.5"))
    row = _export_row(dashboard)
    assert row["Receiver.Email"] == EMAIL
    assert row["StellarTransactionID"] == on_ledger["transaction_hash"]
    assert time.monotonic() < deadline


def test_account_muxed_and_contract_receivers_in_one_disbursement(
    journey_tenant, live_server, tss_worker, network, closing
):
    """Known addresses, a Stellar account (G...), a muxed account (M..., a
    second account and an id) and a contract account (C..., a smart wallet):
    all paid exactly once by the same disbursement, the accounts checked
    through Horizon (the M... payment on its base account, with to_muxed and
    to_muxed_id), the contract through Stellar RPC (its balance in USDC's
    asset contract, and the transfer event)."""
    from stellar_sdk import Asset as StellarAsset
    from stellar_sdk import MuxedAccount, scval
    from stellar_sdk import xdr as X

    deadline = time.monotonic() + TIME_LIMIT * 2
    dashboard = _logged_in(live_server, journey_tenant, closing)
    user_managed = next(w for w in dashboard.get("/wallets") if w["user_managed"])
    usdc_id = next(a["id"] for a in dashboard.get("/assets") if a["code"] == "USDC")
    dashboard.call(
        "PATCH",
        f"/wallets/{user_managed['id']}",
        json={"enabled": True, "assets": [{"id": usdc_id}]},
    )
    recipient = demo_wallet.DemoWallet(
        base_url=live_server.url, tenant=journey_tenant.name, keypair=Keypair.random()
    )
    closing(recipient.http)
    recipient.read_stellar_toml()
    usdc = (journey_tenant.usdc.code, journey_tenant.usdc.issuer)
    recipient.ensure_account(*usdc)
    base = demo_wallet.DemoWallet(
        base_url=live_server.url, tenant=journey_tenant.name, keypair=Keypair.random()
    )
    closing(base.http)
    base.read_stellar_toml()
    base.ensure_account(*usdc)
    muxed = MuxedAccount(base.address, 2**63 + 5).account_muxed
    smart = demo_wallet.ContractWallet(
        rpc_url=network.rpc_url, passphrase=network.passphrase
    )

    wallet, asset = _wallet_and_asset(dashboard, user_managed["name"])
    disbursement = dashboard.create_disbursement_with_csv(
        {
            "name": "Journey account, muxed and contract",
            "wallet_id": wallet["id"],
            "asset_id": asset["id"],
            "registration_contact_type": "EMAIL_AND_WALLET_ADDRESS",
            "verification_field": "",
            "receiver_registration_message_template": "",
        },
        "email,walletAddress,id,amount\n"
        f"{EMAIL},{recipient.address},r-9,2.5\n"
        f"smart@journey.example.org,{smart.address},r-10,1.5\n"
        f"muxed@journey.example.org,{muxed},r-11,0.75\n",
    )
    assert disbursement["status"] == "READY"
    dashboard.start(disbursement["id"])

    recipient.wait_for_payment(deadline - time.monotonic(), *usdc)
    on_ledger, _transaction = _on_ledger(
        network, recipient.address, journey_tenant.distribution_address
    )
    assert on_ledger["amount"] == "2.5000000"
    base.wait_for_payment(deadline - time.monotonic(), *usdc)
    muxed_payment, _transaction = _on_ledger(
        network, base.address, journey_tenant.distribution_address
    )
    assert muxed_payment["to"] == base.address
    assert muxed_payment["to_muxed"] == muxed
    assert muxed_payment["to_muxed_id"] == str(2**63 + 5)
    assert muxed_payment["amount"] == "0.7500000"
    balance = smart.wait_for_balance(deadline - time.monotonic(), *usdc)
    assert balance == Decimal("1.5")

    rpc = network.soroban_server()
    sac = StellarAsset(*usdc).contract_id(network.passphrase)
    events = rpc.get_events(
        start_ledger=1,
        filters=[
            {
                "type": "contract",
                "contractIds": [sac],
                "topics": [["*", "*", scval.to_address(smart.address).to_xdr(), "*"]],
            }
        ],
    ).events
    assert len(events) == 1
    topic = [X.SCVal.from_xdr(t) for t in events[0].topic]
    assert scval.from_address(topic[1]).address == (journey_tenant.distribution_address)
    assert rpc.get_transaction(events[0].transaction_hash).status.value == "SUCCESS"

    while True:
        payments = dashboard.get("/payments/?page=1&page_limit=20")["data"]
        done = {p["status"] for p in payments} == {"SUCCESS"} and len(payments) == 3
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    by_address = {p["receiver_wallet"]["stellar_address"]: p for p in payments}
    assert by_address[smart.address]["status"] == "SUCCESS"
    assert (
        by_address[smart.address]["stellar_transaction_id"]
        == events[0].transaction_hash
    )
    assert by_address[recipient.address]["status"] == "SUCCESS"
    assert by_address[muxed]["status"] == "SUCCESS"
    assert (
        by_address[muxed]["stellar_transaction_id"] == muxed_payment["transaction_hash"]
    )
    # Exactly once, after the worker has recorded every outcome.
    source = journey_tenant.distribution_address
    for account in (recipient.address, base.address):
        assert len(payments_on_ledger(network, account, source)) == 1
    assert smart.balance(*usdc) == Decimal("1.5")
