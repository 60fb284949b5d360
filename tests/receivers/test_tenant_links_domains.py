"""A deactivated tenant serves no wallet (issue 16.9), wallet deep links never
become script URLs (16.10), and a client domain is never read from an internal
address (16.11)."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from stellar_sdk import Network

from auth_org import tenants
from auth_org.admin import WalletForm
from auth_org.models import Organization, Wallet
from receivers.models import ShortURL
from receivers.sep import domains
from sdp.safe_http import UnsafeURL, fetch_public
from tests.api2_fixtures import client_for
from tests.factories import UserFactory
from tests.receivers.test_registration import PHONE, Interactive

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- 16.9: a deactivated tenant ---------------------------------------------------


def test_deactivated_tenant_refuses_wallets_holding_earlier_tokens(
    wallet, tenant, ready_receiver_wallet
):
    sep10 = wallet.authenticate(django_settings.NETWORK_PASSPHRASE)
    body = wallet.start_deposit(sep10).json()
    sep24 = parse_qs(urlsplit(body["url"]).query)["token"][0]
    # A receiver already on the pages, and one about to open them.
    assert wallet.get(_path(body["url"])).status_code == 302
    page_client = wallet.client

    tenants.update_tenant(tenant, data={"status": Organization.Status.DEACTIVATED})
    tenant.refresh_from_db()
    assert tenant.status == Organization.Status.DEACTIVATED

    refused = {401, 403, 404}
    assert wallet.start_deposit(sep10).status_code in refused
    assert (
        wallet.get(
            "/sep24/transaction",
            {"id": body["id"]},
            HTTP_AUTHORIZATION=f"Bearer {sep10}",
        ).status_code
        in refused
    )
    api = Interactive(wallet, sep24)
    assert api.info().status_code in refused
    assert api.otp(phone_number=PHONE).status_code in refused
    assert api.verify("000000").status_code in refused
    assert wallet.get(_path(body["url"])).status_code == 403
    contact = page_client.get("/wallet-registration/contact", HTTP_HOST=wallet.host)
    assert contact.status_code == 403
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.otp_hash == ""


# --- 16.10: deep links --------------------------------------------------------------

HOSTILE_DEEP_LINKS = [
    "javascript:alert(1)",
    "JavaScript://%0aalert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
    "http://wallet.example.org/sdp",  # not on the local network: https only
    "wallet-without-slashes:sdp",
    "https:///no-host",
]


@pytest.fixture
def owner_api(organization):
    from auth_org.models import Role

    return client_for(UserFactory(organization=organization, roles=[Role.OWNER]))


def _wallet_body(deep_link: str) -> dict:
    return {
        "name": "Vibrant",
        "homepage": "https://vibrant.example.org",
        "deep_link_schema": deep_link,
        "sep_10_client_domain": "vibrant.example.org",
        "assets": [],
    }


@pytest.mark.parametrize("deep_link", HOSTILE_DEEP_LINKS)
def test_hostile_deep_links_are_refused_on_create_and_update(
    owner_api, organization, settings, deep_link
):
    settings.NETWORK_PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
    created = owner_api.post("/wallets", _wallet_body(deep_link), format="json")
    assert created.status_code == 400, created.json()
    assert "deep_link_schema" in created.json()["extras"]
    assert not Wallet.objects.filter(name="Vibrant").exists()

    good = owner_api.post("/wallets", _wallet_body("vibrant://sdp"), format="json")
    assert good.status_code == 201, good.json()
    patched = owner_api.patch(
        f"/wallets/{good.json()['id']}", {"deep_link_schema": deep_link}, format="json"
    )
    assert patched.status_code == 400
    assert "deep_link_schema" in patched.json()["extras"]
    assert Wallet.objects.get(name="Vibrant").deep_link_schema == "vibrant://sdp"

    form = WalletForm(data={"deep_link_schema": deep_link})
    form.is_valid()
    assert "deep_link_schema" in form.errors


@pytest.mark.parametrize(
    "deep_link",
    ["https://vibrant.example.org/sdp", "vibrant://sdp", "sdp-demo-wallet://register"],
)
def test_https_and_app_scheme_deep_links_are_accepted(owner_api, deep_link):
    created = owner_api.post("/wallets", _wallet_body(deep_link), format="json")
    assert created.status_code == 201, created.json()


@pytest.mark.parametrize(
    "stored",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "\tjavascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "vbscript:x",
    ],
)
def test_short_link_never_redirects_to_a_script_url(client, stored):
    ShortURL.objects.create(code="evil01", original_url=stored)
    response = client.get("/r/evil01")
    assert response.status_code == 404
    assert "Location" not in response


def test_short_link_still_redirects_to_an_app_scheme(client):
    ShortURL.objects.create(code="good01", original_url="wallet://sdp?x=1")
    response = client.get("/r/good01")
    assert response.status_code == 302
    assert response["Location"] == "wallet://sdp?x=1"


# --- 16.11: client domains ------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"]
)
def test_client_domain_on_an_internal_address_is_never_fetched(
    wallet, tenant, wallet_domain, settings, host
):
    """A wallet provider whose client domain names an internal host and port:
    an anonymous GET /sep10/auth must not make the server read it."""
    settings.NETWORK_PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
    internal = f"{host}:{wallet_domain.server.port}"
    Wallet.objects.filter(pk=tenant.test_wallet.pk).update(
        sep_10_client_domain=internal
    )
    settings.SEP10_CLIENT_DOMAIN_TOML_URL = (
        "http://{domain}/.well-known/stellar.toml?domain=" + wallet_domain.domain
    )
    wallet_domain.requests.clear()

    response = wallet.get(
        "/sep10/auth",
        {"account": wallet.keypair.public_key, "client_domain": internal},
    )

    assert response.status_code == 400
    assert "client_domain" in response.json()["error"]
    assert wallet_domain.requests == []


def test_client_domain_on_the_local_network_is_still_read(wallet, tenant):
    # The fixtures' wallet domain is a server on 127.0.0.1: allowed on the localnet.
    assert wallet.challenge()


def test_fetch_connects_to_the_address_it_checked(wallet_domain, monkeypatch):
    """DNS rebinding: the name is resolved once; a second, different answer is
    never used for the connection."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.255.255.1"])
    seen = []

    def rebinding(host, port, *args, **kwargs):
        if host == "wallet.rebind.test":
            address = next(answers)
            seen.append(address)
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = (
        f"http://wallet.rebind.test:{wallet_domain.server.port}"
        f"/.well-known/stellar.toml?domain={wallet_domain.domain}"
    )
    fetched = fetch_public(url, max_bytes=1024, allow_private=True, timeout=3)
    assert fetched.status == 200
    assert b"SIGNING_KEY" in fetched.body
    assert seen == ["127.0.0.1"]


def test_fetch_caps_the_size(wallet_domain):
    url = (
        f"http://127.0.0.1:{wallet_domain.server.port}"
        f"/.well-known/stellar.toml?domain={wallet_domain.domain}"
    )
    with pytest.raises(UnsafeURL, match="larger than"):
        fetch_public(url, max_bytes=10, allow_private=True)


def test_fetch_refuses_private_and_link_local_addresses():
    for url in [
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://0.0.0.0/x",
        "ftp://example.org/x",
    ]:
        with pytest.raises(UnsafeURL):
            fetch_public(url, max_bytes=1024)


def test_fetch_has_a_timeout(settings):
    """A host that accepts and never answers: the read gives up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        with pytest.raises(UnsafeURL):
            fetch_public(
                f"http://127.0.0.1:{port}/x",
                max_bytes=1024,
                allow_private=True,
                timeout=0.5,
            )
    finally:
        listener.close()
    assert domains.CLIENT_DOMAIN_TIMEOUT_SECONDS <= 10
