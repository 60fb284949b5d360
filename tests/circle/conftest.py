"""Fixtures of the Circle rail's tests: a fake Circle (localnet.circle) without a
network (it makes up the Stellar hash) for the fast tests, a Circle tenant
configured with it, payments ready to hand off, and a loop of rail rounds."""

from __future__ import annotations

import time

import pytest
from stellar_sdk import Keypair

from auth_org.models import Organization
from circle import services
from circle.models import TransferRequest
from localnet.circle import FakeCircle
from tests.factories import (
    AssetFactory,
    OrganizationFactory,
    PaymentFactory,
    ReceiverWalletFactory,
)
from tests.tss.conftest import network, tss_network  # noqa: F401 - fixtures


@pytest.fixture
def offline_circle(settings):
    """A fake Circle that pays nowhere (the hash is made up): the API alone."""
    fake = FakeCircle().start()
    settings.CIRCLE_API_BASE_URL = fake.url
    settings.CIRCLE_REQUEST_TIMEOUT_SECONDS = 2.0
    settings.CIRCLE_POLL_SECONDS = 0.0
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def circle_keys(offline_circle):
    key = offline_circle.add_api_key()
    return key, offline_circle.add_wallet(key, USD="100", EUR="50")


@pytest.fixture
def circle_org(db):
    return OrganizationFactory(
        distribution_account_type=Organization.DistributionAccountType.CIRCLE_DB_VAULT,
        distribution_account_status=(
            Organization.DistributionAccountStatus.PENDING_USER_ACTIVATION
        ),
    )


@pytest.fixture
def configured(circle_org, circle_keys):
    key, wallet_id = circle_keys
    services.configure(circle_org.id, wallet_id=wallet_id, api_key=key)
    return circle_org


def ready_payment(organization, amount="2.5", address: str = "", **kwargs):
    """A READY direct payment to a REGISTERED receiver wallet."""
    from disbursements.models import Payment
    from receivers.models import ReceiverWallet

    asset = AssetFactory(organization=organization, code=kwargs.pop("code", "USDC"))
    receiver_wallet = ReceiverWalletFactory(
        receiver__organization=organization,
        status=ReceiverWallet.Status.REGISTERED,
        stellar_address=address or Keypair.random().public_key,
    )
    return PaymentFactory(
        disbursement=None,
        organization=organization,
        type=Payment.Type.DIRECT,
        status=Payment.Status.READY,
        receiver_wallet=receiver_wallet,
        receiver=receiver_wallet.receiver,
        asset=asset,
        amount=amount,
        **kwargs,
    )


def run_rail(timeout: float = 20.0) -> None:
    """Send and poll rounds (in this process) until nothing is live."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.send_round()
        services.sync_round()
        if not services.live_count():
            return
        time.sleep(0.1)
    live = list(
        TransferRequest.objects.filter(status="PENDING").values(
            "external_id", "status_message", "circle_status", "next_attempt_at"
        )
    )
    raise AssertionError(f"still live after {timeout}s: {live}")
