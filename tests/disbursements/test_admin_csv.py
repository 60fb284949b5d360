"""A disbursement run from the admin alone (issue 18, item 10): "Add
disbursement" takes the CSV through the API's service, with the API's row
errors; the start action then starts it. Real admin POSTs as a superuser."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disbursements.models import Disbursement, Payment

pytestmark = pytest.mark.django_db

GOOD = (
    "phone,id,amount,verification\n"
    "+14155550101,emp-1,10.50,1990-01-30\n"
    "+14155550102,emp-2,4,1985-12-01\n"
)
BAD = (
    "phone,id,amount,verification\n"
    "+14155550101,emp-1,ten,1990-01-30\n"
    "not-a-phone,emp-2,4,1985-12-01\n"
)


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def add(staff, organization, wallet, usdc, csv: str | None, name="From the admin"):
    data = {
        "organization": str(organization.pk),
        "name": name,
        "wallet": str(wallet.pk),
        "asset": str(usdc.pk),
        "registration_contact_type": "PHONE_NUMBER",
        "verification_field": "DATE_OF_BIRTH",
        "receiver_registration_message_template": "",
    }
    if csv is not None:
        data["instructions"] = SimpleUploadedFile(
            "payroll.csv", csv.encode(), content_type="text/csv"
        )
    return staff.post(reverse("admin:disbursements_disbursement_add"), data)


def test_add_with_a_csv_then_start_from_the_admin(staff, operator, organization,
                                                  wallet, usdc):  # fmt: skip
    page = staff.get(reverse("admin:disbursements_disbursement_add"))
    assert 'type="file" name="instructions"' in page.content.decode()
    response = add(staff, organization, wallet, usdc, GOOD)
    assert response.status_code == 302, response.context["adminform"].form.errors
    disbursement = Disbursement.objects.get(name="From the admin")
    assert disbursement.status == "READY"
    assert disbursement.file_name == "payroll.csv"
    assert disbursement.created_by_id == operator.pk
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [4, 10.5]
    response = staff.post(
        reverse("admin:disbursements_disbursement_changelist"),
        {"action": "start", "_selected_action": [str(disbursement.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    disbursement.refresh_from_db()
    assert disbursement.status == "STARTED"
    assert set(Payment.objects.values_list("status", flat=True)) == {"READY"}


def test_without_a_file_it_is_a_draft(staff, organization, wallet, usdc):
    assert add(staff, organization, wallet, usdc, None).status_code == 302
    assert Disbursement.objects.get().status == "DRAFT"


def test_row_errors_are_the_apis_and_nothing_is_written(staff, api, organization,
                                                        wallet, usdc):  # fmt: skip
    response = add(staff, organization, wallet, usdc, BAD)
    assert response.status_code == 200
    shown = response.context["adminform"].form.non_field_errors()
    assert not Disbursement.objects.exists()
    assert not Payment.objects.exists()
    # The API's answer to the same file.
    api_response = api.post(
        "/disbursements",
        {
            "data": json.dumps({
                "name": "From the API", "wallet_id": str(wallet.pk),
                "asset_id": str(usdc.pk),
                "registration_contact_type": "PHONE_NUMBER",
                "verification_field": "DATE_OF_BIRTH",
            }),
            "file": SimpleUploadedFile("payroll.csv", BAD.encode()),
        },
        format="multipart",
    )  # fmt: skip
    assert api_response.status_code == 400, api_response.content
    body = api_response.json()
    assert len(body["extras"]) == 2
    assert list(shown) == [body["error"]] + [
        f"{key}: {value}" for key, value in body["extras"].items()
    ]
    page = response.content.decode()
    for key in body["extras"]:
        assert key in page


def test_an_asset_of_another_organization_is_refused(staff, organization, wallet):
    from tests.factories import AssetFactory

    foreign = AssetFactory(code="EURC")
    response = add(staff, organization, wallet, foreign, GOOD)
    assert response.status_code == 200
    assert "not an asset of this organization" in response.content.decode()
    assert not Disbursement.objects.exists()
