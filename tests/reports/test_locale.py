"""The organization's locale: its statements and payment notices write numbers
and dates in it (the deployment's REPORTS_LOCALE only when it has none), through
the dashboard's routes and the admin's copies; the CSV stays plain.

The statement reads a Horizon served over HTTP here (one funding and one
payment of USDC), so the route runs as it does against the network."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.factories import AssetFactory, PaymentFactory, UserFactory
from tests.reports.conftest import client_for
from tests.reports.pdftext import assert_shows, pdf_text

pytestmark = pytest.mark.django_db

ME = "G" + "D" * 55
HIM = "G" + "R" * 55
ISSUER = "G" + "I" * 55
USDC = {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER}


def _operation(n: int, at: str, **fields) -> dict:
    tx = {"hash": f"{n:064x}", "fee_account": ME, "fee_charged": "100",
          "memo_type": "none"}  # fmt: skip
    return {"id": str(n), "paging_token": str(n), "type": "payment",
            "created_at": at, "transaction_hash": f"{n:064x}", "transaction": tx,
            **USDC, **fields}  # fmt: skip


# Newest first, as Horizon answers order=desc.
OPERATIONS = [
    _operation(2, "2026-03-02T09:00:00Z", to=HIM, amount="1234.5000000",
               **{"from": ME}),
    _operation(1, "2026-03-01T10:00:00Z", to=ME, amount="10000.0000000",
               **{"from": ISSUER}),
]  # fmt: skip
ACCOUNT = {"id": ME, "balances": [{**USDC, "balance": "8765.5000000"}]}


class _Horizon(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == f"/accounts/{ME}":
            body: dict = ACCOUNT
        elif path == f"/accounts/{ME}/operations":
            body = {"_embedded": {"records": OPERATIONS}}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def horizon(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Horizon)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    settings.HORIZON_URL = f"http://127.0.0.1:{server.server_port}"
    yield
    server.shutdown()
    server.server_close()


# (the organization's locale, the deployment's, what the reports write)
CASES = [
    ("de", "en", ["-1.234,5000000", "10.000,0000000", "8.765,5000000"], "02.03.2026"),
    ("en", "de", ["-1,234.5000000", "10,000.0000000", "8,765.5000000"], "03/02/2026"),
    ("", "de", ["-1.234,5000000", "10.000,0000000", "8.765,5000000"], "02.03.2026"),
]


@pytest.mark.parametrize(("locale", "deployment", "figures", "day"), CASES)
def test_the_statement_is_in_the_organizations_locale(
    horizon, organization, settings, locale, deployment, figures, day
):
    settings.REPORTS_LOCALE = deployment
    organization.locale = locale
    organization.distribution_account_address = ME
    organization.save()
    AssetFactory(organization=organization, code="USDC", issuer=ISSUER)
    owner = UserFactory(organization=organization, roles=["owner"])
    query = "asset_code=USDC&from=2026-03-01&to=2026-03-02"

    response = client_for(owner).get(f"/reports/statement?{query}")
    assert response.status_code == 200, response.content
    text = pdf_text(response.content)
    assert_shows(text, *figures, day, f"{2:064x}")
    # and not the deployment's
    other = "-1,234.5000000" if figures[0] == "-1.234,5000000" else "-1.234,5000000"
    assert other not in text.replace(" ", "")

    # The CSV stays machine-readable, whatever the locale.
    csv = client_for(owner).get(f"/reports/statement?{query}&format=csv")
    assert csv.status_code == 200
    assert "-1234.5000000" in csv.content.decode()
    assert "10000.0000000" in csv.content.decode()


@pytest.mark.parametrize(("locale", "deployment", "figures", "_day"), CASES)
def test_the_notice_is_in_the_organizations_locale(
    organization, settings, locale, deployment, figures, _day
):
    settings.REPORTS_LOCALE = deployment
    settings.TRANSACTION_EXPLORER_URL = ""
    organization.locale = locale
    organization.save()
    owner = UserFactory(organization=organization, roles=["owner"])
    payment = PaymentFactory(
        organization=organization,
        disbursement__organization=organization,
        amount=Decimal("1234.5"),
    )
    amount = figures[0].lstrip("-")

    response = client_for(owner).get(f"/reports/payment/{payment.pk}")
    assert response.status_code == 200
    assert_shows(pdf_text(response.content), str(payment.pk), amount)

    # and the operators' copy, from the admin
    staff = Client()
    staff.force_login(
        UserFactory(organization=None, roles=[], is_owner=False, is_staff=True,
                    is_superuser=True)
    )  # fmt: skip
    copy = staff.get(f"/admin/reports/payment/{payment.pk}/notice/")
    assert copy.status_code == 200
    assert_shows(pdf_text(copy.content), str(payment.pk), amount)
