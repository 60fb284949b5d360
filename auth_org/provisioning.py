"""Creating tenants and users, and seeding wallets and assets per network.

The same services back the management commands (``create_tenant``, ``add_user``,
``setup_for_network``), the tenant admin API and the Django admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from auth_org.models import Asset, Organization, Role, User, Wallet
from circle import services as circle_services

TENANT_NAME = re.compile(r"^[a-z-]+$")


@dataclass(frozen=True)
class AssetSeed:
    code: str
    issuer: str = ""


@dataclass(frozen=True)
class WalletSeed:
    name: str
    homepage: str
    deep_link_schema: str
    sep_10_client_domain: str
    assets: tuple[str, ...] = ()
    user_managed: bool = False


# Public network facts (SDP's `db setup-for-network`): Circle's issuers.
PUBNET_ASSETS = (
    AssetSeed("USDC", "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"),
    AssetSeed("EURC", "GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2"),
    AssetSeed("XLM"),
)
TESTNET_ASSETS = (
    AssetSeed("USDC", "GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5"),
    AssetSeed("EURC", "GB3Q6QDZYTHWT7E5PVS3W7FUT5GVAFC5KSZFFLPU25GO7VTC3NM2ZTVO"),
    AssetSeed("XLM"),
)
LOCALNET_ASSETS = (AssetSeed("XLM"),)

# Every asset of the network (SDP's AllAssets...), for the user-managed wallet.
ALL = ("USDC", "EURC", "XLM")
USER_MANAGED_WALLET = WalletSeed(
    name="User Managed Wallet",
    homepage="https://stellar.org",
    deep_link_schema="SELF",
    sep_10_client_domain="localhost",
    assets=ALL,
    user_managed=True,
)
# SDP 6.5's internal/services/wallets (wallets_pubnet.go, wallets_testnet.go).
# Its "Embedded Wallet" is left out: this platform serves no embedded wallet
# (and SDP gives it the homepage and deep link the user-managed wallet has here).
PUBNET_WALLETS = (
    WalletSeed(
        "Decaf",
        "https://decaf.so",
        "https://decafwallet.app.link",
        "decaf.so",
        ("XLM", "USDC"),
    ),
    WalletSeed(
        "Vesseo",
        "https://vesseoapp.com",
        "https://vesseoapp.com/disbursement",
        "vesseoapp.com",
        ("XLM", "USDC"),
    ),
    WalletSeed(
        "Beans App",
        "https://beansapp.com",
        "https://www.beansapp.com/disbursements/registration?env=prod",
        "api.beansapp.com",
        ("XLM", "USDC", "EURC"),
    ),
    USER_MANAGED_WALLET,
)
TESTNET_WALLETS = (
    WalletSeed(
        "Demo Wallet",
        "https://demo-wallet.stellar.org",
        "https://demo-wallet.stellar.org",
        "demo-wallet-server.stellar.org",
        ("USDC", "XLM"),
    ),
    WalletSeed(
        "Decaf",
        "https://decaf.so",
        "https://decafwallet.app.link",
        "decaf.so",
        ALL,
    ),
    WalletSeed(
        "Vesseo",
        "https://vesseoapp.com",
        "https://vesseoapp.com/disbursement",
        "vesseoapp.com",
        ALL,
    ),
    WalletSeed(
        "Via Wallet",
        "https://www.solvewithvia.com/wallet/",
        "https://www.solvewithvia.com/wallet/",
        "solvewithvia.com",
        ALL,
    ),
    USER_MANAGED_WALLET,
)
LOCALNET_WALLETS = (
    WalletSeed(
        "Demo Wallet",
        "http://localhost:8000/demo-wallet",
        "sdp-demo-wallet://register",
        "localhost",
        ("XLM",),
    ),
    USER_MANAGED_WALLET,
)


def network_seeds() -> tuple[tuple[AssetSeed, ...], tuple[WalletSeed, ...]]:
    if settings.NETWORK_PASSPHRASE == settings.PUBNET_PASSPHRASE:
        return PUBNET_ASSETS, PUBNET_WALLETS
    if settings.NETWORK_PASSPHRASE == settings.TESTNET_PASSPHRASE:
        return TESTNET_ASSETS, TESTNET_WALLETS
    return LOCALNET_ASSETS, LOCALNET_WALLETS


@transaction.atomic
def setup_for_network(organization: Organization) -> None:
    """Seed the network's assets and wallet providers for ``organization``.

    Idempotent. As SDP's, it also updates: a wallet already there (by name)
    gets the seed's links and domain, and the seed's assets it lacks (its
    ``enabled`` and the assets it was given stay as they are).
    """
    assets_seed, wallets_seed = network_seeds()
    assets: dict[str, Asset] = {}
    for seed in assets_seed:
        asset, _ = Asset.objects.get_or_create(
            organization=organization,
            code=seed.code,
            issuer=seed.issuer,
            deleted_at__isnull=True,
        )
        assets[seed.code] = asset
    for seed in wallets_seed:
        fields = {
            "homepage": seed.homepage,
            "deep_link_schema": seed.deep_link_schema,
            "sep_10_client_domain": seed.sep_10_client_domain,
            "user_managed": seed.user_managed,
        }
        wallet, created = Wallet.objects.get_or_create(
            organization=organization,
            name=seed.name,
            defaults={**fields, "enabled": not seed.user_managed},
        )
        if not created and any(getattr(wallet, k) != v for k, v in fields.items()):
            for name, value in fields.items():
                setattr(wallet, name, value)
            wallet.save(update_fields=[*fields, "updated_at"])
        wallet.assets.add(*[assets[code] for code in seed.assets if code in assets])


def validate_tenant_name(name: str) -> str:
    name = name.strip().lower()
    if not TENANT_NAME.match(name):
        raise ValidationError({"name": "must be lower-case letters and dashes only"})
    return name


@transaction.atomic
def provision_tenant(
    name: str,
    *,
    owner_email: str,
    owner_first_name: str,
    owner_last_name: str,
    owner_password: str | None = None,
    display_name: str = "",
    base_url: str = "",
    sdp_ui_base_url: str = "",
    is_default: bool = False,
) -> Organization:
    """Create an organization with its owner and seeded wallets and assets, in one
    transaction. Raises ValidationError for a bad or taken name."""
    name = validate_tenant_name(name)
    if Organization.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"tenant {name!r} already exists"})
    if is_default:
        Organization.objects.filter(is_default=True).update(is_default=False)
    organization = Organization.objects.create(
        name=name,
        display_name=display_name or name.replace("-", " ").title(),
        base_url=base_url,
        sdp_ui_base_url=sdp_ui_base_url,
        is_default=is_default,
        status=Organization.Status.ACTIVATED,
    )
    add_user(
        organization,
        email=owner_email,
        first_name=owner_first_name,
        last_name=owner_last_name,
        roles=[Role.OWNER],
        is_owner=True,
        password=owner_password,
    )
    setup_for_network(organization)
    return organization


def add_user(
    organization: Organization,
    *,
    email: str,
    first_name: str,
    last_name: str,
    roles: list[str],
    is_owner: bool = False,
    password: str | None = None,
) -> User:
    """Create a dashboard user. Without a password the account cannot log in until
    the user sets one through the invitation or forgot-password flow."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValidationError({"roles": f"unknown roles: {', '.join(sorted(unknown))}"})
    if {Role.INITIATOR, Role.APPROVER} <= set(roles):
        raise ValidationError(
            {"roles": "initiator and approver are mutually exclusive"}
        )
    email = email.strip().lower()
    if User.objects.filter(organization=organization, email__iexact=email).exists():
        raise ValidationError({"email": "a user with this email already exists"})
    if password:
        from django.contrib.auth.password_validation import validate_password

        validate_password(password)
    user = User(
        organization=organization,
        email=email,
        first_name=first_name,
        last_name=last_name,
        roles=list(roles),
        is_owner=is_owner,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def provision_distribution_account(organization: Organization) -> str:
    """Give the organization its distribution account on the network, funded from
    the host account, with trustlines for its assets; record it as ACTIVE.

    Network I/O, so never inside a database transaction. Safe to run again after a
    failure: the TSS reuses the stored key and funds only a missing account.
    Raises tss.errors.TSSError (or a Horizon error) when the network refuses.
    """
    from tss import accounts

    if (
        organization.distribution_account_type
        == Organization.DistributionAccountType.CIRCLE_DB_VAULT
    ):
        # Circle holds the funds: nothing on the network; ACTIVE once the owner
        # stores a Circle configuration (PATCH /organization/circle-config).
        if not circle_services.account(organization.id):
            Organization.objects.filter(pk=organization.pk).update(
                distribution_account_status=(
                    Organization.DistributionAccountStatus.PENDING_USER_ACTIVATION
                )
            )
        return ""
    use_host = (
        organization.distribution_account_type
        == Organization.DistributionAccountType.STELLAR_ENV
    )
    address = accounts.create_distribution_account(organization.id, use_host=use_host)
    for asset in organization.assets.filter(deleted_at__isnull=True).exclude(
        code="XLM"
    ):
        accounts.ensure_trustline(organization.id, asset.code, asset.issuer)
    Organization.objects.filter(pk=organization.pk).update(
        distribution_account_address=address,
        distribution_account_status=Organization.DistributionAccountStatus.ACTIVE,
    )
    organization.distribution_account_address = address
    return address
