"""A missing or unknown SDP-Tenant-Name says which header and which tenant
(issue 17 item 17)."""

from __future__ import annotations

import pytest

from auth_org.models import Organization
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

LOGIN = {"email": "a@example.org", "password": "x", "recaptcha_token": "t"}


def login(client, **headers):
    return client.post("/login", LOGIN, content_type="application/json", **headers)


def test_unknown_tenant_names_the_header_and_the_tenant(client):
    response = login(client, HTTP_SDP_TENANT_NAME="Aid-Org-Typo")
    assert response.status_code == 400
    assert response.json() == {
        "error": "Tenant not found in context.",
        "extras": {"SDP-Tenant-Name": "no active tenant named 'Aid-Org-Typo'"},
    }


def test_deactivated_tenant_is_named_as_not_active(client):
    org = OrganizationFactory(status=Organization.Status.DEACTIVATED)
    response = login(client, HTTP_SDP_TENANT_NAME=org.name)
    assert response.json()["extras"] == {
        "SDP-Tenant-Name": f"no active tenant named {org.name!r}"
    }


def test_missing_header_says_the_header_is_required(client):
    response = login(client)
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "SDP-Tenant-Name": "the header is required: the name of the tenant (or a"
        " host whose first label is its name)"
    }


def test_unknown_host_label_names_the_host_and_the_header(client, settings):
    settings.ALLOWED_HOSTS = ["*"]
    response = login(client, HTTP_HOST="nosuch.sdp.example")
    assert response.json()["extras"] == {
        "Host": "no active tenant named 'nosuch' (the host's first label); or name"
        " one in the SDP-Tenant-Name header"
    }


def test_hostile_tenant_name_is_shown_printable_and_short(client):
    response = login(client, HTTP_SDP_TENANT_NAME="a\u202eb" + "x" * 500)
    message = response.json()["extras"]["SDP-Tenant-Name"]
    assert "\u202e" not in message
    assert len(message) < 120


def test_sep10_without_tenant_names_the_header(client):
    response = client.get("/sep10/auth?account=GA")
    assert response.status_code == 400
    assert "SDP-Tenant-Name" in response.json()["extras"]
