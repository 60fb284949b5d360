"""A validated write names every invalid field at once, and an invalid choice
lists the values allowed (issue 17 item 16)."""

from __future__ import annotations

import json
import uuid

import pytest

from disbursements.models import Disbursement
from tests.factories import DisbursementFactory, PaymentFactory, UserFactory

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


# --- the remaining validated writes (issue 17 item 16) ---------------------------

GOOD_ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def test_create_wallet_names_every_invalid_field(api, usdc):
    from auth_org.models import Wallet

    # The dashboard's "Add wallet" form, every field wrong.
    body = {
        "name": "",
        "homepage": "not a url",
        "deep_link_schema": "javascript:alert(1)",
        "sep_10_client_domain": "",
        "enabled": "maybe",
        "assets": [
            {"id": str(uuid.uuid4())},
            {"type": "classic", "code": "TOOLONGCODE123", "issuer": "GBAD"},
            {"type": "fiat", "code": "USD"},
        ],
    }
    response = api.post("/wallets", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "name", "homepage", "deep_link_schema", "sep_10_client_domain", "enabled",
        "assets[0]", "assets[1].code", "assets[1].issuer", "assets[2].type",
    }  # fmt: skip
    assert not Wallet.objects.filter(deep_link_schema__startswith="java").exists()
    from auth_org.models import Asset

    assert not Asset.objects.filter(code="TOOLONGCODE123").exists()


def test_update_wallet_names_every_invalid_field(api, wallet):
    body = {
        "homepage": "nope",
        "deep_link_schema": "data:text/html,x",
        "enabled": "maybe",
        "assets_ids": [str(uuid.uuid4()), "not-an-id"],
    }
    response = api.patch(f"/wallets/{wallet.pk}", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "homepage", "deep_link_schema", "enabled", "assets_ids[0]", "assets_ids[1]",
    }  # fmt: skip
    wallet.refresh_from_db()
    assert not wallet.deep_link_schema.startswith("data:")


def test_create_asset_names_the_code_and_the_issuer(api):
    response = api.post("/assets", {"code": "U$D", "issuer": "GBAD"}, format="json")
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "code": "invalid asset code",
        "issuer": "invalid issuer",
    }
    too_long = api.post(
        "/assets", {"code": "X" * 13, "issuer": "G" * 57}, format="json"
    )
    assert set(too_long.json()["extras"]) == {"code", "issuer"}


def test_create_api_key_names_every_invalid_field(api):
    from auth_org.models import APIKey

    # The dashboard's "Create API key" form, every field wrong.
    body = {
        "name": "",
        "permissions": ["read:all", "sudo"],
        "expiry_date": "yesterday-ish",
        "allowed_ips": ["10.0.0.300"],
    }
    response = api.post("/api-keys", body, format="json")
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert set(extras) == {"name", "permissions", "expiry_date", "allowed_ips"}
    assert '"sudo"' in extras["permissions"]
    assert "allowed values: read:all, read:disbursements" in extras["permissions"]
    assert not APIKey.objects.exists()

    past = api.post(
        "/api-keys",
        {"name": "k", "permissions": ["nope"], "expiry_date": "2001-01-01T00:00:00Z"},
        format="json",
    )
    assert set(past.json()["extras"]) == {"permissions", "expiry_date"}


def test_update_api_key_names_every_invalid_field(api):
    created = api.post(
        "/api-keys", {"name": "ci", "permissions": ["read:all"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    key_id = created.json()["id"]
    response = api.patch(
        f"/api-keys/{key_id}",
        {"permissions": ["write:moon"], "allowed_ips": "10.0.0.0/40"},
        format="json",
    )
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert set(extras) == {"permissions", "allowed_ips"}
    assert "allowed values: " in extras["permissions"]


def test_update_organization_names_every_invalid_field(api, organization):
    # The dashboard's settings form: multipart, the settings as JSON in "data".
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = json.dumps(
        {
            "organization_name": "",
            "timezone_utc_offset": "GMT+1",
            "is_approval_required": "yes",
            "privacy_policy_link": "not a link",
        }
    )
    logo = SimpleUploadedFile("logo.gif", b"GIF89a....", content_type="image/gif")
    response = api.patch(
        "/organization", {"data": data, "logo": logo}, format="multipart"
    )
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {
        "organization_name", "timezone_utc_offset", "is_approval_required",
        "privacy_policy_link", "logo",
    }  # fmt: skip
    organization.refresh_from_db()
    assert organization.display_name


def test_update_profile_names_every_invalid_field(api, owner, organization):
    UserFactory(organization=organization, email="taken@example.org")
    body = {"first_name": "x" * 200, "last_name": "y" * 200, "email": "not-an-email"}
    response = api.patch("/profile", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {"first_name", "last_name", "email"}

    taken = api.patch(
        "/profile",
        {"first_name": "z" * 129, "email": "taken@example.org"},
        format="json",
    )
    assert taken.json()["extras"]["email"] == "A user with this email already exists."
    assert set(taken.json()["extras"]) == {"first_name", "email"}
    owner.refresh_from_db()
    assert owner.email != "taken@example.org"


@pytest.mark.parametrize(
    ("sent", "shown"), [("FINISHED", '"FINISHED"'), (42, '"42"'), ("", '""')]
)
def test_disbursement_status_lists_the_allowed_values(api, organization, sent, shown):
    disbursement = DisbursementFactory(organization=organization)
    response = api.patch(
        f"/disbursements/{disbursement.pk}/status", {"status": sent}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "status": f"{shown} is not a valid choice; allowed values: STARTED, PAUSED"
    }
    disbursement.refresh_from_db()
    assert disbursement.status == Disbursement.Status.DRAFT


def test_disbursement_status_missing_is_named(api, organization):
    disbursement = DisbursementFactory(organization=organization)
    response = api.patch(f"/disbursements/{disbursement.pk}/status", {}, format="json")
    assert response.json()["extras"] == {"status": "This field is required."}


def test_payment_status_lists_the_allowed_values(api, organization):
    payment = PaymentFactory(disbursement__organization=organization)
    response = api.patch(
        f"/payments/{payment.pk}/status", {"status": "PAID"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "status": '"PAID" is not a valid choice; allowed values: CANCELED'
    }
    payment.refresh_from_db()
    assert payment.status != "CANCELED"
