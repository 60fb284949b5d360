"""The webhook routes with the dashboard's requests: the secret shown once,
changes audited, bad input named, deliveries with their attempts."""

from __future__ import annotations

import json

import pytest

from auth_org.models import AuditEntry
from tests.auth_org.helpers import bearer
from tests.factories import UserFactory
from webhooks import delivery
from webhooks.events import emit
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def developer(organization):
    return UserFactory(organization=organization, roles=["developer"])


def call(client, method, path, user, body=None):
    return getattr(client, method)(
        path,
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers=bearer(user),
    )


def test_the_secret_is_shown_once_and_changes_are_audited(client, developer, receiver):
    created = call(
        client,
        "post",
        "/webhooks",
        developer,
        {"url": receiver.url, "event_types": ["payment.failed"], "description": "ERP"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["payment.failed"]
    assert body["enabled"] is True
    shown = call(client, "get", f"/webhooks/{body['id']}", developer).json()
    assert "secret" not in shown
    listed = call(client, "get", "/webhooks", developer).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]

    changed = call(
        client, "patch", f"/webhooks/{body['id']}", developer, {"enabled": False}
    )
    assert changed.json()["enabled"] is False
    rolled = call(client, "post", f"/webhooks/{body['id']}/secret", developer)
    assert rolled.json()["secret"].startswith("whsec_")
    assert rolled.json()["secret"] != body["secret"]
    assert (
        call(client, "delete", f"/webhooks/{body['id']}", developer).status_code == 204
    )
    assert not Endpoint.objects.exists()
    actions = list(
        AuditEntry.objects.filter(organization=developer.organization)
        .order_by("created_at", "pk")
        .values_list("action", "changes")
    )
    assert [a for a, _ in actions] == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rolled",
        "webhook.deleted",
    ]
    assert body["secret"] not in json.dumps([c for _, c in actions])
    assert rolled.json()["secret"] not in json.dumps([c for _, c in actions])


def test_bad_input_names_the_field_and_writes_nothing(client, developer, settings):
    settings.NETWORK_PASSPHRASE = settings.TESTNET_PASSPHRASE
    for body, field in [
        ({"url": "http://example.com/x"}, "url"),
        ({"url": "https://127.0.0.1/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://[::1"}, "url"),
        ({}, "url"),
        ({"url": "https://127.0.0.1/x", "event_types": ["payment.lost"]}, None),
        (
            {"url": "https://93.184.215.14/x", "event_types": ["payment.lost"]},
            "event_types",
        ),
        ({"url": "https://93.184.215.14/x", "enabled": "maybe"}, "enabled"),
    ]:
        answer = call(client, "post", "/webhooks", developer, body)
        assert answer.status_code == 400, (body, answer.content)
        if field:
            assert field in answer.json()["extras"], (body, answer.json())
    assert not Endpoint.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="webhook.").exists()


def test_deliveries_show_attempts_and_answers(client, developer, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.001
    created = call(client, "post", "/webhooks", developer, {"url": receiver.url})
    receiver.answer = lambda n, r: (502 if n == 1 else 200, 0)
    emit(developer.organization_id, "payment.failed", "p-1", {"id": "p-1"})
    for _ in range(5):
        delivery.deliver_batch()
    listed = call(
        client, "get", f"/webhooks/{created.json()['id']}/deliveries", developer
    )
    [row] = listed.json()
    assert row["status"] == "DELIVERED"
    assert row["event_type"] == "payment.failed"
    assert [a["status_code"] for a in row["attempts"]] == [502, 200]
    assert row["attempts"][0]["response_body"] == "try later"
