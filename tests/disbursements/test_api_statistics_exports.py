"""GET /statistics[/{id}] (dashboard §2.3) and the CSV exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from auth_org.models import AuditEntry, Role
from tests.api2_fixtures import client_for, role_user
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(organization, wallet, usdc):
    first = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED",
        name="=cmd|' /C calc'!A0",
    )  # fmt: skip
    second = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="COMPLETED"
    )
    xlm = AssetFactory(organization=organization, code="XLM", issuer="")
    rows = [
        (first, "SUCCESS", "10", usdc),
        (first, "FAILED", "4", usdc),
        (first, "READY", "6", usdc),
        (second, "SUCCESS", "20", usdc),
        (second, "CANCELED", "1", xlm),
    ]
    for disbursement, status, amount, asset in rows:
        PaymentFactory(
            disbursement=disbursement,
            status=status,
            amount=Decimal(amount),
            asset=asset,
            receiver_wallet__wallet=wallet,
            receiver_wallet__status="REGISTERED",
            receiver_wallet__receiver__external_id="@SUM(A1:A9)",
        )
    PaymentFactory(status="SUCCESS")  # another tenant
    return first, second


def test_statistics_shape_and_figures(api, data):
    body = api.get("/statistics").json()
    assert body["payment_counters"] == {
        "canceled": 1, "draft": 0, "ready": 1, "pending": 0, "paused": 0,
        "success": 2, "failed": 1, "total": 5,
    }  # fmt: skip
    assert body["receiver_wallets_counters"] == {
        "draft": 0, "ready": 0, "registered": 5, "flagged": 0, "total": 5,
    }  # fmt: skip
    by_asset = {
        a["asset_code"]: a["payment_amounts"] for a in body["payment_amounts_by_asset"]
    }
    assert by_asset["USDC"] == {
        "canceled": "0.0000000", "draft": "0.0000000", "ready": "6.0000000",
        "pending": "0.0000000", "paused": "0.0000000", "success": "30.0000000",
        "failed": "4.0000000", "average": "10.0000000", "total": "40.0000000",
    }  # fmt: skip
    assert by_asset["XLM"]["canceled"] == "1.0000000"
    assert body["total_disbursements"] == 2
    assert body["total_receivers"] == 5


def test_statistics_of_one_disbursement(api, data):
    first, _ = data
    body = api.get(f"/statistics/{first.pk}").json()
    assert body["payment_counters"]["total"] == 3
    assert body["total_disbursements"] == 1
    assert body["total_receivers"] == 3
    assert [a["asset_code"] for a in body["payment_amounts_by_asset"]] == ["USDC"]


def test_statistics_empty_and_for_developers(organization):
    developer = client_for(role_user(organization, Role.DEVELOPER))
    body = developer.get("/statistics").json()
    assert body["payment_counters"]["total"] == 0
    assert body["payment_amounts_by_asset"] == []


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


def test_export_payments_is_safe_and_audited(api, data, owner):
    response = api.get("/exports/payments?status=SUCCESS")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=payments_")
    assert disposition.endswith(".csv")
    assert '"' not in disposition
    rows = read_csv(response)
    assert rows[0][:5] == ["ID", "Amount", "StellarTransactionID", "Status", "Type"]
    assert len(rows) == 3
    external_ids = {row[rows[0].index("Receiver.ExternalID")] for row in rows[1:]}
    assert external_ids == {"'@SUM(A1:A9)"}
    entry = AuditEntry.objects.get(action="export.payments")
    assert entry.actor_id == owner.pk
    assert entry.changes == {"filters": {"status": "SUCCESS"}}


def test_export_disbursements_neutralises_formulas(api, data):
    rows = read_csv(api.get("/exports/disbursements?sort=name&direction=asc"))
    names = [row[1] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in names
    assert len(rows) == 3
    first = next(row for row in rows[1:] if row[1].startswith("'="))
    assert first[rows[0].index("TotalPayments")] == "3"
    assert first[rows[0].index("AmountDisbursed")] == "10.0000000"


def test_export_receivers(api, data):
    rows = read_csv(api.get("/exports/receivers"))
    assert rows[0][:4] == ["ID", "PhoneNumber", "Email", "ExternalID"]
    assert len(rows) == 6
    assert {row[3] for row in rows[1:]} == {"'@SUM(A1:A9)"}


@pytest.mark.parametrize(
    "value",
    [
        "=1+1", "+1+1", "-1-A1", "+SUM(A1)", "-x", "+", "-", "@x", "\tx", "\rx",
        "\x00x", "+1\n=cmd", "+1,2", "+1e5", "-1;2", "+ 1", "+.5", "+1\t",
    ],
)  # fmt: skip
def test_every_formula_prefix_is_neutralised(value):
    from disbursements.exports import safe_cell

    assert safe_cell(value) == "'" + value
    assert safe_cell("plain") == "plain"


@pytest.mark.parametrize(
    "value",
    ["+14155550101", "+1 415 555 0101", "-12.5", "+1.5", "-0", "+44 20 7946 0958"],
)
def test_signed_numbers_and_phones_are_exported_as_they_are(value):
    from disbursements.exports import safe_cell

    assert safe_cell(value) == value


def test_export_roles(organization, data):
    for role, code in [
        (Role.BUSINESS, 403), (Role.DEVELOPER, 403), (Role.APPROVER, 200),
        (Role.INITIATOR, 200), (Role.FINANCIAL_CONTROLLER, 200),
    ]:  # fmt: skip
        client = client_for(role_user(organization, role))
        assert client.get("/exports/payments").status_code == code, role
    assert AuditEntry.objects.count() == 3


def test_exports_are_tenant_scoped(api, organization):
    other = ReceiverFactory(external_id="other-tenant")
    ReceiverWalletFactory(receiver=other)
    rows = read_csv(api.get("/exports/receivers"))
    assert rows[1:] == []
