"""Events written by the dashboard's own requests, in the changing
transaction, each with the object's JSON as the dashboard's API answers it."""

from __future__ import annotations

import json

import pytest
from stellar_sdk import Keypair

from disbursements.payments import cancel_payment
from messaging import services as messaging
from receivers.services import flag_wallet
from tests.factories import (
    DisbursementFactory,
    MessageFactory,
    PaymentFactory,
    ReceiverWalletFactory,
)
from webhooks import services
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(organization):
    return services.create_endpoint(
        tenant_id=organization.pk, url="http://127.0.0.1:9/hooks"
    )[0]


def events_of(object_id) -> list[str]:
    return list(
        Event.objects.filter(object_id=str(object_id))
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_a_disbursements_life_is_told_with_the_dashboards_json(
    api, endpoint, organization, wallet, usdc
):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    registered = PaymentFactory(
        disbursement=disbursement,
        organization=organization,
        asset=usdc,
        status="DRAFT",
        receiver_wallet__wallet=wallet,
        receiver_wallet__status="REGISTERED",
        receiver_wallet__stellar_address="G" + "B" * 55,
    )
    waiting = PaymentFactory(
        disbursement=disbursement,
        organization=organization,
        asset=usdc,
        status="DRAFT",
        receiver_wallet__wallet=wallet,
    )
    started = api.patch(
        f"/disbursements/{disbursement.pk}/status", {"status": "STARTED"}, format="json"
    )
    assert started.status_code == 200, started.content
    event = Event.objects.get(type="disbursement.started")
    assert json.loads(event.data) == api.get(f"/disbursements/{disbursement.pk}").json()
    submitted = Event.objects.get(type="payment.submitted")
    assert submitted.object_id == str(registered.pk)
    assert json.loads(submitted.data) == api.get(f"/payments/{registered.pk}").json()
    assert json.loads(submitted.data)["status"] == "PENDING"

    api.patch(
        f"/disbursements/{disbursement.pk}/status", {"status": "PAUSED"}, format="json"
    )
    assert events_of(disbursement.pk) == ["disbursement.started", "disbursement.paused"]
    api.patch(
        f"/disbursements/{disbursement.pk}/status", {"status": "STARTED"}, format="json"
    )
    waiting.refresh_from_db()
    cancel_payment(waiting, actor=None)
    assert events_of(waiting.pk) == ["payment.canceled"]
    assert json.loads(Event.objects.get(type="payment.canceled").data)["status"] == (
        "CANCELED"
    )
    # One delivery per event for the one endpoint.
    assert Delivery.objects.count() == Event.objects.count()


def test_a_created_receiver_and_a_flagged_wallet_are_events(
    api, endpoint, organization, user_managed_wallet
):
    created = api.post(
        "/receivers",
        {
            "email": "ana@example.com",
            "external_id": "ana-1",
            "verifications": [],
            "wallets": [{"address": Keypair.random().public_key}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    receiver_id = created.json()["id"]
    event = Event.objects.get(type="receiver.created")
    data = json.loads(event.data)
    assert data["id"] == receiver_id
    assert data["email"] == "ana@example.com"
    assert data["external_id"] == "ana-1"
    assert Event.objects.filter(type="receiver_wallet.registered").count() == 1

    receiver_wallet = ReceiverWalletFactory(
        organization=organization, status="REGISTERED"
    )
    flag_wallet(receiver_wallet, actor=None)
    flagged = Event.objects.get(type="receiver_wallet.flagged")
    assert json.loads(flagged.data)["status"] == "FLAGGED"
    assert flagged.object_id == str(receiver_wallet.pk)


def test_a_message_that_fails_for_good_is_an_event(endpoint, organization):
    message = MessageFactory(tenant_id=organization.pk, recipient="+15551234567")
    messaging._fail(message, "the number does not exist")
    event = Event.objects.get(type="message.failed")
    data = json.loads(event.data)
    assert data["id"] == str(message.pk)
    assert data["error"] == "the number does not exist"
    assert "+15551234567" not in event.data
