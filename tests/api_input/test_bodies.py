"""Hostile request bodies and paths (issue 16 item 13): a 4xx naming the field,
never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import DisbursementFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    payment = PaymentFactory(
        disbursement=disbursement, amount=Decimal("5"), asset=usdc,
        receiver_wallet__wallet=wallet,
    )  # fmt: skip
    return disbursement, payment


# The write routes that read request.data.get(...) or request.data.keys(): a JSON
# array, string or number as the body was a 500 (AttributeError).
WRITES = [
    ("patch", "/disbursements/{disbursement}/status"),
    ("patch", "/payments/retry"),
    ("patch", "/payments/{payment}/status"),
    ("patch", "/receivers/wallets/{receiver_wallet}/status"),
    ("patch", "/receivers/{receiver}"),
    ("post", "/disbursements"),
    ("post", "/sep10/auth"),
]


@pytest.mark.parametrize(("method", "url"), WRITES)
@pytest.mark.parametrize("body", ["[]", '["STARTED"]', '"STARTED"', "1", "null"])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_body_that_is_not_an_object_is_a_400(
    api, organization, objects, method, url, body, content_type
):
    disbursement, payment = objects
    url = url.format(
        disbursement=disbursement.pk,
        payment=payment.pk,
        receiver=payment.receiver_id,
        receiver_wallet=payment.receiver_wallet_id,
    )
    response = getattr(api, method)(
        url, body, content_type=content_type, HTTP_SDP_TENANT_NAME=organization.name
    )
    assert response.status_code == 400, response.content
    assert response.json()["extras"] == {"body": "the body must be a JSON object"}


def test_idempotent_write_with_an_array_body_is_a_400(api, objects):
    disbursement, _ = objects
    response = api.patch(
        f"/disbursements/{disbursement.pk}/status",
        "[1]",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert response.status_code == 400


def test_a_deeply_nested_body_is_a_400(api):
    body = "[" * 100_000 + "]" * 100_000
    response = api.post("/disbursements", body, content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["extras"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"status": "STARTED\\u0000"}', "status"),
        ('{"payment_ids": ["a", "\\u0000"]}', "payment_ids[1]"),
        ('{"a": {"b\\u0000": 1}}', "a.b?"),
    ],
)
def test_a_nul_character_in_a_body_is_a_400_naming_the_field(api, objects, body, field):
    response = api.patch("/payments/retry", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["extras"] == {field: "must not contain NUL characters"}


def test_a_nul_character_in_the_organization_data_is_a_400(api):
    response = api.patch(
        "/organization",
        {"data": '{"organization_name": "Aid\\u0000"}'},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "data.organization_name": "must not contain NUL characters"
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/r/x%00", "path"),
        ("/admin-api/tenants/x%00", "path"),
        ("/statistics?x=%00", "x"),
        ("/app-config?lang=%00", "lang"),
    ],
)
def test_a_nul_character_in_the_path_or_query_is_a_400(client, url, field):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["extras"] == {field: "must not contain NUL characters"}


def test_a_nul_character_in_the_tenant_header_is_an_unknown_tenant(client):
    response = client.get("/app-config", HTTP_SDP_TENANT_NAME="aid\x00org")
    assert response.status_code < 500


def test_a_truncated_sep10_challenge_is_a_400(client, organization):
    response = client.post(
        "/sep10/auth",
        {"transaction": "AAAA"},
        content_type="application/json",
        HTTP_SDP_TENANT_NAME=organization.name,
    )
    assert response.status_code == 400
