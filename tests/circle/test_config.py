"""A Circle tenant's configuration as the dashboard sends it: PATCH
/organization/circle-config (checked with Circle, the key stored encrypted, the
distribution account ACTIVE), GET /balances, GET /organization; the tenant
admin API creates Circle tenants."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from auth_org.models import Organization, Role
from auth_org.provisioning import provision_distribution_account
from auth_org.tasks import provision_distribution_account_task
from circle.models import CircleAccount
from tests.api2_fixtures import client_for
from tests.factories import AssetFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _patch(client, body):
    # The dashboard sends the JSON as text/plain.
    return client.patch(
        "/organization/circle-config", data=json.dumps(body), content_type="text/plain"
    )


@pytest.fixture
def owner_api(circle_org):
    return client_for(UserFactory(organization=circle_org, roles=[Role.OWNER]))


def test_configure_then_read_balances_and_organization(
    owner_api, circle_org, circle_keys, offline_circle
):
    key, wallet_id = circle_keys
    usdc = AssetFactory(organization=circle_org, code="USDC")
    before = owner_api.get("/organization").json()["distribution_account"]
    assert before == {
        "address": "",
        "type": "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT",
        "status": "PENDING_USER_ACTIVATION",
        "circle_wallet_id": None,
    }
    assert owner_api.get("/balances").status_code == 400  # not configured yet

    response = _patch(owner_api, {"wallet_id": wallet_id, "api_key": key})
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Circle configuration updated"}
    stored = CircleAccount.objects.get(pk=circle_org.pk)
    assert stored.wallet_id == wallet_id
    assert key not in stored.encrypted_api_key  # encrypted at rest
    circle_org.refresh_from_db()
    assert circle_org.distribution_account_status == "ACTIVE"

    account = owner_api.get("/organization").json()["distribution_account"]
    assert account["status"] == "ACTIVE"
    assert account["circle_wallet_id"] == wallet_id
    balances = owner_api.get("/balances").json()
    assert balances == {
        "account": {
            "circle_wallet_id": wallet_id,
            "status": "ACTIVE",
            "type": "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT",
        },
        "balances": [
            {"amount": "50.00", "asset_code": "EURC", "asset_issuer": ""},
            {"amount": "100.00", "asset_code": "USDC", "asset_issuer": usdc.issuer},
        ],
    }
    # Only the wallet changes: the stored key is kept.
    other = offline_circle.add_wallet(key, USD="7")
    assert _patch(owner_api, {"wallet_id": other}).status_code == 200
    assert CircleAccount.objects.get(pk=circle_org.pk).wallet_id == other


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"wallet_id": "WALLET", "api_key": "not-a-key"},
            "Circle configuration rejected: Circle rejected the API key",
        ),
        (
            {"wallet_id": "999", "api_key": "KEY"},
            "Circle configuration rejected: Circle does not know wallet 999 for "
            "this API key",
        ),
        (
            {"api_key": "KEY"},
            "Circle configuration rejected: wallet_id and api_key are both "
            "required the first time",
        ),
    ],
)
def test_what_circle_refuses_is_not_stored(
    owner_api, circle_org, circle_keys, body, error
):
    key, wallet_id = circle_keys
    body = {
        name: {"KEY": key, "WALLET": wallet_id}.get(value, value)
        for name, value in body.items()
    }
    response = _patch(owner_api, body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert not CircleAccount.objects.filter(pk=circle_org.pk).exists()
    circle_org.refresh_from_db()
    assert circle_org.distribution_account_status == "PENDING_USER_ACTIVATION"


def test_circle_down_is_a_503(owner_api, circle_keys, offline_circle):
    offline_circle.set_faults(unavailable=1, all_requests=True)
    key, wallet_id = circle_keys
    response = _patch(owner_api, {"wallet_id": wallet_id, "api_key": key})
    assert response.status_code == 503
    assert response.json()["error"].startswith("Circle cannot be reached")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"wallet_id": "1\x00", "api_key": "k"}, "wallet_id"),
        ({"wallet_id": "1", "api_key": "k" * 300}, "api_key"),
        ({"wallet_id": "1\u202e", "api_key": "k"}, "wallet_id"),
        ({}, "wallet_id"),
    ],
)
def test_hostile_values_are_a_400(owner_api, body, field):
    response = _patch(owner_api, body)
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {field}


def test_stellar_tenants_get_sdps_400(organization):
    api = client_for(UserFactory(organization=organization, roles=[Role.OWNER]))
    expected = (
        "This endpoint is only available for tenants using "
        "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT"
    )
    assert api.get("/balances").json()["error"] == expected
    response = _patch(api, {"wallet_id": "1", "api_key": "k"})
    assert (response.status_code, response.json()["error"]) == (400, expected)


def test_only_the_owner_configures_circle(circle_org):
    controller = UserFactory(organization=circle_org, roles=[Role.FINANCIAL_CONTROLLER])
    response = _patch(client_for(controller), {"wallet_id": "1", "api_key": "k"})
    assert response.status_code == 403


def test_tenant_admin_api_creates_a_circle_tenant(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ADMIN_ACCOUNT = "sdp-admin"
    settings.ADMIN_API_KEY = "admin-api-key-value"
    token = base64.b64encode(b"sdp-admin:admin-api-key-value").decode()
    queued = []
    monkeypatch.setattr(provision_distribution_account_task, "delay", queued.append)
    monkeypatch.setattr("messaging.services._enqueue", lambda *a: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin-api/tenants",
            data=json.dumps(
                {
                    "name": "circle-org",
                    "owner_email": "owner@circle.example.org",
                    "owner_first_name": "Cy",
                    "owner_last_name": "Cle",
                    "organization_name": "Circle Org",
                    "distribution_account_type": "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT",
                }
            ),
            content_type="application/json",
            headers={"Authorization": f"Basic {token}"},
        )
    assert response.status_code == 201, response.content
    assert response.json()["distribution_account_type"] == (
        "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT"
    )
    organization = Organization.objects.get(pk=queued[0])
    # No Stellar account for a Circle tenant (no network here: a call would fail).
    assert provision_distribution_account(organization) == ""
    organization.refresh_from_db()
    assert organization.distribution_account_address == ""
    assert organization.distribution_account_status == "PENDING_USER_ACTIVATION"


def test_another_tenants_circle_account_is_not_visible(
    configured, circle_keys, offline_circle
):
    other = OrganizationFactory(
        distribution_account_type=Organization.DistributionAccountType.CIRCLE_DB_VAULT
    )
    api = client_for(UserFactory(organization=other, roles=[Role.OWNER]))
    assert (
        api.get("/organization").json()["distribution_account"]["circle_wallet_id"]
        is None
    )
    assert api.get("/balances").status_code == 400


def test_circle_assets_need_no_trustline(owner_api, configured, circle_keys):
    issuer = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
    response = owner_api.post(
        "/assets", data={"code": "USDC", "issuer": issuer}, format="json"
    )
    assert response.status_code in (200, 201), response.content
    assets = owner_api.get("/assets?enabled=true").json()
    [usdc] = [a for a in assets if a["code"] == "USDC"]
    assert usdc["issuer"] == issuer
    # The Circle wallet's USD balance stands for the asset's.
    assert usdc["has_trustline"] is True
    assert Decimal(str(usdc["balance"])) == Decimal("100")
    refused = owner_api.post(
        "/assets", data={"code": "ABC", "issuer": issuer}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["extras"] == {
        "code": "a Circle organization pays USDC and EURC only"
    }
    deleted = owner_api.delete(f"/assets/{usdc['id']}")
    assert deleted.status_code == 422  # the Circle wallet still holds USD
