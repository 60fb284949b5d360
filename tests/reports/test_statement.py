"""The statement without the network: balances from synthetic movements
shaped as the network's, the movements of Horizon's operation records, and a
statement rendered in several parts with every figure and page number read
back from the PDF."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation
from pypdf import PdfReader

from reports import ledger, render, statements
from tests.factories import AssetFactory
from tests.reports.pdftext import assert_shows, pdf_text

pytestmark = pytest.mark.django_db

ME = "G" + "D" * 55
HIM = "G" + "R" * 55
ISSUER = "G" + "I" * 55


def op(n, kind, at, **fields):
    tx = {"hash": f"{n:064x}", "fee_account": ME, "fee_charged": "100",
          "memo_type": "none"}  # fmt: skip
    return {"id": str(n), "type": kind, "created_at": at,
            "transaction_hash": f"{n:064x}", "transaction": tx, **fields}  # fmt: skip


def test_movements_read_payments_trustlines_and_fees_once_per_transaction():
    usdc = {"asset_type": "credit_alphanum4", "asset_code": "USDC",
            "asset_issuer": ISSUER}  # fmt: skip
    records = [
        op(1, "create_account", "2026-03-01T10:00:00Z", funder=HIM, account=ME,
           starting_balance="50.0000000"),
        op(2, "change_trust", "2026-03-01T10:01:00Z", limit="922337203685.4775807",
           **usdc),
        op(3, "payment", "2026-03-01T10:02:00Z", to=ME, amount="100.0000000",
           **{"from": ISSUER}, **usdc),
        op(4, "payment", "2026-03-02T09:00:00Z", to=HIM, amount="12.5000000",
           **{"from": ME}, **usdc),
    ]  # fmt: skip
    records[0]["transaction"]["fee_account"] = HIM  # the funder paid that fee
    moves = ledger.movements(records, ME, ("USDC", ISSUER))
    assert [(m.kind, m.amount) for m in moves] == [
        ("trustline", Decimal(0)),
        ("funding", Decimal("100")),
        ("payment_out", Decimal("-12.5")),
    ]
    xlm = ledger.movements(records, ME, ("XLM", ""))
    assert [(m.kind, m.amount) for m in xlm] == [
        ("account_created", Decimal("50")),
        ("fee", Decimal("-0.00001")),
        ("fee", Decimal("-0.00001")),
        ("fee", Decimal("-0.00001")),
    ]
    # two operations of one transaction pay one fee
    records.append(op(4, "payment", "2026-03-02T09:00:00Z", to=HIM,
                      amount="1.0000000", **{"from": ME}, **usdc))  # fmt: skip
    assert len([m for m in ledger.movements(records, ME, ("XLM", ""))
                if m.kind == "fee"]) == 3  # fmt: skip


def test_balances_are_todays_less_what_came_after(organization, monkeypatch):
    asset = AssetFactory(organization=organization, code="USDC", issuer=ISSUER)
    at = lambda day: dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC)  # noqa: E731
    moves = [
        ledger.Movement(str(n), at(day), kind, f"{n:064x}", HIM, Decimal(amount))
        for n, (day, kind, amount) in enumerate(
            [(1, "funding", "500"), (2, "payment_out", "-20"),
             (3, "payment_out", "-30.5"), (4, "funding", "7")]
        )
    ]  # fmt: skip
    s = statements.assemble(
        organization, asset, ME, dt.date(2026, 3, 2), dt.date(2026, 3, 3),
        Decimal("456.5"), moves,
    )  # fmt: skip
    assert s.closing == Decimal("449.5")  # 456.5 now, less the 7 on the 4th
    assert s.opening == Decimal("500")
    assert (s.total_out, s.total_in) == (Decimal("50.5"), Decimal(0))
    assert s.network_payments_out == Decimal("50.5")
    assert s.our_payments_out == Decimal(0)
    assert s.disagrees  # nothing SUCCESS here: the statement says so


def test_a_statement_in_several_parts_shows_every_line_and_numbers_its_pages(
    organization, monkeypatch
):
    monkeypatch.setattr(render, "CHUNK", 40)
    asset = AssetFactory(organization=organization, code="USDC", issuer=ISSUER)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    moves = [
        ledger.Movement(str(n), start + dt.timedelta(minutes=n), "payment_out",
                        f"{n:064x}", HIM, -Decimal(n + 1) / 3 - 1000)
        for n in range(130)
    ]  # fmt: skip
    s = statements.assemble(
        organization, asset, ME, start.date(), start.date(),
        sum((-m.amount for m in moves), Decimal(0)), moves,
    )  # fmt: skip
    data = render.statement_pdf(s, "fr")
    text = pdf_text(data)
    with translation.override("fr"):
        figures = [render.money(m.amount) for m in moves]
        totals = [render.money(v) for v in (s.opening, s.closing, s.total_out)]
    assert figures[0].startswith("-1")
    assert "," in figures[0]
    assert_shows(text, *figures, *totals, *[m.transaction_hash for m in moves])
    pages = PdfReader(io.BytesIO(data)).pages
    assert len(pages) >= 4  # 130 lines in parts of 40
    numbers = [p.extract_text().strip().splitlines()[-1] for p in pages]
    assert numbers == [f"Page {n}" for n in range(1, len(pages) + 1)]
    assert text.count("Opening balance") == 1
    assert text.count("Closing balance") == 1
