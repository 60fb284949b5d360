"""Fixtures of the registration tests: a fake wallet domain and a fake Horizon
(tiny HTTP servers on 127.0.0.1), a tenant with an asset and a wallet provider, a
receiver waiting to register, and a wallet played by stellar-sdk."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.client.base_sync_client import BaseSyncClient
from stellar_sdk.client.response import Response
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml

from receivers.models import ReceiverVerification, ReceiverWallet
from receivers.verification import hash_verification_value
from sdp.middleware import get_redis, redis_key
from tests.factories import (
    AssetFactory,
    OrganizationFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
    WalletFactory,
)

WALLET_DOMAIN = "wallet.example.test"
DATE_OF_BIRTH = "1990-04-17"


class _Server:
    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeWalletDomain:
    """Serves the wallet's stellar.toml with its client-domain SIGNING_KEY."""

    def __init__(self):
        self.keypair = Keypair.random()
        self.domain = WALLET_DOMAIN
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests.append(self.path)
                query = parse_qs(urlsplit(self.path).query)
                if query.get("domain") != [fake.domain]:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = f'SIGNING_KEY = "{fake.keypair.public_key}"\n'.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = _Server(Handler)
        self.toml_url = (
            f"http://127.0.0.1:{self.server.port}/.well-known/stellar.toml"
            "?domain={domain}"
        )


class FakeHorizon:
    """Answers GET /accounts/<id>: 404, unless the test put the account in."""

    def __init__(self):
        self.accounts: dict[str, dict] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                account_id = urlsplit(self.path).path.rstrip("/").split("/")[-1]
                record = fake.accounts.get(account_id)
                body = json.dumps(
                    record or {"status": 404, "title": "Resource Missing"}
                )
                self.send_response(200 if record else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = _Server(Handler)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def add_account(self, account_id: str, signers: list[tuple[str, int]], med: int):
        self.accounts[account_id] = {
            "id": account_id,
            "account_id": account_id,
            "sequence": "1",
            "thresholds": {
                "low_threshold": 0,
                "med_threshold": med,
                "high_threshold": 0,
            },
            "signers": [
                {"key": key, "weight": weight, "type": "ed25519_public_key"}
                for key, weight in signers
            ],
        }


@pytest.fixture(autouse=True)
def _fresh_otp_send_limits():
    """Each test starts with no codes sent (the windows live in Redis)."""

    def clear():
        client = get_redis()
        keys = list(client.scan_iter(match=redis_key("otp-send", "*"), count=1000))
        if keys:
            client.delete(*keys)

    clear()
    yield
    clear()


@pytest.fixture(scope="session")
def _wallet_domain_server():
    fake = FakeWalletDomain()
    yield fake
    fake.server.close()


@pytest.fixture
def wallet_domain(_wallet_domain_server, settings):
    settings.SEP10_CLIENT_DOMAIN_TOML_URL = _wallet_domain_server.toml_url
    return _wallet_domain_server


@pytest.fixture(scope="session")
def _horizon_server():
    fake = FakeHorizon()
    yield fake
    fake.server.close()


@pytest.fixture
def horizon(_horizon_server, settings):
    settings.HORIZON_URL = _horizon_server.url
    _horizon_server.accounts.clear()
    yield _horizon_server
    _horizon_server.accounts.clear()


def make_tenant(wallet_domain: FakeWalletDomain, settings):
    settings.DISABLE_RECAPTCHA = True
    organization = OrganizationFactory(
        display_name="Aid Org", distribution_account_address=Keypair.random().public_key
    )
    asset = AssetFactory(organization=organization, code="USDC")
    native = AssetFactory(organization=organization, code="XLM", issuer="")
    wallet = WalletFactory(
        organization=organization, sep_10_client_domain=wallet_domain.domain
    )
    wallet.assets.add(asset, native)
    organization.test_asset = asset
    organization.test_native = native
    organization.test_wallet = wallet
    organization.host = f"{organization.name}.sdp.test"
    return organization


@pytest.fixture
def tenant(db, wallet_domain, horizon, settings):
    return make_tenant(wallet_domain, settings)


def make_ready_receiver(
    organization, wallet, *, phone="+14155550123", email=None, dob=DATE_OF_BIRTH
) -> ReceiverWallet:
    receiver = ReceiverFactory(
        organization=organization, phone_number=phone, email=email
    )
    ReceiverVerification.objects.create(
        receiver=receiver,
        verification_field="DATE_OF_BIRTH",
        hashed_value=hash_verification_value("DATE_OF_BIRTH", dob),
    )
    return ReceiverWalletFactory(
        receiver=receiver,
        organization=organization,
        wallet=wallet,
        status=ReceiverWallet.Status.READY,
    )


@pytest.fixture
def ready_receiver_wallet(tenant) -> ReceiverWallet:
    return make_ready_receiver(tenant, tenant.test_wallet)


class DjangoHTTP(BaseSyncClient):
    """stellar-sdk's HTTP client interface over Django's test client, so the
    SDK's own code reads our stellar.toml."""

    def __init__(self, client: Client, host: str):
        self.client = client
        self.host = host

    def get(self, url, params=None, max_content_size=None):
        path = urlsplit(url).path
        response = self.client.get(path, params or {}, HTTP_HOST=self.host)
        return Response(
            response.status_code,
            response.content.decode(),
            dict(response.headers),
            url,
        )

    def post(self, url, data=None, json_data=None):
        raise NotImplementedError

    def stream(self, url, params=None):
        raise NotImplementedError

    def close(self):
        pass


class Wallet:
    """A wallet app: SEP-1, SEP-10 and SEP-24 through stellar-sdk and HTTP."""

    def __init__(self, client: Client, host: str, client_domain: FakeWalletDomain):
        self.client = client
        self.host = host
        self.client_domain = client_domain
        self.keypair = Keypair.random()
        self.memo = ""

    def toml(self) -> dict:
        return dict(
            fetch_stellar_toml(self.host, client=DjangoHTTP(self.client, self.host))
        )

    def get(self, path, params=None, **headers):
        return self.client.get(path, params or {}, HTTP_HOST=self.host, **headers)

    def post_json(self, path, body, **headers):
        return self.client.post(
            path,
            json.dumps(body),
            content_type="application/json",
            HTTP_HOST=self.host,
            **headers,
        )

    def challenge(self, **overrides) -> str:
        params = {
            "account": self.keypair.public_key,
            "home_domain": self.host,
            "client_domain": self.client_domain.domain,
        }
        if self.memo:
            params["memo"] = self.memo
        params.update(overrides)
        response = self.get("/sep10/auth", params)
        assert response.status_code == 200, response.content
        return response.json()["transaction"]

    def sign(self, xdr: str, *signers: Keypair, passphrase: str) -> str:
        envelope = TransactionEnvelope.from_xdr(xdr, passphrase)
        for signer in signers or (self.keypair, self.client_domain.keypair):
            envelope.sign(signer)
        return envelope.to_xdr()

    def exchange(self, signed_xdr: str):
        return self.post_json("/sep10/auth", {"transaction": signed_xdr})

    def authenticate(self, passphrase: str) -> str:
        response = self.exchange(self.sign(self.challenge(), passphrase=passphrase))
        assert response.status_code == 200, response.content
        return response.json()["token"]

    def start_deposit(self, token: str, asset_code: str = "USDC"):
        return self.post_json(
            "/sep24/transactions/deposit/interactive",
            {"asset_code": asset_code, "lang": "en"},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )


@pytest.fixture
def wallet(client, tenant, wallet_domain) -> Wallet:
    return Wallet(client, tenant.host, wallet_domain)


def otp_from_outbox(recipient: str) -> str:
    from messaging.models import Message

    message = (
        Message.objects.filter(kind=Message.Kind.RECEIVER_OTP, recipient=recipient)
        .order_by("-created_at")
        .first()
    )
    assert message is not None, "no code was sent"
    return message.body[:6]
