"""SEP-1, SEP-10 and SEP-24 as a wallet (stellar-sdk) sees them, and the attacks."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from stellar_sdk import Keypair, TransactionEnvelope

from receivers.models import SepNonce
from receivers.sep.tokens import read_sep10_token, read_sep24_token
from receivers.sep.web_auth import delete_expired_nonces
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


# --- SEP-1 --------------------------------------------------------------------


def test_stellar_toml_describes_the_tenant(wallet, tenant):
    toml = wallet.toml()  # read by stellar-sdk's own fetch_stellar_toml

    base = f"http://{tenant.host}"
    assert toml["NETWORK_PASSPHRASE"] == settings.NETWORK_PASSPHRASE
    assert toml["SIGNING_KEY"] == settings.SEP10_SIGNING_PUBLIC_KEY
    assert toml["WEB_AUTH_ENDPOINT"] == f"{base}/sep10/auth"
    assert toml["TRANSFER_SERVER_SEP0024"] == f"{base}/sep24"
    assert toml["HORIZON_URL"] == settings.HORIZON_URL
    assert toml["ACCOUNTS"] == [
        tenant.distribution_account_address,
        settings.SEP10_SIGNING_PUBLIC_KEY,
    ]
    assert toml["DOCUMENTATION"]["ORG_NAME"] == "Aid Org"
    currencies = {c["code"]: c for c in toml["CURRENCIES"]}
    assert set(currencies) == {"USDC", "native"}
    assert currencies["USDC"]["issuer"] == tenant.test_asset.issuer
    assert currencies["native"]["anchor_asset_type"] == "crypto"


def test_stellar_toml_content_type_and_cors(client, tenant):
    response = client.get("/.well-known/stellar.toml", HTTP_HOST=tenant.host)

    assert response["Content-Type"].startswith("text/plain")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_stellar_toml_escapes_organization_name(client, tenant):
    tenant.display_name = 'Aid "Org"\n[x]'
    tenant.save()

    response = client.get("/.well-known/stellar.toml", HTTP_HOST=tenant.host)

    assert tomllib.loads(response.content.decode())["DOCUMENTATION"]["ORG_NAME"] == (
        'Aid "Org"\n[x]'
    )


def test_stellar_toml_of_another_tenant_lists_only_its_assets(client, tenant):
    other = OrganizationFactory(display_name="Other")

    response = client.get("/.well-known/stellar.toml", HTTP_SDP_TENANT_NAME=other.name)

    toml = tomllib.loads(response.content.decode())
    assert toml["DOCUMENTATION"]["ORG_NAME"] == "Other"
    assert "CURRENCIES" not in toml


# --- SEP-10 -------------------------------------------------------------------


def test_challenge_is_built_for_the_account_and_client_domain(wallet, wallet_domain):
    xdr = wallet.challenge()

    envelope = TransactionEnvelope.from_xdr(xdr, settings.NETWORK_PASSPHRASE)
    tx = envelope.transaction
    assert tx.sequence == 0
    assert tx.source.account_id == settings.SEP10_SIGNING_PUBLIC_KEY
    bounds = tx.preconditions.time_bounds
    assert bounds.max_time - bounds.min_time == 15 * 60
    names = [op.data_name for op in tx.operations]
    assert names == [f"{wallet.host} auth", "web_auth_domain", "client_domain"]
    assert tx.operations[0].source.account_id == wallet.keypair.public_key
    assert tx.operations[2].source.account_id == wallet_domain.keypair.public_key
    assert SepNonce.objects.filter(nonce=tx.operations[0].data_value.decode()).exists()


@pytest.mark.parametrize("port", ["", ":443", ":8443"])
def test_web_auth_domain_is_the_host_name_without_port(wallet, port):
    """SEP-10: the web auth domain is the domain name of the endpoint; clients
    compare it with the endpoint URL's host name (on 443 the Host header has no
    port, as an HTTPS client sends it behind the TLS proxy)."""
    wallet.host = wallet.host + port
    envelope = TransactionEnvelope.from_xdr(
        wallet.challenge(),
        settings.NETWORK_PASSPHRASE,
    )

    values = {
        op.data_name: op.data_value
        for op in envelope.transaction.operations
        if op.data_name == "web_auth_domain"
    }
    assert values == {"web_auth_domain": wallet.host.split(":")[0].encode()}
    assert (
        wallet.exchange(
            wallet.sign(wallet.challenge(), passphrase=settings.NETWORK_PASSPHRASE)
        ).status_code
        == 200
    )


def test_wallet_gets_a_token_for_its_account(wallet):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)

    identity = read_sep10_token(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert identity.account == wallet.keypair.public_key
    assert identity.client_domain == wallet.client_domain.domain
    assert identity.home_domain == wallet.host
    assert claims["exp"] - claims["iat"] == 2 * 3600
    assert claims["iss"] == f"http://{wallet.host}/sep10/auth"
    assert SepNonce.objects.count() == 0  # consumed


def test_token_subject_carries_the_id_memo(wallet):
    wallet.memo = "123456789"

    identity = read_sep10_token(wallet.authenticate(settings.NETWORK_PASSPHRASE))

    assert (identity.account, identity.memo) == (wallet.keypair.public_key, "123456789")


def test_form_encoded_challenge_is_accepted(wallet):
    signed = wallet.sign(wallet.challenge(), passphrase=settings.NETWORK_PASSPHRASE)

    response = wallet.client.post(
        "/sep10/auth", {"transaction": signed}, HTTP_HOST=wallet.host
    )

    assert response.status_code == 200, response.content


def test_replayed_challenge_is_refused(wallet):
    signed = wallet.sign(wallet.challenge(), passphrase=settings.NETWORK_PASSPHRASE)
    assert wallet.exchange(signed).status_code == 200

    replay = wallet.exchange(signed)

    assert replay.status_code == 400
    assert "already used" in replay.json()["error"]


def test_challenge_signed_by_the_wrong_key_is_refused(wallet):
    intruder = Keypair.random()
    signed = wallet.sign(
        wallet.challenge(),
        intruder,
        wallet.client_domain.keypair,
        passphrase=settings.NETWORK_PASSPHRASE,
    )

    response = wallet.exchange(signed)

    assert response.status_code == 400
    assert "invalid challenge" in response.json()["error"]


def test_challenge_without_the_client_domain_signature_is_refused(wallet):
    signed = wallet.sign(
        wallet.challenge(), wallet.keypair, passphrase=settings.NETWORK_PASSPHRASE
    )

    assert wallet.exchange(signed).status_code == 400


def test_expired_challenge_is_refused(wallet):
    signed = wallet.sign(wallet.challenge(), passphrase=settings.NETWORK_PASSPHRASE)

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = wallet.exchange(signed)

    assert response.status_code == 400


def test_challenge_forged_with_another_server_key_is_refused(wallet):
    from stellar_sdk.sep.stellar_web_authentication import (
        build_challenge_transaction,
    )

    forged = build_challenge_transaction(
        server_secret=Keypair.random().secret,
        client_account_id=wallet.keypair.public_key,
        home_domain=wallet.host,
        web_auth_domain=wallet.host,
        network_passphrase=settings.NETWORK_PASSPHRASE,
    )
    signed = wallet.sign(forged, wallet.keypair, passphrase=settings.NETWORK_PASSPHRASE)

    assert wallet.exchange(signed).status_code == 400


def test_oversized_xdr_is_refused(wallet):
    response = wallet.exchange("A" * (50 * 1024 + 1))

    assert response.status_code == 400
    assert "50 KB" in response.json()["error"]


def test_garbage_xdr_is_refused(wallet):
    assert wallet.exchange("not-xdr").status_code == 400


def test_client_domain_must_be_one_of_the_wallet_providers(wallet):
    response = wallet.get(
        "/sep10/auth",
        {"account": wallet.keypair.public_key, "client_domain": "evil.example"},
    )

    assert response.status_code == 400
    assert "client_domain" in response.json()["error"]


def test_client_domain_is_required_by_default(wallet):
    response = wallet.get("/sep10/auth", {"account": wallet.keypair.public_key})

    assert response.status_code == 400


def test_client_domain_is_optional_without_attribution(wallet, settings):
    settings.SEP10_CLIENT_ATTRIBUTION_REQUIRED = False
    xdr = wallet.challenge(client_domain="")

    response = wallet.exchange(
        wallet.sign(xdr, wallet.keypair, passphrase=settings.NETWORK_PASSPHRASE)
    )

    assert response.status_code == 200
    assert read_sep10_token(response.json()["token"]).client_domain == ""


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"account": "GBAD"}, "account"),
        ({"memo": "abc"}, "memo"),
        ({"home_domain": "elsewhere.example"}, "home_domain"),
    ],
)
def test_bad_challenge_requests_are_refused(wallet, params, fragment):
    query = {
        "account": wallet.keypair.public_key,
        "client_domain": wallet.client_domain.domain,
        **params,
    }

    response = wallet.get("/sep10/auth", query)

    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_existing_account_is_checked_against_its_signer_weights(wallet, horizon):
    cosigner = Keypair.random()
    horizon.add_account(
        wallet.keypair.public_key,
        [(wallet.keypair.public_key, 0), (cosigner.public_key, 10)],
        med=10,
    )
    xdr = wallet.challenge()
    by_master = wallet.sign(
        xdr,
        wallet.keypair,
        wallet.client_domain.keypair,
        passphrase=settings.NETWORK_PASSPHRASE,
    )
    by_cosigner = wallet.sign(
        xdr,
        cosigner,
        wallet.client_domain.keypair,
        passphrase=settings.NETWORK_PASSPHRASE,
    )

    assert wallet.exchange(by_master).status_code == 400  # master key disabled
    assert wallet.exchange(by_cosigner).status_code == 200


def test_signers_below_the_threshold_are_refused(wallet, horizon):
    horizon.add_account(
        wallet.keypair.public_key, [(wallet.keypair.public_key, 1)], med=5
    )

    signed = wallet.sign(wallet.challenge(), passphrase=settings.NETWORK_PASSPHRASE)

    assert wallet.exchange(signed).status_code == 400


def test_unreachable_horizon_does_not_fall_back_to_the_master_key(wallet, settings):
    signed = wallet.sign(wallet.challenge(), passphrase=settings.NETWORK_PASSPHRASE)
    settings.HORIZON_URL = "http://127.0.0.1:9"  # nothing listens there

    assert wallet.exchange(signed).status_code == 503


def test_expired_nonces_are_deleted():
    SepNonce.objects.create(nonce="old", expires_at=timezone.now() - timedelta(1))
    SepNonce.objects.create(nonce="live", expires_at=timezone.now() + timedelta(1))

    assert delete_expired_nonces() == 1
    assert list(SepNonce.objects.values_list("nonce", flat=True)) == ["live"]


def test_token_of_one_tenant_is_refused_by_another(wallet, tenant):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    other = OrganizationFactory()

    response = wallet.client.post(
        "/sep24/transactions/deposit/interactive",
        {"asset_code": "USDC"},
        HTTP_HOST=f"{other.name}.sdp.test",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 403
    assert response.json() == {"type": "authentication_required"}


# --- SEP-24 -------------------------------------------------------------------


def test_sep24_info_lists_the_tenant_assets(wallet):
    response = wallet.get("/sep24/info")
    body = response.json()

    assert response["Access-Control-Allow-Origin"] == "*"
    assert set(body["deposit"]) == {"USDC", "native"}
    assert body["deposit"]["USDC"] == {
        "enabled": True,
        "min_amount": 1,
        "max_amount": 10000,
    }
    # Withdraw is stated as not enabled, asset by asset, in the spec's form.
    assert body["withdraw"] == {
        "USDC": {"enabled": False},
        "native": {"enabled": False},
    }
    assert body["fee"] == {"enabled": False}
    assert body["features"] == {"account_creation": False, "claimable_balances": False}


def test_interactive_deposit_returns_a_url_with_a_token_for_the_transaction(wallet):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)

    response = wallet.start_deposit(token)

    body = response.json()
    assert response.status_code == 200, body
    assert body["type"] == "interactive_customer_info_needed"
    url = urlsplit(body["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.netloc, url.path) == (wallet.host, "/wallet-registration/start")
    assert query["transaction_id"] == body["id"]
    grant = read_sep24_token(query["token"], transaction_id=body["id"])
    assert grant.identity.account == wallet.keypair.public_key
    claims = jwt.decode(query["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300


def test_interactive_deposit_needs_a_known_asset(wallet):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)

    assert wallet.start_deposit(token, asset_code="usdc").status_code == 400
    assert wallet.start_deposit(token, asset_code="native").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("post", "/sep24/transactions/deposit/interactive", {"asset_code": "USDC"}),
        ("get", "/sep24/transaction", {"id": "00000000-0000-0000-0000-000000000000"}),
        ("get", "/sep24/transactions", {"asset_code": "USDC"}),
    ],
)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer garbage", "Basic x"]
)
def test_sep24_needs_a_sep10_token(wallet, method, path, params, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if method == "post":
        response = wallet.post_json(path, params, **headers)
    else:
        response = wallet.get(path, params, **headers)

    assert response.status_code == 403
    assert response.json() == {"type": "authentication_required"}
    assert response["Access-Control-Allow-Origin"] == "*"


def test_sep24_token_is_not_a_sep10_token(wallet):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    url = wallet.start_deposit(token).json()["url"]
    sep24_token = parse_qs(urlsplit(url).query)["token"][0]

    response = wallet.start_deposit(sep24_token)
    assert response.status_code == 403
    assert response.json() == {"type": "authentication_required"}


def test_a_token_only_sees_its_own_transactions(client, tenant, wallet_domain):
    from tests.receivers.conftest import Wallet

    alice = Wallet(client, tenant.host, wallet_domain)
    mallory = Wallet(client, tenant.host, wallet_domain)
    alice_tx = alice.start_deposit(alice.authenticate(settings.NETWORK_PASSPHRASE))
    mallory_token = mallory.authenticate(settings.NETWORK_PASSPHRASE)

    response = mallory.get(
        "/sep24/transaction",
        {"id": alice_tx.json()["id"]},
        HTTP_AUTHORIZATION=f"Bearer {mallory_token}",
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["/sep24/transactions", "/sep24/transaction", "/sep10/auth"]
)
def test_a_browser_wallet_on_any_origin_passes_the_preflight(wallet, path):
    response = wallet.client.options(
        path,
        HTTP_HOST=wallet.host,
        HTTP_ORIGIN="https://wallet.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "GET" in response["Access-Control-Allow-Methods"]
