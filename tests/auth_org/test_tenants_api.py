"""The platform operator's tenant API (SDP's admin server), HTTP Basic."""

from __future__ import annotations

import base64
import json

import pytest

from auth_org.models import AuditEntry, Organization, User, Wallet
from messaging.models import Message
from tests.auth_org.helpers import bearer
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_headers(settings):
    settings.ADMIN_ACCOUNT = "sdp-admin"
    settings.ADMIN_API_KEY = "admin-api-key-value"
    token = base64.b64encode(b"sdp-admin:admin-api-key-value").decode()
    return {"Authorization": f"Basic {token}"}


def send(client, method, path, headers, body=None):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(path, **kwargs)


NEW_TENANT = {
    "name": "aid-org",
    "owner_email": "Owner@Aid.example.org",
    "owner_first_name": "Olu",
    "owner_last_name": "Ade",
    "organization_name": "Aid Org",
    "distribution_account_type": "DISTRIBUTION_ACCOUNT.STELLAR.DB_VAULT",
    "base_url": "https://aid-org.sdp.example.org",
    "sdp_ui_base_url": "https://aid-org.dashboard.example.org",
}


def test_basic_auth_is_required(client, admin_headers, user):
    assert client.get("/admin-api/tenants").status_code == 401
    wrong = base64.b64encode(b"sdp-admin:guess").decode()
    response = client.get(
        "/admin-api/tenants", headers={"Authorization": f"Basic {wrong}"}
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Not authorized."}
    # A dashboard session is no admin credential.
    assert client.get("/admin-api/tenants", headers=bearer(user)).status_code == 401


def test_provision_a_tenant(
    client, admin_headers, django_capture_on_commit_callbacks, monkeypatch
):
    from auth_org.tasks import provision_distribution_account_task

    queued = []
    monkeypatch.setattr(provision_distribution_account_task, "delay", queued.append)
    monkeypatch.setattr("messaging.services._enqueue", lambda *a: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", "/admin-api/tenants", admin_headers, NEW_TENANT)
    assert response.status_code == 201, response.content
    # The distribution account is set up on the network after the commit.
    assert queued == [response.json()["id"]]
    body = response.json()
    assert body["name"] == "aid-org"
    assert body["base_url"] == NEW_TENANT["base_url"]
    assert body["status"] == "TENANT_ACTIVATED"
    organization = Organization.objects.get(pk=body["id"])
    assert organization.display_name == "Aid Org"
    owner = User.objects.get(organization=organization)
    assert owner.email == "owner@aid.example.org"
    assert owner.roles == ["owner"]
    assert Wallet.objects.filter(organization=organization).exists()
    invitation = Message.objects.get(
        kind=Message.Kind.USER_INVITATION, user_id=owner.pk
    )
    assert (
        "https://aid-org.dashboard.example.org/reset-password?token=" in invitation.body
    )
    assert AuditEntry.objects.filter(
        action="tenant.created", organization=organization
    ).exists()

    again = send(client, "post", "/admin-api/tenants", admin_headers, NEW_TENANT)
    assert again.status_code == 400
    assert again.json()["error"] == "Tenant name already exists"


def test_urls_default_to_the_tenants_subdomain(client, admin_headers, settings):
    settings.BASE_URL = "https://sdp.example.org"
    settings.SDP_UI_BASE_URL = "https://dashboard.example.org:3000"
    body = {
        key: value
        for key, value in NEW_TENANT.items()
        if key not in ("base_url", "sdp_ui_base_url")
    }
    response = send(client, "post", "/admin-api/tenants", admin_headers, body)
    assert response.status_code == 201
    assert response.json()["base_url"] == "https://aid-org.sdp.example.org"
    assert (
        response.json()["sdp_ui_base_url"]
        == "https://aid-org.dashboard.example.org:3000"
    )


def test_invalid_tenant_name_is_400(client, admin_headers):
    response = send(
        client,
        "post",
        "/admin-api/tenants",
        admin_headers,
        {**NEW_TENANT, "name": "Bad Name!"},
    )
    assert response.status_code == 400
    assert "name" in response.json()["extras"]


def test_list_get_by_id_or_name(client, admin_headers, organization):
    listed = send(client, "get", "/admin-api/tenants/", admin_headers).json()
    assert organization.name in [row["name"] for row in listed]
    by_id = send(client, "get", f"/admin-api/tenants/{organization.pk}", admin_headers)
    by_name = send(
        client, "get", f"/admin-api/tenants/{organization.name}", admin_headers
    )
    assert by_id.json() == by_name.json()
    assert (
        send(client, "get", "/admin-api/tenants/nope", admin_headers).status_code == 404
    )


def test_deactivate_then_delete(client, admin_headers, organization):
    path = f"/admin-api/tenants/{organization.pk}"
    assert send(client, "delete", path, admin_headers).status_code == 400  # active
    response = send(
        client, "patch", path, admin_headers, {"status": "TENANT_DEACTIVATED"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "TENANT_DEACTIVATED"
    deleted = send(client, "delete", path, admin_headers)
    assert deleted.status_code == 200
    assert deleted.json()["deleted_at"]
    # A deleted tenant is no tenant for the dashboard any more.
    login = client.post(
        "/login",
        "{}",
        content_type="application/json",
        headers={"SDP-Tenant-Name": organization.name},
    )
    assert login.status_code == 400
    assert login.json() == {
        "error": "Tenant not found in context.",
        "extras": {"SDP-Tenant-Name": f"no active tenant named {organization.name!r}"},
    }


def test_default_tenant_cannot_be_deactivated(client, admin_headers):
    default = OrganizationFactory(is_default=True)
    response = send(
        client,
        "patch",
        f"/admin-api/tenants/{default.pk}",
        admin_headers,
        {"status": "TENANT_DEACTIVATED"},
    )
    assert response.status_code == 400


def test_bad_status_move_is_400(client, admin_headers, organization):
    response = send(
        client,
        "patch",
        f"/admin-api/tenants/{organization.pk}",
        admin_headers,
        {"status": "TENANT_CREATED"},
    )
    assert response.status_code == 400
    assert "status" in response.json()["extras"]


def test_default_tenant_needs_single_tenant_mode(
    client, admin_headers, organization, settings
):
    body = {"id": str(organization.pk)}
    assert (
        send(
            client, "post", "/admin-api/tenants/default-tenant", admin_headers, body
        ).status_code
        == 403
    )
    settings.SINGLE_TENANT_MODE = True
    old = OrganizationFactory(is_default=True)
    response = send(
        client, "post", "/admin-api/tenants/default-tenant", admin_headers, body
    )
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    old.refresh_from_db()
    assert old.is_default is False


def test_provisioning_through_the_django_admin(client, operator):
    client.force_login(operator)
    response = client.post(
        "/admin/auth_org/organization/add/",
        {
            "name": "field-org",
            "display_name": "Field Org",
            "base_url": "",
            "sdp_ui_base_url": "",
            "owner_email": "boss@field.example.org",
            "owner_first_name": "Bo",
            "owner_last_name": "Ss",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    organization = Organization.objects.get(name="field-org")
    assert User.objects.get(organization=organization).email == "boss@field.example.org"
    assert Message.objects.filter(kind=Message.Kind.USER_INVITATION).count() == 1
