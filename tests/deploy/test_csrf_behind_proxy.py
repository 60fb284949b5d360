"""Form posts through a TLS-terminating proxy: the admin login as the browser
sends it behind nginx (https origin, the proxy's X-Forwarded-Proto)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import TEST_PASSWORD, OrganizationFactory

pytestmark = pytest.mark.django_db

HOST = "sdp.example.org"


def _login(client: Client, operator, *, origin: str, proto: str = "https", **headers):
    page = client.get("/admin/login/", HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO=proto)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": operator.email, "password": TEST_PASSWORD,
         "csrfmiddlewaretoken": token},
        HTTP_HOST=HOST,
        HTTP_ORIGIN=origin,
        HTTP_X_FORWARDED_PROTO=proto,
        **headers,
    )  # fmt: skip


@pytest.fixture
def behind_proxy(settings):
    settings.ALLOWED_HOSTS = [HOST, f".{HOST}"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CSRF_TRUSTED_ORIGINS = []
    return settings


def test_admin_login_through_the_proxy_passes_csrf(behind_proxy, operator):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, operator, origin=f"https://{HOST}")
    assert response.status_code == 302, response.text[:300]
    assert response["Location"] == "/admin/"


def test_without_the_trusted_header_an_https_origin_is_refused(
    settings, operator, caplog
):
    # Today's main: the proxy's scheme unseen, the https origin does not match.
    settings.ALLOWED_HOSTS = [HOST]
    settings.CSRF_TRUSTED_ORIGINS = []
    client = Client(enforce_csrf_checks=True)
    response = _login(client, operator, origin=f"https://{HOST}")
    assert response.status_code == 403
    assert "does not match any trusted origins" in caplog.text


def test_trusted_origins_cover_it_without_the_header(settings, operator):
    settings.ALLOWED_HOSTS = [HOST]
    settings.CSRF_TRUSTED_ORIGINS = [f"https://{HOST}"]
    client = Client(enforce_csrf_checks=True)
    assert _login(client, operator, origin=f"https://{HOST}").status_code == 302


def test_another_origin_is_still_refused(behind_proxy, operator):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, operator, origin="https://evil.example.net")
    assert response.status_code == 403


def test_a_tenants_own_base_url_is_trusted_for_that_tenant_only(behind_proxy, operator):
    OrganizationFactory(name="acme", base_url="https://pay.acme.example")
    OrganizationFactory(name="other", base_url="https://pay.other.example")
    client = Client(enforce_csrf_checks=True)
    ok = _login(
        client, operator, origin="https://pay.acme.example", HTTP_SDP_TENANT_NAME="acme"
    )
    assert ok.status_code == 302
    client = Client(enforce_csrf_checks=True)
    other = "https://pay.other.example"
    refused = _login(client, operator, origin=other, HTTP_SDP_TENANT_NAME="acme")
    assert refused.status_code == 403
