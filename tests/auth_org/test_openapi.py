"""The OpenAPI schema, and a bounded schemathesis run against it: no 5xx."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.generation import GenerationMode

from tests.api2_fixtures import ledger  # noqa: F401 - the distribution account
from tests.auth_org.helpers import DEVICE_ID, bearer

pytestmark = pytest.mark.django_db


def test_schema_lists_the_dashboard_routes(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/login",
        "/mfa",
        "/profile",
        "/organization",
        "/users",
        "/api-keys/{id}",
    ):
        assert path in schema["paths"], path
    schemes = schema["components"]["securitySchemes"]
    assert schemes["sessionToken"]["scheme"] == "bearer"
    assert schemes["adminBasic"]["scheme"] == "basic"


def test_browsable_page(client):
    response = client.get("/openapi")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.fixture
def api_schema(db):
    from sdp.wsgi import application

    # As Django's test client does: the WSGI handler would otherwise close the
    # test's connection (and its transaction) at the end of every request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/openapi.json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def owner_headers(user, settings):
    settings.ADMIN_ACCOUNT = "sdp-admin"
    settings.ADMIN_API_KEY = "admin-key"
    return {
        **bearer(user),
        "SDP-Tenant-Name": user.organization.name,
        "Device-ID": DEVICE_ID,
    }


ADMIN_BASIC = "Basic " + base64.b64encode(b"sdp-admin:admin-key").decode()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_for_generated_requests(
    api_schema,
    owner_headers,
    ledger,  # noqa: F811 - /assets?enabled=true reads the account's trustlines
    settings,
    mode,
):
    """Up to 8 generated requests per operation, authenticated as an owner (Basic
    for the admin API): valid ones, then ones breaking the schema (the declared
    query parameters' types and enums, the bodies'). schemathesis's pytest plugin
    does not run on pytest 9, so each operation's strategy is driven by
    hypothesis directly."""
    settings.DISABLE_RECAPTCHA = True  # Google is not reachable: its 503 is right
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to break

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case):
            headers = dict(owner_headers)
            if case.path.startswith("/admin-api"):
                headers["Authorization"] = ADMIN_BASIC
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                case.method,
                case.path,
                response.text[:500],
            )
            if response.status_code >= 400:
                assert "error" in response.json()

        check()


def _has_input(operation) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))
