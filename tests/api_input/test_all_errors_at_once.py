"""A validated write names every invalid field at once, and an invalid choice
lists the values allowed (issue 17 item 16)."""

from __future__ import annotations

import json
import uuid

import pytest

from disbursements.models import Disbursement

pytestmark = pytest.mark.django_db


def dashboard_draft(wallet, asset, **overrides):
    # The dashboard's "Create disbursement" body, as it sends it.
    body = {
        "name": "May payroll",
        "wallet_id": str(wallet.pk),
        "asset_id": str(asset.pk),
        "verification_field": "DATE_OF_BIRTH",
        "registration_contact_type": "PHONE_NUMBER",
        "receiver_registration_message_template": "",
    }
    return json.dumps({**body, **overrides})


def test_create_disbursement_names_every_invalid_field(api, wallet, usdc):
    body = dashboard_draft(
        wallet, usdc,
        name="",
        wallet_id=str(uuid.uuid4()),
        registration_contact_type="SMS",
        verification_field="PET_NAME",
    )  # fmt: skip
    response = api.post("/disbursements", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "name": "This field may not be blank.",
        "wallet_id": "wallet not found",
        "registration_contact_type": '"SMS" is not a valid choice; allowed values:'
        " EMAIL, EMAIL_AND_WALLET_ADDRESS, PHONE_NUMBER,"
        " PHONE_NUMBER_AND_WALLET_ADDRESS",
        "verification_field": '"PET_NAME" is not a valid choice; allowed values:'
        " DATE_OF_BIRTH, YEAR_MONTH, PIN, NATIONAL_ID_NUMBER",
    }
    assert not Disbursement.objects.exists()


def test_create_disbursement_multipart_names_every_invalid_field(api, wallet, usdc):
    wallet.enabled = False
    wallet.save()
    data = dashboard_draft(wallet, usdc, asset_id="nope", verification_field="X")
    response = api.post("/disbursements", {"data": data}, format="multipart")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "wallet_id", "asset_id", "verification_field",
    }  # fmt: skip


def test_an_unknown_wallet_alone_is_still_sdps_404(api, wallet, usdc):
    body = dashboard_draft(wallet, usdc, wallet_id=str(uuid.uuid4()))
    response = api.post("/disbursements", body, content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"error": "wallet not found"}


def test_a_valid_draft_is_created(api, wallet, usdc):
    body = dashboard_draft(wallet, usdc, verification_field="")
    response = api.post("/disbursements", body, content_type="application/json")
    assert response.status_code == 201, response.json()


def test_invite_user_names_every_invalid_field(api):
    body = {
        "first_name": "",
        "last_name": "Li",
        "email": "not-an-email",
        "roles": ["god"],
    }
    response = api.post("/users", body, format="json")
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert set(extras) == {"first_name", "email", "roles"}
    assert (
        extras["roles"].endswith(
            "allowed values: owner, financial_controller, developer, business,"
            " initiator, approver"
        )
        or "allowed values: " in extras["roles"]
    )


def test_user_roles_lists_the_allowed_roles(api):
    response = api.patch(
        "/users/roles", {"user_id": "x", "roles": ["god"]}, format="json"
    )
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert set(extras) == {"user_id", "roles"}
    assert "allowed values: " in extras["roles"]


def test_create_receiver_names_every_invalid_field(api, user_managed_wallet):
    # The dashboard's "Add receiver" modal body, every field wrong.
    body = {
        "email": "not-an-email",
        "phone_number": "12",
        "external_id": "",
        "verifications": [{"type": "PET_NAME", "value": "rex"}],
        "wallets": [{"address": "GNOTANADDRESS", "memo": ""}],
    }
    response = api.post("/receivers", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "email", "phone_number", "external_id", "verifications[0]", "wallets[0]",
    }  # fmt: skip


def test_direct_payment_names_every_invalid_field(api):
    body = {
        "amount": "-1",
        "asset": "USDC",
        "receiver": [],
        "external_payment_id": "x" * 65,
    }
    response = api.post("/payments", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "amount", "asset", "receiver", "external_payment_id",
    }  # fmt: skip


def test_tenant_admin_api_lists_the_allowed_statuses(client, settings):
    import base64

    settings.ADMIN_ACCOUNT, settings.ADMIN_API_KEY = "sdp-admin", "admin-key"
    auth = "Basic " + base64.b64encode(b"sdp-admin:admin-key").decode()
    response = client.post(
        "/admin-api/tenants",
        {"name": "x", "distribution_account_type": "PAPER"},
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 400
    assert "allowed values: " in response.json()["extras"]["distribution_account_type"]


def test_patch_receiver_names_every_invalid_field(api, user_managed_wallet):
    from tests.factories import ReceiverFactory

    receiver = ReceiverFactory(organization=user_managed_wallet.organization)
    body = {
        "email": "not-an-email",
        "date_of_birth": "1990-13-45",
        "external_id": ["x"],
        "favourite_colour": "red",
    }
    response = api.patch(f"/receivers/{receiver.pk}", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "email", "date_of_birth", "external_id", "favourite_colour",
    }  # fmt: skip
