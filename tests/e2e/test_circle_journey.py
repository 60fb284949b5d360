"""A Circle tenant's journey through HTTP only, against the fake Circle
(localnet.circle) paying on the localnet: the owner logs in, stores the Circle
configuration (PATCH /organization/circle-config), reads the Circle balances,
uploads a known-address CSV and starts the disbursement; a real worker hands the
payment to Circle, follows it to complete, and the ledger, /payments,
/statistics and the export show the Stellar transaction Circle made."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from stellar_sdk import Keypair

from auth_org.models import Asset, Organization
from auth_org.provisioning import provision_distribution_account, provision_tenant
from receivers import demo_wallet
from tests.conftest import running_worker
from tests.e2e.conftest import OWNER_EMAIL, OWNER_PASSWORD
from tests.e2e.dashboard import Dashboard, mfa_code_from_outbox
from tests.e2e.test_journey import _check_statistics, _export_row, _payment_when_done
from tests.tss.conftest import payments_on_ledger

pytestmark = pytest.mark.django_db(transaction=True)

TIME_LIMIT = 90
EMAIL = "recipient@circle-journey.example.org"


@pytest.fixture
def circle_tenant(live_server, settings, network, fake_circle):
    settings.DISABLE_RECAPTCHA = True
    settings.BASE_URL = live_server.url
    settings.CIRCLE_API_BASE_URL = fake_circle.url
    organization = provision_tenant(
        "circle-journey",
        owner_email=OWNER_EMAIL,
        owner_first_name="Cy",
        owner_last_name="Owner",
        owner_password=OWNER_PASSWORD,
        display_name="Circle Journey Org",
        base_url=live_server.url,
    )
    Organization.objects.filter(pk=organization.pk).update(
        distribution_account_type=Organization.DistributionAccountType.CIRCLE_DB_VAULT
    )
    organization.refresh_from_db()
    assert provision_distribution_account(organization) == ""  # nothing on-chain
    # Circle's USDC: on the localnet the fake Circle's account issues it.
    Asset.objects.create(
        organization=organization, code="USDC", issuer=fake_circle.issuer
    )
    organization.refresh_from_db()
    return organization


@pytest.fixture
def circle_worker(network, fake_circle, django_db_setup):
    env = {
        "HORIZON_URL": network.url,
        "NETWORK_PASSPHRASE": network.passphrase,
        "CIRCLE_API_BASE_URL": fake_circle.url,
        "CIRCLE_POLL_SECONDS": "0.5",
    }
    with running_worker("circle-worker", queues="tss,messages,default", env=env) as w:
        yield w


def test_circle_tenant_disbursement_to_success_on_the_ledger(
    circle_tenant, live_server, fake_circle, circle_worker, network, closing
):
    deadline = time.monotonic() + TIME_LIMIT
    api_key = fake_circle.add_api_key()
    wallet_id = fake_circle.add_wallet(api_key, USD="1000")

    dashboard = Dashboard(live_server.url, circle_tenant.name)
    closing(dashboard.http)
    dashboard.log_in(
        OWNER_EMAIL,
        OWNER_PASSWORD,
        lambda email, since: mfa_code_from_outbox(circle_tenant.id, email, since),
    )
    account = dashboard.get("/organization")["distribution_account"]
    assert account["type"] == "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT"
    assert account["status"] == "PENDING_USER_ACTIVATION"

    # Settings -> Circle: the dashboard's PATCH (JSON as text/plain).
    response = dashboard.call(
        "PATCH",
        "/organization/circle-config",
        data=f'{{"wallet_id": "{wallet_id}", "api_key": "{api_key}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.json() == {"message": "Circle configuration updated"}
    assert dashboard.get("/organization")["distribution_account"] == {
        "address": "",
        "type": "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT",
        "status": "ACTIVE",
        "circle_wallet_id": wallet_id,
    }
    assert dashboard.get("/balances")["balances"] == [
        {"amount": "1000.00", "asset_code": "USDC", "asset_issuer": fake_circle.issuer}
    ]

    # The receiver's own account, trusting Circle's USDC: no registration.
    user_managed = next(w for w in dashboard.get("/wallets") if w["user_managed"])
    usdc_id = next(a["id"] for a in dashboard.get("/assets") if a["code"] == "USDC")
    dashboard.call(
        "PATCH",
        f"/wallets/{user_managed['id']}",
        json={"enabled": True, "assets": [{"id": usdc_id}]},
    )
    recipient = demo_wallet.DemoWallet(
        base_url=live_server.url, tenant=circle_tenant.name, keypair=Keypair.random()
    )
    closing(recipient.http)
    recipient.read_stellar_toml()
    recipient.ensure_account("USDC", fake_circle.issuer)

    disbursement = dashboard.create_disbursement_with_csv(
        {
            "name": "Circle payroll",
            "wallet_id": user_managed["id"],
            "asset_id": usdc_id,
            "registration_contact_type": "EMAIL_AND_WALLET_ADDRESS",
            "verification_field": "",
            "receiver_registration_message_template": "",
        },
        f"email,walletAddress,id,amount\n{EMAIL},{recipient.address},r-1,2.5\n",
    )
    assert disbursement["status"] == "READY"
    dashboard.start(disbursement["id"])

    arrived = recipient.wait_for_payment(
        deadline - time.monotonic(), "USDC", fake_circle.issuer
    )
    [on_ledger] = payments_on_ledger(network, recipient.address, fake_circle.issuer)
    assert on_ledger["amount"] == "2.5000000"
    assert arrived.transaction_hash == on_ledger["transaction_hash"]
    status, transaction = network.request(
        "GET", f"/transactions/{on_ledger['transaction_hash']}"
    )
    assert status == 200
    assert transaction["memo"].startswith("sdp-")  # the tracing memo, via Circle

    payment = _payment_when_done(dashboard, deadline)
    assert payment["status"] == "SUCCESS", payment["status_history"]
    assert payment["stellar_transaction_id"] == on_ledger["transaction_hash"]
    assert payment["circle_transfer_request_id"]
    _check_statistics(dashboard, Decimal("2.5"))
    row = _export_row(dashboard)
    assert row["StellarTransactionID"] == on_ledger["transaction_hash"]
    assert row["CircleTransferRequestID"] == payment["circle_transfer_request_id"]
    # Circle paid it, once: one transfer, the wallet debited once.
    assert len(fake_circle.transfers_to(recipient.address)) == 1
    assert fake_circle.balance(wallet_id, "USD") == Decimal("997.5")
    assert dashboard.get("/balances")["balances"][0]["amount"] == "997.50"
    deadline_left = deadline - time.monotonic()
    while deadline_left > 0:
        if dashboard.get(f"/disbursements/{disbursement['id']}")["status"] == (
            "COMPLETED"
        ):
            break
        time.sleep(0.3)
        deadline_left = deadline - time.monotonic()
    assert deadline_left > 0, "the disbursement did not complete"
