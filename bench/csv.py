"""CSV ingestion benchmark: validate and store a 10,000-row file (default limits)
and a 100,000-row file (limits raised), through the same service the API calls.

    DATABASE_URL=... python -m bench.csv [--rows 10000 100000 1000000]

The file is written to a temporary file and uploaded from it, as the API's
large uploads are (the service streams it: the process's memory does not grow
with the file).

Runs against the database in DATABASE_URL (migrated first); every row it creates
is deleted afterwards (and the tables vacuumed, so runs start alike). The last
line is ``key=value`` pairs: seconds and rows/s per size, the CPU seconds of this
process and of its PostgreSQL backend during each ingestion (``py_cpu_s_N``,
``pg_cpu_s_N``: steadier than wall-clock on a shared machine; the backend's only
when PostgreSQL runs on this machine), the peak RSS of the process
(``peak_rss_mb``, and ``peak_rss_mb_N`` after each size) and its RSS before the
first file (``baseline_rss_mb``: Django and the app imported, the database
migrated).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import time
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models.deletion import ProtectedError  # noqa: E402

from auth_org.models import Asset, Organization, Wallet  # noqa: E402
from disbursements.models import Payment  # noqa: E402
from disbursements.services import create_disbursement, upload_instructions  # noqa: E402

ISSUER = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"


def csv_lines(rows: int):
    yield "phone,id,amount,verification,paymentID\n"
    for n in range(rows):
        # +1 415 2xx xxxx: valid US numbers, 990,000 of them.
        phone = f"+1415{201 + n // 10000}{n % 10000:04d}"
        yield f"{phone},rcv-{n},{(n % 500) + 1}.25,1990-01-{n % 28 + 1:02d},p-{n}\n"


def make_csv(rows: int) -> bytes:
    return "".join(csv_lines(rows)).encode()


def write_csv(rows: int, file) -> int:
    """The file, written a line at a time; returns its size."""
    for line in csv_lines(rows):
        file.write(line.encode())
    file.flush()
    size = file.tell()
    file.seek(0)
    return size


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, if it runs here."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(rows: int) -> dict[str, float]:
    suffix = uuid.uuid4().hex[:8]
    organization = Organization.objects.create(
        name=f"bench-csv-{suffix}",
        display_name="Bench CSV",
    )
    asset = Asset.objects.create(organization=organization, code="USDC", issuer=ISSUER)
    wallet = Wallet.objects.create(
        organization=organization,
        name="Bench Wallet",
        homepage=f"https://bench-{suffix}.example.org",
        deep_link_schema=f"bench-{suffix}://sdp",
        sep_10_client_domain="bench.example.org",
    )
    with tempfile.TemporaryFile() as content:
        return _upload(organization, asset, wallet, rows, content)


def _upload(organization, asset, wallet, rows: int, content) -> dict[str, float]:
    size = write_csv(rows, content)
    disbursement = create_disbursement(
        organization,
        actor=None,
        name=f"bench {rows}",
        wallet=wallet,
        asset=asset,
        registration_contact_type="PHONE_NUMBER",
        verification_field="DATE_OF_BIRTH",
    )
    settings.CSV_MAX_BYTES = max(settings.CSV_MAX_BYTES, size)
    py_start, pg_start = process_cpu(), backend_cpu()
    start = time.perf_counter()
    count = upload_instructions(
        disbursement,
        actor=None,
        file_name="bench.csv",
        content=content,
        max_rows=max(rows, settings.CSV_MAX_ROWS),
    )
    elapsed = time.perf_counter() - start
    py_cpu = process_cpu() - py_start
    pg_end = backend_cpu()
    pg_cpu = None if pg_start is None or pg_end is None else pg_end - pg_start
    peak = peak_rss_mb()  # the ingestion's, before the clean-up
    stored = Payment.objects.filter(disbursement=disbursement).count()
    if count != rows or stored != rows:
        raise SystemExit(f"expected {rows} payments, stored {stored}")
    cleanup(organization)
    return {
        "rows": rows,
        "seconds": elapsed,
        "bytes": size,
        "peak_rss_mb": peak,
        "py_cpu": py_cpu,
        "pg_cpu": pg_cpu,
    }


def cleanup(organization: Organization) -> None:
    """Delete what the run created, in set-based statements: the ORM's cascade
    would load every payment first and cost more memory than the ingestion
    (peak RSS is the process's lifetime maximum)."""
    org = [organization.pk]
    statements = [
        "DELETE FROM disbursements_paymentstatuschange WHERE payment_id IN "
        "(SELECT id FROM disbursements_payment WHERE organization_id = %s)",
        "DELETE FROM disbursements_payment WHERE organization_id = %s",
        # The tallies the payment triggers appended (no foreign key to cascade).
        "DELETE FROM disbursements_paymenttally WHERE organization_id = %s",
        "DELETE FROM receivers_receiverwalletstatuschange "
        "WHERE receiver_wallet_id IN "
        "(SELECT id FROM receivers_receiverwallet WHERE organization_id = %s)",
        "DELETE FROM receivers_receiverwallet WHERE organization_id = %s",
        "DELETE FROM receivers_receiververification "
        "WHERE receiver_id IN "
        "(SELECT id FROM receivers_receiver WHERE organization_id = %s)",
        "DELETE FROM receivers_receiverstellaraddress WHERE organization_id = %s",
        "DELETE FROM receivers_receiver WHERE organization_id = %s",
        # In SQL too: the ORM would load each disbursement's stored file.
        "DELETE FROM disbursements_disbursementstatuschange WHERE disbursement_id "
        "IN (SELECT id FROM disbursements_disbursement WHERE organization_id = %s)",
        "DELETE FROM disbursements_disbursement WHERE organization_id = %s",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        # Money rows past DRAFT are guarded (disbursements 0008); this is the
        # removal of the benchmark's own organization.
        cursor.execute("SET LOCAL sdp.purge = 'on'")
        for statement in statements:
            cursor.execute(statement, org)
    Wallet.objects.filter(organization=organization).delete()
    Asset.objects.filter(organization=organization).delete()
    with contextlib.suppress(ProtectedError):
        organization.delete()
    vacuum()


TABLES = (
    "disbursements_paymentstatuschange",
    "disbursements_payment",
    "disbursements_paymenttally",
    "receivers_receiverwalletstatuschange",
    "receivers_receiverwallet",
    "receivers_receiververification",
    "receivers_receiverstellaraddress",
    "receivers_receiver",
)


def vacuum() -> None:
    """Reclaim the deleted rows, so each run (and the next bench) starts from the
    same table and index sizes rather than on the last run's dead tuples, which
    make a 100,000-row insert markedly slower until autovacuum gets to them."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    vacuum()
    baseline = peak_rss_mb()
    results = []
    for rows in args.rows:
        result = run(rows)
        results.append(result)
        print(
            f"{rows} rows ({result['bytes'] / 1e6:.1f} MB): validated and stored in "
            f"{result['seconds']:.2f} s ({rows / result['seconds']:,.0f} rows/s), "
            f"peak RSS {result['peak_rss_mb']:.0f} MB"
        )
    pairs = {}
    for result in results:
        rows = result["rows"]
        pairs[f"seconds_{rows}"] = f"{result['seconds']:.2f}"
        pairs[f"rows_per_s_{rows}"] = f"{rows / result['seconds']:.0f}"
        pairs[f"py_cpu_s_{rows}"] = f"{result['py_cpu']:.2f}"
        if result["pg_cpu"] is not None:
            pairs[f"pg_cpu_s_{rows}"] = f"{result['pg_cpu']:.2f}"
        pairs[f"peak_rss_mb_{rows}"] = f"{result['peak_rss_mb']:.0f}"
    pairs["rows_per_s"] = pairs[f"rows_per_s_{results[-1]['rows']}"]
    pairs["peak_rss_mb"] = f"{peak_rss_mb():.0f}"
    pairs["load_1m"] = f"{os.getloadavg()[0]:.2f}"
    pairs["baseline_rss_mb"] = f"{baseline:.0f}"
    print(" ".join(f"{k}={v}" for k, v in pairs.items()))


if __name__ == "__main__":
    main()
