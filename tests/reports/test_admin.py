"""The admin's payment and disbursement pages link to the notice and the
statement; the operations page lists the reconciliation's differences."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reports.models import Difference, Reconciliation
from tests.factories import AssetFactory, PaymentFactory
from tests.reports.pdftext import assert_shows, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def test_payment_page_links_to_its_notice_which_is_the_payment(staff):
    payment = PaymentFactory(amount=Decimal("42.5"))
    page = staff.get(f"/admin/disbursements/payment/{payment.pk}/change/")
    assert page.status_code == 200
    notice = f"/admin/reports/payment/{payment.pk}/notice/"
    statement = f"/admin/reports/disbursement/{payment.disbursement_id}/statement/"
    assert notice in page.content.decode()
    assert statement in page.content.decode()
    response = staff.get(notice)
    assert response.status_code == 200
    assert_shows(pdf_text(response.content), str(payment.pk), "42.5000000")


def test_disbursement_page_links_to_the_statement(staff):
    payment = PaymentFactory()
    page = staff.get(
        f"/admin/disbursements/disbursement/{payment.disbursement_id}/change/"
    )
    assert page.status_code == 200
    assert (
        f"/admin/reports/disbursement/{payment.disbursement_id}/statement/"
        in page.content.decode()
    )


def test_report_pages_are_for_staff_only(client, user):
    payment = PaymentFactory()
    client.force_login(user)
    response = client.get(f"/admin/reports/payment/{payment.pk}/notice/")
    assert response.status_code == 302  # to the admin's login


def test_operations_page_lists_the_differences(staff, organization):
    run = Reconciliation.objects.create(
        organization=organization,
        asset=AssetFactory(organization=organization, code="USDC"),
        date=dt.date(2026, 3, 1),
        distribution_account="G" + "A" * 55,
    )
    Difference.objects.create(
        reconciliation=run,
        kind=Difference.Kind.UNKNOWN_PAYMENT,
        transaction_hash="ef" * 32,
        network_amount=Decimal("3"),
    )
    page = staff.get("/admin/operations/").content.decode()
    assert "UNKNOWN_PAYMENT" in page
    assert "ef" * 32 in page
