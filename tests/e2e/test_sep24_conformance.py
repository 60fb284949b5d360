"""SEP-24 conformance, as a wallet lives it: stellar-sdk reads our stellar.toml
and checks the SEP-10 challenge with its own helpers, the wallet sends SEP-24's
requests as the spec writes them (multipart deposit, Bearer token), the receiver
fills the registration pages, a real Celery worker pays on the localnet, and
every answer on the way is checked against the JSON schema written from the
SEP-24 text (tests/receivers/sep24_schema.py)."""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client
from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction

from disbursements.models import Disbursement, Payment
from tests.factories import DisbursementFactory, PaymentFactory
from tests.receivers import sep24_schema as schema
from tests.receivers.conftest import (
    DATE_OF_BIRTH,
    Wallet,
    make_ready_receiver,
    make_tenant,
    otp_from_outbox,
)
from tests.tss.conftest import payments_on_ledger
from tss import accounts

PHONE = "+14155550177"
AMOUNT = Decimal("2.7500000")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


class SepWallet(Wallet):
    """The wallet's exact requests to TRANSFER_SERVER_SEP0024."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = ""

    def login(self) -> None:
        toml = self.toml()
        challenge = self.get(
            urlsplit(toml["WEB_AUTH_ENDPOINT"]).path,
            {
                "account": self.keypair.public_key,
                "home_domain": self.host,
                "client_domain": self.client_domain.domain,
            },
        ).json()
        assert challenge["network_passphrase"] == toml["NETWORK_PASSPHRASE"]
        # The wallet's own checks, by stellar-sdk's SEP-10 helper.
        read_challenge_transaction(
            challenge["transaction"],
            toml["SIGNING_KEY"],
            self.host,
            urlsplit(toml["WEB_AUTH_ENDPOINT"]).hostname,
            challenge["network_passphrase"],
        )
        signed = self.sign(
            challenge["transaction"], passphrase=challenge["network_passphrase"]
        )
        response = self.post_json(
            urlsplit(toml["WEB_AUTH_ENDPOINT"]).path, {"transaction": signed}
        )
        assert response.status_code == 200, response.content
        self.token = response.json()["token"]

    def auth(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

    def sep24(self, method: str, path: str, data=None, *, status=200, check=None):
        if method == "POST":
            # SEP-24: "placed in the request body using multipart/form-data".
            response = self.client.post(
                f"/sep24{path}", data or {}, HTTP_HOST=self.host, **self.auth()
            )
        else:
            response = self.get(f"/sep24{path}", data or {}, **self.auth())
        assert response.status_code == status, response.content
        assert response["Content-Type"].startswith("application/json")
        assert response["Access-Control-Allow-Origin"] == "*"
        body = response.json()
        schema.check(body, check or (schema.ERROR if status >= 400 else schema.ONE))
        return body


@pytest.mark.django_db(transaction=True)
def test_sep24_deposit_conformance_on_the_localnet(
    client, wallet_domain, settings, request
):
    localnet = request.getfixturevalue("network")
    request.getfixturevalue("tss_worker")
    request.getfixturevalue("channel_accounts")(1)
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
        amount=AMOUNT,
    )
    wallet = SepWallet(client, tenant.host, wallet_domain)
    localnet.friendbot(wallet.keypair.public_key)

    # /info, open to all.
    info = wallet.get("/sep24/info")
    assert info.status_code == 200
    schema.check(info.json(), schema.INFO)
    assert info.json()["withdraw"]["native"] == {"enabled": False}

    # Every authenticated endpoint, without a token.
    for method, path in (
        ("POST", "/transactions/deposit/interactive"),
        ("GET", "/transaction"),
        ("GET", "/transactions"),
    ):
        wallet.token = ""
        wallet.sep24(
            method,
            path,
            {"asset_code": "native"},
            status=403,
            check=schema.AUTHENTICATION_REQUIRED,
        )

    wallet.login()
    deposit = wallet.sep24(
        "POST",
        "/transactions/deposit/interactive",
        {"asset_code": "native", "lang": "en"},
        check=schema.INTERACTIVE,
    )
    tx = wallet.sep24("GET", "/transaction", {"id": deposit["id"]})["transaction"]
    assert (tx["status"], tx["kind"], tx["to"]) == (
        "incomplete",
        "deposit",
        wallet.keypair.public_key,
    )

    # The receiver fills the pages the wallet opened.
    contact = wallet.get(_path(deposit["url"]))["Location"]
    verify = wallet.client.post(
        contact, {"contact_kind": "phone", "phone_number": PHONE}, HTTP_HOST=wallet.host
    )["Location"]
    done = wallet.client.post(
        verify,
        {"otp": otp_from_outbox(PHONE), "verification_value": DATE_OF_BIRTH},
        HTTP_HOST=wallet.host,
    )
    assert done.status_code == 302, done.content.decode()

    # Until the payment lands, the platform owes it.
    deadline = time.monotonic() + 60
    statuses = []
    while time.monotonic() < deadline:
        tx = wallet.sep24("GET", "/transaction", {"id": deposit["id"]})["transaction"]
        if not statuses or statuses[-1] != tx["status"]:
            statuses.append(tx["status"])
        if tx["status"] in ("completed", "error"):
            break
        time.sleep(0.2)
    assert statuses[-1] == "completed", (statuses, tx)
    assert set(statuses) <= {"pending_anchor", "completed"}

    # What the ledger says is what the transaction says.
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS
    source = accounts.distribution_account_for(tenant.id)
    on_ledger = payments_on_ledger(localnet, wallet.keypair.public_key, source)
    assert [(Decimal(p["amount"]), p["transaction_hash"]) for p in on_ledger] == [
        (AMOUNT, tx["stellar_transaction_id"])
    ]
    assert tx["amount_in"] == tx["amount_out"] == "2.7500000"
    assert tx["amount_in_asset"] == tx["amount_out_asset"] == "stellar:native"
    assert tx["from"] == source

    # Every lookup finds the same transaction.
    for params in (
        {"stellar_transaction_id": tx["stellar_transaction_id"]},
        {"external_transaction_id": tx["external_transaction_id"]},
    ):
        found = wallet.sep24("GET", "/transaction", params)["transaction"]
        assert found == tx
    history = wallet.sep24(
        "GET",
        "/transactions",
        {"asset_code": "native", "kind": "deposit", "limit": "5"},
        check=schema.MANY,
    )
    assert history["transactions"] == [tx]
    assert wallet.sep24(
        "GET", "/transactions", {"asset_code": "USDC"}, check=schema.MANY
    ) == {"transactions": []}
    wallet.sep24("GET", "/transaction", {}, status=400)
    wallet.sep24(
        "GET",
        "/transaction",
        {"id": "5e2d3d0c-9c1e-4c55-8d5e-0b5d2d1f0a01"},
        status=404,
    )
    wallet.sep24("GET", "/transactions", {}, status=400)

    # more_info_url is a page anyone with the link can read, no cookie needed.
    page = Client().get(
        _path(tx["more_info_url"]), HTTP_HOST=urlsplit(tx["more_info_url"]).netloc
    )
    assert page.status_code == 200
    assert "2.7500000 XLM was sent to your wallet." in page.content.decode()
    assert localnet.passphrase == settings.NETWORK_PASSPHRASE
