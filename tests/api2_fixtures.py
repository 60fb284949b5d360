"""Fixtures of the operations API tests (disbursements, payments, receivers,
wallets, assets).

``ledger`` stands in for the network behind the TSS's account module
(``tss.accounts``: balances and trustlines of the distribution account): its
three functions are replaced on the real module for the test, the one boundary
these tests replace.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from auth_org.models import Role
from auth_org.tokens import issue_token
from tests.factories import AssetFactory, UserFactory, WalletFactory


class Ledger:
    """The distribution account as the TSS would report it."""

    def __init__(self):
        self.balances: dict[tuple[str, str], Decimal] = {("XLM", ""): Decimal("10000")}
        self.calls: list[tuple] = []

    def install(self, monkeypatch) -> None:
        from tss import accounts

        def balances(tenant_id):
            self.calls.append(("balances", tenant_id))
            return dict(self.balances)

        def ensure_trustline(tenant_id, code, issuer):
            self.calls.append(("ensure_trustline", tenant_id, code, issuer))
            self.balances.setdefault((code, issuer), Decimal("0"))

        def remove_trustline(tenant_id, code, issuer):
            self.calls.append(("remove_trustline", tenant_id, code, issuer))
            self.balances.pop((code, issuer), None)

        monkeypatch.setattr(accounts, "balances", balances)
        monkeypatch.setattr(accounts, "ensure_trustline", ensure_trustline)
        monkeypatch.setattr(accounts, "remove_trustline", remove_trustline)


@pytest.fixture
def ledger(monkeypatch):
    ledger = Ledger()
    ledger.install(monkeypatch)
    return ledger


def client_for(user, **headers) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}", **headers)
    return client


@pytest.fixture
def owner(organization):
    return UserFactory(organization=organization, roles=[Role.OWNER])


@pytest.fixture
def api(owner):
    return client_for(owner)


@pytest.fixture
def usdc(organization, ledger):
    asset = AssetFactory(organization=organization, code="USDC")
    ledger.balances[("USDC", asset.issuer)] = Decimal("1000000")
    return asset


@pytest.fixture
def wallet(organization, usdc):
    wallet = WalletFactory(organization=organization, name="Demo Wallet")
    wallet.assets.add(usdc)
    return wallet


@pytest.fixture
def user_managed_wallet(organization, usdc):
    wallet = WalletFactory(
        organization=organization, name="User Managed Wallet", user_managed=True
    )
    wallet.assets.add(usdc)
    return wallet


def role_user(organization, role: str):
    return UserFactory(organization=organization, roles=[role], is_owner=False)
