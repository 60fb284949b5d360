"""Fixtures of the end-to-end tests: a tenant set up as `make demo` sets it up
(provisioned with its owner, a USDC asset issued on the localnet, a funded
distribution account with the trustline, channel accounts, the localnet wallet
provider), a live server, and a real TSS worker on the localnet."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from stellar_sdk import Asset as StellarAsset
from stellar_sdk import Keypair, Payment

from auth_org.models import Asset, Organization, Wallet
from auth_org.provisioning import provision_distribution_account, provision_tenant
from tests.receivers.conftest import (  # noqa: F401 - fixtures
    _wallet_domain_server,
    wallet_domain,
)
from tests.tss.conftest import (  # noqa: F401 - fixtures
    channel_accounts,
    network,
    tss_network,
    tss_worker,
)
from tss import accounts

OWNER_EMAIL = "owner@journey.example.org"
OWNER_PASSWORD = "Journey-Owner-9-Password!"
ISSUED = Decimal("1000")


@dataclass
class JourneyTenant:
    organization: Organization
    usdc: Asset
    wallet: Wallet
    issuer: Keypair
    distribution_address: str

    @property
    def name(self) -> str:
        return self.organization.name


@pytest.fixture
def journey_tenant(live_server, settings, request) -> JourneyTenant:
    """What `make demo` seeds, on the test's localnet and live server."""
    localnet = request.getfixturevalue("network")
    client_domain = request.getfixturevalue("wallet_domain")
    make_channel_accounts = request.getfixturevalue("channel_accounts")
    settings.DISABLE_RECAPTCHA = True
    settings.BASE_URL = live_server.url
    organization = provision_tenant(
        "journey",
        owner_email=OWNER_EMAIL,
        owner_first_name="Olu",
        owner_last_name="Owner",
        owner_password=OWNER_PASSWORD,
        display_name="Journey Org",
        base_url=live_server.url,
    )
    issuer = Keypair.random()
    localnet.friendbot(issuer.public_key)
    usdc = Asset.objects.create(
        organization=organization, code="USDC", issuer=issuer.public_key
    )
    # The localnet's wallet provider, attributed to the test's fake wallet
    # domain (its stellar.toml publishes the key the wallet signs with).
    wallet = Wallet.objects.get(organization=organization, name="Demo Wallet")
    wallet.sep_10_client_domain = client_domain.domain
    wallet.save(update_fields=["sep_10_client_domain"])
    wallet.assets.add(usdc)
    address = provision_distribution_account(organization)
    accounts.run_transaction(
        issuer,
        [
            Payment(
                destination=address,
                asset=StellarAsset("USDC", issuer.public_key),
                amount=str(ISSUED),
            )
        ],
    )
    make_channel_accounts(2)
    organization.refresh_from_db()
    return JourneyTenant(organization, usdc, wallet, issuer, address)


def write_phone_csv(path: Path, rows: list[dict]) -> Path:
    """SDP's phone CSV: phone,id,amount,verification."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["phone", "id", "amount", "verification"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def closing():
    """Closes HTTP sessions at teardown: a kept-alive connection holds a live
    server thread, and its database connection, open."""
    sessions = []
    yield sessions.append
    for session in sessions:
        session.close()
