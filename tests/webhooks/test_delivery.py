"""Delivery in-process against a real HTTP receiver: signatures verified by the
Standard Webhooks reference library, retries, order per object, giving up."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import standardwebhooks
from django.db import connection, transaction

from core.api import APIError
from disbursements.listeners import on_transactions_finished
from messaging.models import Message
from tests.auth_org.helpers import bearer
from tests.factories import OrganizationFactory, PaymentFactory, UserFactory
from webhooks import delivery, services
from webhooks.events import emit
from webhooks.models import Attempt, Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def deliver_all(rounds: int = 50) -> None:
    for _ in range(rounds):
        if not Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
            return
        delivery.deliver_batch()
    raise AssertionError("deliveries still pending")


@pytest.fixture
def endpoint(organization, receiver):
    return services.create_endpoint(tenant_id=organization.pk, url=receiver.url)


def test_a_delivery_verifies_with_the_reference_library(
    organization, endpoint, receiver
):
    _, secret = endpoint
    emit(organization.pk, "receiver.created", "r-1", {"id": "r-1", "email": "a@b.c"})
    delivery.deliver_batch()
    [got] = receiver.received
    payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "receiver.created"
    assert payload["data"] == {"id": "r-1", "email": "a@b.c"}
    event = Event.objects.get()
    assert got.headers["webhook-id"] == str(event.uid) == payload["id"]
    assert payload["tenant_id"] == str(organization.pk)
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(got.body + b" ", got.headers)
    other = services.create_endpoint(tenant_id=organization.pk, url=receiver.url)[1]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(got.body, got.headers)


def test_after_a_roll_both_secrets_verify(organization, endpoint, receiver):
    row, old = endpoint
    new = services.roll_secret(row)
    assert new != old
    assert new.startswith("whsec_")
    emit(organization.pk, "receiver.created", "r-1", {"id": "r-1"})
    delivery.deliver_batch()
    [got] = receiver.received
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(got.body, got.headers)


def test_an_event_no_endpoint_wants_is_not_written(organization, receiver):
    services.create_endpoint(
        tenant_id=organization.pk, url=receiver.url, event_types=["payment.failed"]
    )
    other_tenant = OrganizationFactory()
    services.create_endpoint(tenant_id=other_tenant.pk, url=receiver.url)
    assert emit(organization.pk, "receiver.created", "r-1", {"id": "r-1"}) == 0
    assert emit(organization.pk, "payment.failed", "p-1", {"id": "p-1"}) == 1
    assert Event.objects.count() == 1


def test_retries_until_the_receiver_recovers(
    organization, endpoint, receiver, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.001
    receiver.answer = lambda n, r: (503 if n <= 2 else 200, 0)
    emit(organization.pk, "receiver.created", "r-1", {"id": "r-1"})
    deliver_all()
    assert len(receiver.received) == 3
    assert {r.headers["webhook-id"] for r in receiver.received} == {
        str(Event.objects.get().uid)
    }
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.DELIVERED
    assert row.attempts == 3
    codes = list(Attempt.objects.order_by("pk").values_list("status_code", flat=True))
    assert codes == [503, 503, 200]


def test_events_of_one_object_arrive_in_order(
    organization, endpoint, receiver, settings
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.001
    first_of_a = []

    def answer(n, request):
        body = json.loads(request.body)
        if body["data"]["n"] == 1 and body["data"]["object"] == "a" and not first_of_a:
            first_of_a.append(n)
            return 500, 0
        return 200, 0

    receiver.answer = answer
    for n in (1, 2, 3):
        for name in ("a", "b"):
            emit(organization.pk, "payment.failed", name, {"object": name, "n": n})
    delivery.deliver_batch()
    # One batch: only the first event of each object may go; a failed.
    assert sorted(json.loads(r.body)["data"]["object"] for r in receiver.received) == [
        "a",
        "b",
    ]
    deliver_all()
    seen = [json.loads(r.body)["data"] for r in receiver.received]
    assert [d["n"] for d in seen if d["object"] == "a"] == [1, 1, 2, 3]
    assert [d["n"] for d in seen if d["object"] == "b"] == [1, 2, 3]


def test_giving_up_disables_the_endpoint_and_emails_the_owner(
    organization, endpoint, receiver, settings
):
    settings.WEBHOOK_RETRY_WINDOW_SECONDS = 0
    owner = UserFactory(organization=organization, roles=["owner"])
    receiver.answer = lambda n, r: (500, 0)
    emit(organization.pk, "receiver.created", "r-1", {"id": "r-1"})
    delivery.deliver_batch()
    row, _ = endpoint
    row.refresh_from_db()
    assert not row.enabled
    assert row.disabled_reason
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    assert Message.objects.filter(
        kind=Message.Kind.WEBHOOK_DISABLED, recipient=owner.email
    ).exists()


def test_a_payment_result_is_an_event_with_the_dashboards_json(
    organization, endpoint, client
):
    user = UserFactory(organization=organization, roles=["owner"])
    payment = PaymentFactory(organization=organization, status="PENDING")
    tx = SimpleNamespace(
        external_id=str(payment.pk),
        status="SUCCESS",
        stellar_transaction_hash="ab" * 32,
        distribution_account="G" + "A" * 55,
        status_message="",
    )
    with transaction.atomic():
        on_transactions_finished(sender=None, submitter_transactions=[tx])
    event = Event.objects.get(type="payment.succeeded")
    answer = client.get(f"/payments/{payment.pk}", headers=bearer(user))
    assert json.loads(event.data) == answer.json()
    assert event.object_id == str(payment.pk)


def test_an_endpoint_refuses_private_and_plain_http_urls_off_the_localnet(
    organization, settings
):
    settings.NETWORK_PASSPHRASE = settings.TESTNET_PASSPHRASE
    for url, why in [
        ("http://example.com/hook", "https"),
        ("https://127.0.0.1/hook", "not public"),
        ("https://10.1.2.3/hook", "not public"),
        ("https://169.254.169.254/latest", "not public"),
        ("https://[::1]/hook", "not public"),
    ]:
        with pytest.raises(APIError) as refused:
            services.create_endpoint(tenant_id=organization.pk, url=url)
        assert why in refused.value.extras["url"]
    assert not Endpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_deleted_during_a_delivery_leaves_no_error(
    organization, endpoint, receiver
):
    row, _ = endpoint
    emit(organization.pk, "receiver.created", "r-1", {"id": "r-1"})

    def delete_while_answering(n, request):
        Endpoint.objects.filter(pk=row.pk).delete()  # another connection
        connection.close()
        return 200, 0

    receiver.answer = delete_while_answering
    delivery.deliver_batch()
    assert len(receiver.received) == 1
    assert not Delivery.objects.exists()
    assert not Attempt.objects.exists()


def test_the_sweeper_sees_due_deliveries_only(organization, endpoint, receiver):
    assert not delivery.any_due()
    emit(organization.pk, "receiver.created", "r-1", {"id": "r-1"})
    assert delivery.any_due()
    delivery.deliver_batch()
    assert not delivery.any_due()
