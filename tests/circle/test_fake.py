"""The fake Circle answers as Circle documents: idempotency keys replay the
first answer (another body with the same key: 409), unknown wallets are 404,
a bad key 401, rate limits 429 with Retry-After; and the rail's client maps
those answers."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import requests
from stellar_sdk import Keypair

from circle.client import CircleClient, CircleError
from circle.models import TransferRequest
from disbursements.handoff import hand_off_payments
from disbursements.models import Payment
from tests.circle.conftest import ready_payment


def _transfer(fake, key, wallet_id, idempotency_key, amount="1.00", address=None):
    return requests.post(
        f"{fake.url}/v1/transfers",
        json={
            "idempotencyKey": idempotency_key,
            "source": {"type": "wallet", "id": wallet_id},
            "destination": {
                "type": "blockchain",
                "address": address or Keypair.random().public_key,
                "chain": "XLM",
            },
            "amount": {"amount": amount, "currency": "USD"},
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    )


def test_same_key_same_body_replays_the_transfer_another_body_is_409(
    offline_circle, circle_keys
):
    key, wallet_id = circle_keys
    address = Keypair.random().public_key
    idempotency_key = str(uuid.uuid4())
    first = _transfer(offline_circle, key, wallet_id, idempotency_key, address=address)
    again = _transfer(offline_circle, key, wallet_id, idempotency_key, address=address)
    assert first.status_code == again.status_code == 201
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert offline_circle.balance(wallet_id) == Decimal("99")  # debited once
    other = _transfer(offline_circle, key, wallet_id, idempotency_key, amount="2.00")
    assert other.status_code == 409
    assert set(other.json()) == {"code", "message"}


def test_wallets_keys_and_rate_limits(offline_circle, circle_keys):
    key, wallet_id = circle_keys
    client = CircleClient(key, base_url=offline_circle.url, timeout=2)
    wallet = client.wallet(wallet_id)
    assert wallet["walletId"] == wallet_id
    assert {"amount": "100.00", "currency": "USD"} in wallet["balances"]
    with pytest.raises(CircleError) as missing:
        client.wallet("42")
    assert (missing.value.status, missing.value.transient) == (404, False)
    with pytest.raises(CircleError) as unauthorized:
        CircleClient("nope", base_url=offline_circle.url).wallet(wallet_id)
    assert unauthorized.value.unauthorized
    offline_circle.set_faults(rate_limit=1, retry_after=3)
    with pytest.raises(CircleError) as limited:
        _ = client.create_transfer(
            idempotency_key=str(uuid.uuid4()),
            wallet_id=wallet_id,
            address=Keypair.random().public_key,
            memo="",
            amount=Decimal("1"),
            currency="USD",
        )
    assert (limited.value.status, limited.value.retry_after) == (429, 3)
    assert limited.value.transient


@pytest.mark.django_db
def test_a_409_keeps_the_payment_pending_never_failed(configured, offline_circle):
    """A key Circle says was used for another request: only an operator can
    tell what Circle made with it; failing the payment would allow a retry to
    pay twice."""
    from circle import services

    payment = ready_payment(configured)
    hand_off_payments(Payment.objects.filter(pk=payment.pk))
    request = TransferRequest.objects.get(external_id=str(payment.pk))
    # Circle already holds this key for another body.
    offline_circle.state.idempotency[str(request.idempotency_key)] = (
        "another",
        "transfer",
        "",
    )
    services.send_round()
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.PENDING
    assert "409" in request.status_message
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
