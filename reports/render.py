"""Statements and payment notices as PDF (Django templates rendered by
WeasyPrint, with the DejaVu fonts shipped in reports/static) and as CSV.

Numbers and dates are formatted in the report's locale (Django's formats);
the CSV keeps plain machine figures (7 places, a dot) and ISO times.
"""

from __future__ import annotations

import base64
import csv
import io
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, translation

FONTS = Path(__file__).resolve().parent / "static" / "reports" / "fonts"


def money(value: Decimal | None) -> str:
    """A 7-place amount in the active locale (1,234.5000000 / 1.234,5000000)."""
    if value is None:
        return "—"
    return formats.number_format(value, decimal_pos=7, force_grouping=True)


def _logo(organization) -> str:
    if not organization.logo:
        return ""
    kind = organization.logo_content_type or "image/png"
    return f"data:{kind};base64," + base64.b64encode(bytes(organization.logo)).decode()


def _html(template: str, context: dict, locale: str):
    from weasyprint import HTML

    with translation.override(locale):
        html = render_to_string(
            template, {**context, "fonts": FONTS.as_uri(), "money": money}
        )
    return HTML(string=html, base_url=str(FONTS))


def pdf(template: str, context: dict, locale: str) -> bytes:
    from weasyprint.text.fonts import FontConfiguration

    return _html(template, context, locale).write_pdf(font_config=FontConfiguration())


# Lines laid out per document: WeasyPrint keeps every box of a document until it
# is written, so a long statement is rendered in parts and the parts' pages
# joined (pypdf), each part numbering its pages from where the last one ended.
CHUNK = 2000


def chunked_pdf(template: str, context: dict, lines: list, locale: str) -> bytes:
    from pypdf import PdfWriter
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    writer = PdfWriter()
    pages = 0
    parts = [lines[i : i + CHUNK] for i in range(0, len(lines), CHUNK)] or [[]]
    for n, part in enumerate(parts):
        document = _html(
            template,
            {**context, "lines": part, "first": n == 0, "last": n == len(parts) - 1,
             "page_offset": pages + 1},
            locale,
        ).render(font_config=fonts)  # fmt: skip
        pages += len(document.pages)
        writer.append(io.BytesIO(document.write_pdf()))
        del document
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# The statement's lines are rows of fixed-width columns in a monospaced font:
# one text run per line is what lets WeasyPrint lay out 10,000 of them in
# seconds (a table cell, or a box per column, costs a layout each).
COLUMNS = (("Date", 16), ("Type", 17), ("Receiver", 20), ("Amount", -20),
           ("Transaction", 64), ("Disbursement", 0))  # fmt: skip


def row(*cells: str) -> str:
    out = []
    for (_title, width), cell in zip(COLUMNS, cells, strict=True):
        if width > 0:
            out.append(cell.ljust(width))
        elif width < 0:
            out.append(cell.rjust(-width))
        else:
            out.append(cell[:40])
    return "  ".join(out).rstrip()


def statement_pdf(statement, locale: str) -> bytes:
    with translation.override(locale):
        lines = [
            row(
                formats.date_format(line.at, "SHORT_DATETIME_FORMAT"),
                line.label,
                line.receiver_external_id,
                money(line.amount),
                line.transaction_hash,
                line.disbursement,
            )
            for line in statement.lines
        ]
        start = formats.date_format(statement.start, "SHORT_DATE_FORMAT")
        end = formats.date_format(statement.end, "SHORT_DATE_FORMAT")
        totals = [
            row(start, "Opening balance", "", money(statement.opening), "", ""),
            row(end, "Total in", "", money(statement.total_in), "", ""),
            row(end, "Total out", "", money(statement.total_out), "", ""),
            row(end, "Total fees", "", money(statement.total_fees), "", ""),
            row(end, "Closing balance", "", money(statement.closing), "", ""),
        ]
        figures = {
            "network_out": money(statement.network_payments_out),
            "our_out": money(statement.our_payments_out),
            "start": start,
            "end": end,
            "generated": formats.date_format(
                statement.generated_at, "SHORT_DATETIME_FORMAT"
            ),
        }
    return chunked_pdf(
        "reports/statement.html",
        {
            "s": statement,
            "header": row(*(title for title, _width in COLUMNS)),
            "opening": totals[0],
            "totals": totals[1:],
            "f": figures,
            "logo": _logo(statement.organization),
        },
        lines,
        locale,
    )


STATEMENT_HEADER = [
    "Date", "Type", "Receiver.ExternalID", "Counterparty", "Amount", "Asset",
    "StellarTransactionHash", "Disbursement", "PaymentID",
]  # fmt: skip


def statement_csv(statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    code = statement.asset.code
    writer.writerow(STATEMENT_HEADER)
    writer.writerow(
        [statement.start.isoformat(), "Opening balance", "", statement.account,
         _plain(statement.opening), code, "", "", ""]
    )  # fmt: skip
    for line in statement.lines:
        writer.writerow(
            [
                line.at.isoformat(),
                line.label,
                line.receiver_external_id,
                line.counterparty,
                _plain(line.amount),
                code,
                line.transaction_hash,
                line.disbursement,
                line.payment_id,
            ]
        )
    end = statement.end.isoformat()
    for label, value in (
        ("Total in", statement.total_in),
        ("Total out", statement.total_out),
        ("Total fees", statement.total_fees),
        ("Closing balance", statement.closing),
    ):
        writer.writerow([end, label, "", statement.account, _plain(value), code,
                         "", "", ""])  # fmt: skip
    if statement.disagrees:
        writer.writerow(
            [end, "Platform records differ", "", "", _plain(statement.our_payments_out),
             code, "", "", ""]
        )  # fmt: skip
    return out.getvalue()


def _plain(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.7f}"


def notice_pdf(notice: dict, organization, locale: str) -> bytes:
    with translation.override(locale):
        figures = {
            "amount": money(notice["amount"]),
            "created": formats.date_format(
                notice["created_at"], "SHORT_DATETIME_FORMAT"
            ),
            "history": [
                {
                    **change,
                    "at": formats.date_format(change["at"], "SHORT_DATETIME_FORMAT"),
                }
                for change in notice["history"]
            ],
        }
    explorer = settings.TRANSACTION_EXPLORER_URL
    link = (
        explorer.replace("{hash}", notice["hash"])
        if explorer and notice["hash"]
        else ""
    )
    return pdf(
        "reports/notice.html",
        {"n": notice, "f": figures, "link": link, "o": organization,
         "logo": _logo(organization)},
        locale,
    )  # fmt: skip
