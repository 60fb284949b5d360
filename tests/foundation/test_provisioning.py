from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from stellar_sdk import Keypair

from auth_org import provisioning
from auth_org.models import Asset, Organization, User, Wallet

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-9-Battery!"


def test_create_tenant_creates_organization_owner_and_seeds():
    out = StringIO()
    call_command(
        "create_tenant",
        "--no-distribution-account",
        "aid-org",
        "--owner-email",
        "Owner@Example.org",
        "--owner-first-name",
        "Ada",
        "--owner-last-name",
        "Lovelace",
        "--owner-password",
        PASSWORD,
        "--default",
        stdout=out,
    )
    organization = Organization.objects.get(name="aid-org")
    assert organization.is_default
    owner = User.objects.get(organization=organization)
    assert owner.email == "owner@example.org"
    assert owner.roles == ["owner"]
    assert owner.is_owner
    assert owner.check_password(PASSWORD)
    assert Wallet.objects.filter(organization=organization, user_managed=True).exists()
    assert Asset.objects.filter(organization=organization, code="XLM").exists()
    assert "created tenant aid-org" in out.getvalue()


@pytest.mark.parametrize("name", ["Bad Name", "under_score", "digits1", ""])
def test_create_tenant_refuses_a_bad_name_and_writes_nothing(name):
    with pytest.raises(CommandError, match="lower-case letters and dashes"):
        call_command(
            "create_tenant",
            "--no-distribution-account",
            name,
            "--owner-email",
            "o@example.org",
            "--owner-first-name",
            "A",
            "--owner-last-name",
            "B",
        )
    assert not Organization.objects.exists()
    assert not User.objects.exists()


def test_a_taken_tenant_name_is_refused_case_insensitively():
    provisioning.provision_tenant(
        "aid-org",
        owner_email="o@example.org",
        owner_first_name="A",
        owner_last_name="B",
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_tenant",
            "--no-distribution-account",
            "AID-ORG",
            "--owner-email",
            "p@example.org",
            "--owner-first-name",
            "A",
            "--owner-last-name",
            "B",
        )
    assert Organization.objects.count() == 1


def test_a_weak_owner_password_rolls_back_the_whole_tenant():
    with pytest.raises(CommandError):
        call_command(
            "create_tenant",
            "--no-distribution-account",
            "aid-org",
            "--owner-email",
            "o@example.org",
            "--owner-first-name",
            "A",
            "--owner-last-name",
            "B",
            "--owner-password",
            "short",
        )
    assert not Organization.objects.exists()


def test_add_user_with_roles_and_without_password_cannot_log_in():
    organization = provisioning.provision_tenant(
        "aid-org",
        owner_email="o@example.org",
        owner_first_name="A",
        owner_last_name="B",
    )
    call_command(
        "add_user",
        "ops@example.org",
        "Grace",
        "Hopper",
        "--tenant",
        "aid-org",
        "--roles",
        "financial_controller",
        stdout=StringIO(),
    )
    user = User.objects.get(organization=organization, email="ops@example.org")
    assert user.roles == ["financial_controller"]
    assert not user.has_usable_password()


def test_add_user_refuses_initiator_with_approver():
    provisioning.provision_tenant(
        "aid-org",
        owner_email="o@example.org",
        owner_first_name="A",
        owner_last_name="B",
    )
    with pytest.raises(CommandError, match="mutually exclusive"):
        call_command(
            "add_user",
            "x@example.org",
            "X",
            "Y",
            "--tenant",
            "aid-org",
            "--roles",
            "initiator,approver",
        )


def test_add_user_to_unknown_tenant_is_refused():
    with pytest.raises(CommandError, match="no tenant named"):
        call_command(
            "add_user", "x@example.org", "X", "Y", "--tenant", "nope", "--owner"
        )


def test_same_email_may_exist_in_two_tenants_but_not_twice_in_one():
    for name in ("org-a", "org-b"):
        provisioning.provision_tenant(
            name,
            owner_email="same@example.org",
            owner_first_name="A",
            owner_last_name="B",
        )
    assert User.objects.filter(email="same@example.org").count() == 2
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "add_user", "SAME@example.org", "X", "Y", "--tenant", "org-a", "--owner"
        )


@pytest.mark.parametrize(
    ("passphrase", "codes"),
    [
        ("Public Global Stellar Network ; September 2015", {"USDC", "EURC", "XLM"}),
        ("Test SDF Network ; September 2015", {"USDC", "EURC", "XLM"}),
        ("Standalone Network ; February 2017", {"XLM"}),
    ],
)
def test_setup_for_network_seeds_that_networks_assets_once(passphrase, codes):
    organization = Organization.objects.create(name="aid-org", display_name="Aid")
    with override_settings(NETWORK_PASSPHRASE=passphrase):
        call_command("setup_for_network", stdout=StringIO())
        call_command("setup_for_network", "--tenant", "aid-org", stdout=StringIO())
    assert set(organization.assets.values_list("code", flat=True)) == codes
    assert organization.assets.count() == len(codes)
    assert organization.wallets.filter(user_managed=True).count() == 1


@pytest.mark.parametrize(
    "seed",
    [*provisioning.PUBNET_ASSETS, *provisioning.TESTNET_ASSETS],
    ids=lambda seed: f"{seed.code}:{seed.issuer[:4]}",
)
def test_seeded_issuers_are_valid_stellar_addresses(seed):
    if seed.code == "XLM":
        assert seed.issuer == ""
    else:
        assert Keypair.from_public_key(seed.issuer).public_key == seed.issuer


def test_create_tenant_reports_a_network_failure_after_creating_the_tenant(settings):
    settings.HORIZON_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(CommandError, match="distribution_account create --tenant"):
        call_command(
            "create_tenant",
            "offline-org",
            "--owner-email",
            "o@example.org",
            "--owner-first-name",
            "A",
            "--owner-last-name",
            "B",
            stdout=StringIO(),
        )
    assert Organization.objects.filter(name="offline-org").exists()


SDP_PUBNET_WALLETS = {
    # name: (homepage, deep link, SEP-10 domain, assets), SDP 6.5's pubnet seed
    "Decaf": ("https://decaf.so", "https://decafwallet.app.link", "decaf.so",
              {"XLM", "USDC"}),
    "Vesseo": ("https://vesseoapp.com", "https://vesseoapp.com/disbursement",
               "vesseoapp.com", {"XLM", "USDC"}),
    "Beans App": ("https://beansapp.com",
                  "https://www.beansapp.com/disbursements/registration?env=prod",
                  "api.beansapp.com", {"XLM", "USDC", "EURC"}),
}  # fmt: skip


@pytest.mark.parametrize(
    ("passphrase", "names"),
    [
        (
            "Public Global Stellar Network ; September 2015",
            {"Decaf", "Vesseo", "Beans App", "User Managed Wallet"},
        ),
        (
            "Test SDF Network ; September 2015",
            {"Demo Wallet", "Decaf", "Vesseo", "Via Wallet", "User Managed Wallet"},
        ),
    ],
)
def test_setup_for_network_seeds_sdp_wallets(passphrase, names):
    """SDP 6.5's wallets for the network, with their links, domains and
    assets; the user-managed wallet takes every asset of the network."""
    organization = Organization.objects.create(name="aid-org", display_name="Aid")
    with override_settings(NETWORK_PASSPHRASE=passphrase):
        call_command("setup_for_network", stdout=StringIO())
    wallets = {w.name: w for w in organization.wallets.all()}
    assert set(wallets) == names
    every = set(organization.assets.values_list("code", flat=True))
    user_managed = wallets["User Managed Wallet"]
    assert set(user_managed.assets.values_list("code", flat=True)) == every
    if passphrase.startswith("Public"):
        for name, (homepage, link, domain, codes) in SDP_PUBNET_WALLETS.items():
            wallet = wallets[name]
            assert (wallet.homepage, wallet.deep_link_schema) == (homepage, link)
            assert wallet.sep_10_client_domain == domain
            assert set(wallet.assets.values_list("code", flat=True)) == codes
            usdc = wallet.assets.get(code="USDC")
            assert usdc.issuer == provisioning.PUBNET_ASSETS[0].issuer


def test_setup_for_network_updates_an_older_seed(settings):
    """A tenant seeded before gets SDP's current links (as SDP's setup does),
    and keeps its own choice of enabled."""
    organization = Organization.objects.create(name="aid-org", display_name="Aid")
    organization.wallets.create(
        name="Vesseo", homepage="https://vesseoapp.com",
        deep_link_schema="https://vesseoapp.com/sdp",
        sep_10_client_domain="vesseoapp.com", enabled=False,
    )  # fmt: skip
    with override_settings(
        NETWORK_PASSPHRASE="Public Global Stellar Network ; September 2015"
    ):
        call_command("setup_for_network", stdout=StringIO())
    vesseo = organization.wallets.get(name="Vesseo")
    assert vesseo.deep_link_schema == "https://vesseoapp.com/disbursement"
    assert vesseo.enabled is False
    assert set(vesseo.assets.values_list("code", flat=True)) == {"XLM", "USDC"}
