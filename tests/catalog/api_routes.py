"""Wallets and assets routes in the role matrix and tenant isolation suites."""

from __future__ import annotations

from auth_org.models import Role
from auth_org.permissions import ALL, OWNER_FC
from tests.api_matrix import Route, register, register_object
from tests.factories import AssetFactory, WalletFactory

ASSET_WRITE = {Role.OWNER, Role.FINANCIAL_CONTROLLER, Role.DEVELOPER}
WALLET_WRITE = {Role.OWNER, Role.DEVELOPER}


@register_object("wallet")
def make_wallet(organization, user) -> str:
    return str(WalletFactory(organization=organization).pk)


@register_object("native_asset")
def make_native_asset(organization, user) -> str:
    # The native asset needs no trustline: deleting it never reaches the network.
    # (The organization may hold it already: a wallet created with it, say.)
    existing = organization.assets.filter(code="XLM", issuer="").first()
    if existing is not None:
        return str(existing.pk)
    return str(AssetFactory(organization=organization, code="XLM", issuer="").pk)


register(
    Route("GET", "assets", ALL, "read:all"),
    Route("POST", "assets", ASSET_WRITE, "write:all", body={"code": "BAD-CODE"}),
    Route("DELETE", "assets/{native_asset}", ASSET_WRITE, "write:all"),
    Route("GET", "wallets", ALL, "read:wallets"),
    Route("POST", "wallets", WALLET_WRITE, "write:wallets", body={"name": "x" * 31}),
    Route("GET", "wallets/{wallet}", ALL, "read:wallets"),
    Route(
        "PATCH",
        "wallets/{wallet}",
        WALLET_WRITE,
        "write:wallets",
        body={"enabled": False},
    ),
    Route("DELETE", "wallets/{wallet}", WALLET_WRITE, "write:wallets"),
    # docs/controls.md
    Route("GET", "assets/{native_asset}/controls", ALL, "read:organization"),
    Route(
        "PATCH",
        "assets/{native_asset}/controls",
        OWNER_FC,
        "write:organization",
        body={"daily_max": "-1"},
    ),
    Route("GET", "organization/controls", ALL, "read:organization"),
    Route(
        "PATCH",
        "organization/controls",
        OWNER_FC,
        "write:organization",
        body={"duplicate_window_days": 0},
    ),
)
