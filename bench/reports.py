"""Statement rendering benchmark: a 10,000-line account statement as PDF
(WeasyPrint, the shipped fonts, German number formats) and as CSV.

    python -m bench.reports [--lines 10000] [--locale de]

No database or network: the statement is made of synthetic lines shaped as the
network's (payments out with hashes, receivers and a disbursement, fees). The
last line is ``key=value`` pairs: the PDF's render seconds and pages, the CSV's
seconds, the PDF's size, the process's peak RSS (``peak_rss_mb``) and its RSS
before rendering (``baseline_rss_mb``: Django, WeasyPrint and the lines loaded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import time
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
django.setup()

from auth_org.models import Asset, Organization  # noqa: E402
from reports import render  # noqa: E402
from reports.statements import Line, Statement  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def statement(lines: int) -> Statement:
    organization = Organization(name="bench", display_name="Bench Relief")
    asset = Asset(organization=organization, code="USDC", issuer="G" + "A" * 55)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    s = Statement(
        organization=organization,
        asset=asset,
        account="G" + "D" * 55,
        start=start.date(),
        end=dt.date(2026, 11, 30),
        opening=Decimal("250000"),
        closing=None,
        generated_at=start,
    )
    for n in range(lines):
        amount = -Decimal(n % 997 + 1) / 4
        s.lines.append(
            Line(
                at=start + dt.timedelta(seconds=n * 250),
                kind="payment_out",
                amount=amount,
                transaction_hash=hashlib.sha256(str(n).encode()).hexdigest(),
                counterparty="G" + "R" * 55,
                receiver_external_id=f"receiver-{n:06d}",
                disbursement=f"November payroll {n // 2500 + 1}",
                payment_id=str(n),
            )
        )
        s.total_out -= amount
    s.closing = s.opening - s.total_out
    s.network_payments_out = s.our_payments_out = s.total_out
    return s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--locale", default="de")
    options = parser.parse_args()
    s = statement(options.lines)
    render.statement_pdf(statement(10), options.locale)  # fonts and CSS loaded once
    baseline = _rss_mb()
    started = time.perf_counter()
    cpu = time.process_time()
    pdf = render.statement_pdf(s, options.locale)
    pdf_s = time.perf_counter() - started
    pdf_cpu = time.process_time() - cpu
    started = time.perf_counter()
    render.statement_csv(s)
    csv_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page")
    print(
        f"lines={options.lines} pdf_s={pdf_s:.2f} pdf_cpu_s={pdf_cpu:.2f} "
        f"pdf_pages={pages} pdf_kb={len(pdf) // 1024} csv_s={csv_s:.3f} "
        f"baseline_rss_mb={baseline:.0f} peak_rss_mb={peak:.0f} "
        f"load={os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
