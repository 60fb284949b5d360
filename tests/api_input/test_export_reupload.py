"""An export is data, not a formula: it can be uploaded again (issue 17 item 18)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disbursements.models import Payment
from receivers.models import Receiver

pytestmark = pytest.mark.django_db

FIRST = (
    "phone,id,amount,verification\n"
    "+14155550101,r-1,10.5,1990-01-30\n"
    "+14155550102,=HYPERLINK(x),20,1985-12-01\n"
)


def create(api, wallet, asset, name, text):
    return api.post(
        "/disbursements",
        {
            "data": json.dumps(
                {
                    "name": name,
                    "wallet_id": str(wallet.pk),
                    "asset_id": str(asset.pk),
                    "registration_contact_type": "PHONE_NUMBER",
                    "verification_field": "DATE_OF_BIRTH",
                }
            ),
            "file": SimpleUploadedFile("a.csv", text.encode(), content_type="text/csv"),
        },
        format="multipart",
    )


def read(export) -> list[dict]:
    text = b"".join(export.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_payments_export_uploads_again(api, wallet, usdc):
    # As the dashboard: create with a file, then export the payments.
    response = create(api, wallet, usdc, "May", FIRST)
    assert response.status_code == 201, response.json()
    export = api.get("/exports/payments?status=DRAFT")
    assert export.status_code == 200
    rows = list(
        csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    )
    phones = sorted(row["Receiver.PhoneNumber"] for row in rows)
    assert phones == ["+14155550101", "+14155550102"]  # not '+14155550101
    # The formula an uploader typed is still neutralised.
    ids = sorted(row["Receiver.ExternalID"] for row in rows)
    assert ids == ["'=HYPERLINK(x)", "r-1"]

    # The export's columns, as the next month's instructions: the same receivers.
    again = io.StringIO()
    writer = csv.writer(again)
    writer.writerow(["phone", "id", "amount", "verification"])
    for row in rows:
        if row["Receiver.ExternalID"] == "r-1":
            phone, amount = row["Receiver.PhoneNumber"], row["Amount"]
            writer.writerow([phone, "r-1", amount, "1990-01-30"])
    response = create(api, wallet, usdc, "June", again.getvalue())
    assert response.status_code == 201, response.json()
    assert Receiver.objects.count() == 2
    june = Payment.objects.filter(disbursement_id=response.json()["id"]).get()
    assert june.receiver.phone_number == "+14155550101"
    assert str(june.amount) == "10.5000000"


def test_a_receivers_export_keeps_phones_as_they_are(api, wallet, usdc):
    assert create(api, wallet, usdc, "May", FIRST).status_code == 201
    export = api.get("/exports/receivers")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    )
    assert sorted(row["PhoneNumber"] for row in rows) == [
        "+14155550101",
        "+14155550102",
    ]
