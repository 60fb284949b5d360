"""A wallet's whole SEP-10/SEP-24 journey (stellar-sdk for the challenge), each
answer held against /openapi.json (tests/openapi_check.py): the challenge, the
token, the SEP-24 info, the interactive deposit, the transaction before and
after registration, and the registration JSON API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from tests.openapi_check import OpenAPI
from tests.receivers.conftest import DATE_OF_BIRTH, otp_from_outbox

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def test_wallet_journey_answers_as_documented(client, wallet, ready_receiver_wallet):
    openapi = OpenAPI(client.get("/openapi.json").json())

    def checked(method, path, response):
        openapi.check_response(method, path, response)
        return response

    challenge = checked(
        "GET",
        "/sep10/auth",
        wallet.get(
            "/sep10/auth",
            {
                "account": wallet.keypair.public_key,
                "home_domain": wallet.host,
                "client_domain": wallet.client_domain.domain,
            },
        ),
    )
    assert challenge.status_code == 200
    signed = wallet.sign(
        challenge.json()["transaction"], passphrase=settings.NETWORK_PASSPHRASE
    )
    openapi.check_request(
        "POST", "/sep10/auth", "application/json", {"transaction": signed}
    )
    token = checked("POST", "/sep10/auth", wallet.exchange(signed)).json()["token"]
    assert checked("GET", "/sep24/info", wallet.get("/sep24/info")).status_code == 200
    checked("POST", "/sep10/auth", wallet.exchange("post"))  # an error body

    deposit = checked(
        "POST",
        "/sep24/transactions/deposit/interactive",
        wallet.start_deposit(token),
    ).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    pending = checked(
        "GET",
        "/sep24/transaction",
        wallet.get("/sep24/transaction", {"id": deposit["id"]}, **auth),
    )
    assert pending.json()["transaction"]["status"] != "completed"

    sep24 = {
        "HTTP_AUTHORIZATION": "Bearer "
        + parse_qs(urlsplit(deposit["url"]).query)["token"][0]
    }
    info = wallet.get("/sep24-interactive-deposit/info", **sep24)
    assert checked("GET", "/sep24-interactive-deposit/info", info).status_code == 200
    otp_body = {"phone_number": PHONE}
    openapi.check_request(
        "POST", "/sep24-interactive-deposit/otp", "application/json", otp_body
    )
    sent = wallet.post_json("/sep24-interactive-deposit/otp", otp_body, **sep24)
    assert checked("POST", "/sep24-interactive-deposit/otp", sent).status_code == 200
    verification = {
        "phone_number": PHONE,
        "otp": otp_from_outbox(PHONE),
        "verification": DATE_OF_BIRTH,
        "verification_field": "DATE_OF_BIRTH",
    }
    openapi.check_request(
        "POST",
        "/sep24-interactive-deposit/verification",
        "application/json",
        verification,
    )
    registered = wallet.post_json(
        "/sep24-interactive-deposit/verification", verification, **sep24
    )
    checked("POST", "/sep24-interactive-deposit/verification", registered)
    assert registered.status_code == 200, registered.content

    # Registered, not yet paid: the platform owes the payment (issue 17, 4a).
    owed = checked(
        "GET",
        "/sep24/transaction",
        wallet.get("/sep24/transaction", {"id": deposit["id"]}, **auth),
    )
    assert owed.json()["transaction"]["status"] == "pending_anchor"
    history = checked(
        "GET",
        "/sep24/transactions",
        wallet.get("/sep24/transactions", {"asset_code": "USDC"}, **auth),
    )
    assert [t["id"] for t in history.json()["transactions"]] == [deposit["id"]]
    refused = checked("GET", "/sep24/transactions", wallet.get("/sep24/transactions"))
    assert refused.status_code == 403
    assert {
        ("GET", "/sep10/auth", 200),
        ("POST", "/sep10/auth", 200),
        ("POST", "/sep10/auth", 400),
        ("GET", "/sep24/info", 200),
        ("POST", "/sep24/transactions/deposit/interactive", 200),
        ("GET", "/sep24/transaction", 200),
        ("GET", "/sep24/transactions", 200),
        ("GET", "/sep24/transactions", 403),
        ("GET", "/sep24-interactive-deposit/info", 200),
        ("POST", "/sep24-interactive-deposit/otp", 200),
        ("POST", "/sep24-interactive-deposit/verification", 200),
    } <= openapi.checked
