"""The whole recipient journey, ending with the payment on the ledger: stellar-sdk
plays the wallet (SEP-1, SEP-10 with a client-domain key, SEP-24), the pages are
filled through Django's test client, the code is read from the outbox, and a
real Celery worker pays through the TSS on the localnet."""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from disbursements.models import Disbursement, Payment
from receivers.models import ReceiverWallet
from tests.factories import DisbursementFactory, PaymentFactory
from tests.receivers.conftest import (
    DATE_OF_BIRTH,
    Wallet,
    make_ready_receiver,
    make_tenant,
    otp_from_outbox,
)
from tests.tss.conftest import (  # noqa: F401 - fixtures
    channel_accounts,
    network,
    payments_on_ledger,
    tss_network,
    tss_worker,
)
from tss import accounts

PHONE = "+14155550123"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.django_db(transaction=True)
def test_registered_receiver_is_paid_on_the_localnet(
    client, wallet_domain, settings, request
):
    localnet = request.getfixturevalue("network")
    request.getfixturevalue("tss_worker")
    make_channel_accounts = request.getfixturevalue("channel_accounts")
    make_channel_accounts(1)
    tenant = make_tenant(wallet_domain, settings)
    accounts.create_distribution_account(tenant.id)
    disbursement = DisbursementFactory(
        organization=tenant,
        asset=tenant.test_native,
        wallet=tenant.test_wallet,
        status=Disbursement.Status.STARTED,
    )
    receiver_wallet = make_ready_receiver(tenant, tenant.test_wallet, phone=PHONE)
    payment = PaymentFactory(
        disbursement=disbursement,
        receiver_wallet=receiver_wallet,
        status=Payment.Status.READY,
        amount=Decimal("1.2500000"),
    )
    wallet = Wallet(client, tenant.host, wallet_domain)
    localnet.friendbot(wallet.keypair.public_key)  # the wallet's account exists

    assert wallet.toml()["HORIZON_URL"] == localnet.url
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    url = wallet.start_deposit(token, asset_code="native").json()["url"]
    contact_url = wallet.get(_path(url))["Location"]
    verify_url = wallet.client.post(
        contact_url,
        {"contact_kind": "phone", "phone_number": PHONE},
        HTTP_HOST=wallet.host,
    )["Location"]
    done = wallet.client.post(
        verify_url,
        {"otp": otp_from_outbox(PHONE), "verification_value": DATE_OF_BIRTH},
        HTTP_HOST=wallet.host,
    )
    assert done.status_code == 302, done.content.decode()

    receiver_wallet.refresh_from_db()
    assert receiver_wallet.status == ReceiverWallet.Status.REGISTERED
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        payment.refresh_from_db()
        if payment.status in (Payment.Status.SUCCESS, Payment.Status.FAILED):
            break
        time.sleep(0.2)
    assert payment.status == Payment.Status.SUCCESS, payment.status_changes.last()
    source = accounts.distribution_account_for(tenant.id)
    on_ledger = payments_on_ledger(localnet, wallet.keypair.public_key, source)
    assert [Decimal(p["amount"]) for p in on_ledger] == [Decimal("1.2500000")]
