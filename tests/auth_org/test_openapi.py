"""The OpenAPI schema, and a bounded schemathesis run against it: no 5xx."""

from __future__ import annotations

import base64
import re

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings

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


def test_docs_page_loads_only_our_own_static_files(settings, tmp_path):
    """As in production: the image's collectstatic, whitenoise under gunicorn.
    The page names no other host (it was blank offline: Swagger UI came from a
    CDN), and every file it names answers."""
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    security = settings.MIDDLEWARE.index(
        "django.middleware.security.SecurityMiddleware"
    )
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: security + 1],
        "whitenoise.middleware.WhiteNoiseMiddleware",
        *settings.MIDDLEWARE[security + 1 :],
    ]
    client = Client()  # its handler loads the middleware above

    page = client.get("/openapi")
    html = page.content.decode()

    assert page.status_code == 200
    assert not re.findall(r"https?://|//[a-z]", html, re.IGNORECASE), html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert len(urls) >= 4, urls  # css, favicon, bundle, preset
    assert '"validatorUrl": null' in html
    for url in urls:
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(b"".join(response.streaming_content)) > 100, url
    # The schema the page loads is ours too.
    assert "'/openapi.json'" in html or '"/openapi.json"' in html, html
    assert client.get("/openapi.json").status_code == 200


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


def test_no_server_error_for_generated_requests(api_schema, owner_headers):
    """Up to 8 generated requests per operation, authenticated as an owner (Basic
    for the admin API). schemathesis's pytest plugin does not run on pytest 9, so
    each operation's strategy is driven by hypothesis directly."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
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
