"""The reports' routes without the network: validation, another tenant's
payment, a reconciliation day with nothing found, the notice's one page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports.models import Difference, Reconciliation
from tests.factories import AssetFactory, PaymentFactory
from tests.reports.conftest import client_for
from tests.reports.pdftext import assert_shows, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(organization):
    from tests.factories import UserFactory

    return UserFactory(organization=organization, roles=["owner"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "asset_code"),
        ("asset_code=XLM&from=2026-01-01", "to"),
        ("asset_code=XLM&from=2026-01-02&to=2026-01-01", "to"),
        ("asset_code=XLM&from=2025-01-01&to=2026-06-01", "to"),
        ("asset_code=NOPE&from=2026-01-01&to=2026-01-02", "asset_code"),
        ("asset_code=XLM&from=2026-13-01&to=2026-01-02", "from"),
        ("asset_code=XLM&from=2026-01-01&to=2026-01-02&format=xls", "format"),
    ],
)
def test_statement_refuses_bad_queries_naming_the_field(owner, query, field):
    AssetFactory(organization=owner.organization, code="XLM", issuer="")
    response = client_for(owner).get(f"/reports/statement?{query}")
    assert response.status_code == 400
    assert field in response.json()["extras"]


def test_notice_of_another_tenants_payment_is_a_404(owner):
    other = PaymentFactory()
    response = client_for(owner).get(f"/reports/payment/{other.pk}")
    assert response.status_code == 404


def test_notice_is_one_page_with_the_payment(owner, settings):
    settings.REPORTS_LOCALE = "en"
    settings.TRANSACTION_EXPLORER_URL = ""
    payment = PaymentFactory(
        organization=owner.organization,
        disbursement__organization=owner.organization,
        amount=Decimal("1234.5"),
    )
    response = client_for(owner).get(f"/reports/payment/{payment.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert_shows(text, str(payment.pk), "1,234.5000000", payment.asset.code)
    assert "Explorer" not in text  # no explorer configured: no link


def test_reconciliation_day_lists_what_was_checked_and_found(owner):
    asset = AssetFactory(organization=owner.organization, code="USDC")
    day = dt.date(2026, 3, 1)
    run = Reconciliation.objects.create(
        organization=owner.organization,
        asset=asset,
        date=day,
        distribution_account="G" + "A" * 55,
        payments_checked=3,
        operations_checked=4,
    )
    Difference.objects.create(
        reconciliation=run,
        kind=Difference.Kind.UNKNOWN_PAYMENT,
        transaction_hash="cd" * 32,
        network_amount=Decimal("0.5"),
        network_destination="G" + "B" * 55,
    )
    api = client_for(owner)
    body = api.get(f"/reports/reconciliation?date={day}").json()
    assert body["date"] == "2026-03-01"
    assert body["reconciled"][0]["payments_checked"] == 3
    assert body["differences"] == [
        {
            "kind": "UNKNOWN_PAYMENT",
            "asset_code": "USDC",
            "payment_id": None,
            "transaction_hash": "cd" * 32,
            "operation_id": "",
            "our_amount": None,
            "network_amount": "0.5000000",
            "our_destination": "",
            "network_destination": "G" + "B" * 55,
            "detail": "",
        }
    ]
    assert (
        api.get("/reports/reconciliation?date=2026-03-02").json()["differences"] == []
    )
    assert api.get("/reports/reconciliation?date=yesterday").status_code == 400
