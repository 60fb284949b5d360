"""Dashboard API latency with 1,000,000 payments and 100,000 receivers.

    DATABASE_URL=... python -m bench.api [--duration 10] [--connections 20]

Seeds one organization with plain SQL (generate_series; seconds, not minutes;
reused on later runs), starts gunicorn on a free port, and measures every list and
details endpoint with wrk (Debian's ``wrk``; 20 connections by default), printing
p50/p99 per endpoint. Last line: ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from auth_org.models import Organization, Role, User  # noqa: E402
from auth_org.tokens import issue_token  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ORG = "bench-api"
RECEIVERS = 100_000
PAYMENTS = 1_000_000
DISBURSEMENTS = 100
ISSUER = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"

SEED_SQL = """
INSERT INTO auth_org_asset (id, organization_id, code, issuer, created_at, updated_at)
VALUES (md5('asset')::uuid, %(org)s, 'USDC', %(issuer)s, now(), now());

INSERT INTO auth_org_wallet (id, organization_id, name, homepage, deep_link_schema,
    sep_10_client_domain, enabled, user_managed, embedded, created_at, updated_at)
VALUES (md5('wallet')::uuid, %(org)s, 'Bench Wallet', 'https://bench.example.org',
    'bench://sdp', 'bench.example.org', true, false, false, now(), now());

INSERT INTO disbursements_disbursement (id, organization_id, name, status, asset_id,
    wallet_id, verification_field, registration_contact_type,
    receiver_registration_message_template, file_name, created_at, updated_at)
SELECT md5('d' || d)::uuid, %(org)s, 'Disbursement ' || d,
    (ARRAY['STARTED','COMPLETED','PAUSED','READY'])[1 + d %% 4],
    md5('asset')::uuid, md5('wallet')::uuid, 'DATE_OF_BIRTH', 'PHONE_NUMBER', '',
    'd' || d || '.csv', now() - (d || ' hours')::interval,
    now() - (d || ' hours')::interval
FROM generate_series(1, %(disbursements)s) AS d;

INSERT INTO receivers_receiver (id, organization_id, external_id, phone_number, email,
    created_at, updated_at)
SELECT md5('r' || n)::uuid, %(org)s, 'ext-' || n,
    '+1415' || lpad((2010000 + n)::text, 7, '0'), 'r' || n || '@example.org',
    now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval
FROM generate_series(1, %(receivers)s) AS n;

INSERT INTO receivers_receiverwallet (id, organization_id, receiver_id, wallet_id,
    status, stellar_address, stellar_memo, stellar_memo_type, otp_hash,
    otp_confirmed_with, otp_attempts, sep24_transaction_id, created_at, updated_at)
SELECT md5('rw' || n)::uuid, %(org)s, md5('r' || n)::uuid, md5('wallet')::uuid,
    (ARRAY['DRAFT','READY','REGISTERED','FLAGGED'])[1 + n %% 4], NULL, '', '', '', '',
    0, '', now(), now()
FROM generate_series(1, %(receivers)s) AS n;

INSERT INTO disbursements_payment (id, organization_id, disbursement_id, receiver_id,
    receiver_wallet_id, asset_id, amount, status, type, stellar_transaction_id,
    stellar_operation_id, external_payment_id, sender_address, created_at, updated_at)
SELECT md5('p' || p)::uuid, %(org)s,
    md5('d' || (1 + p %% %(disbursements)s))::uuid,
    md5('r' || (1 + p %% %(receivers)s))::uuid,
    md5('rw' || (1 + p %% %(receivers)s))::uuid,
    md5('asset')::uuid, (1 + p %% 500) + 0.25,
    (string_to_array('SUCCESS,SUCCESS,SUCCESS,FAILED,'
        || 'READY,PENDING,CANCELED', ','))[1 + p %% 7],
    'DISBURSEMENT', '', '', 'pay-' || p, '',
    now() - (p || ' seconds')::interval, now() - (p || ' seconds')::interval
FROM generate_series(1, %(payments)s) AS p;

INSERT INTO disbursements_paymentstatuschange (payment_id, from_status, to_status,
    note, created_at)
SELECT md5('p' || p)::uuid, '', 'DRAFT', 'instructions uploaded',
    now() - (p || ' seconds')::interval
FROM generate_series(1, %(payments)s) AS p;
"""


def seed() -> tuple[Organization, User]:
    organization = Organization.objects.filter(name=ORG).first()
    if organization is None:
        organization = Organization.objects.create(
            name=ORG, display_name="Bench API", status=Organization.Status.ACTIVATED
        )
    user = User.objects.filter(organization=organization).first()
    if user is None:
        user = User.objects.create_user(
            "owner@bench.example.org",
            "Bench-Password-123!",
            organization=organization,
            roles=[Role.OWNER],
            is_owner=True,
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM disbursements_payment WHERE organization_id = %s",
            [organization.pk],
        )
        if cursor.fetchone()[0] >= PAYMENTS:
            return organization, user
        started = time.perf_counter()
        print(f"seeding {PAYMENTS:,} payments, {RECEIVERS:,} receivers ...", flush=True)
        cursor.execute(
            SEED_SQL,
            {
                "org": organization.pk,
                "issuer": ISSUER,
                "disbursements": DISBURSEMENTS,
                "receivers": RECEIVERS,
                "payments": PAYMENTS,
            },
        )
        print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    # Index-only scans need the visibility map that VACUUM writes.
    with connection.cursor() as cursor:
        for table in (
            "disbursements_payment",
            "disbursements_paymentstatuschange",
            "receivers_receiver",
            "receivers_receiverwallet",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return organization, user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    port: int, workers: int | None, threads: int | None
) -> subprocess.Popen:
    """gunicorn as deployed (gunicorn.conf.py: sync workers, preloaded), unless
    --workers/--threads say otherwise."""
    # The per-IP rate limit would answer most of the load with 429.
    env = {**os.environ, "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "RATE_LIMIT_ENABLED": "false"}  # fmt: skip
    command = [
        sys.executable, "-m", "gunicorn", "sdp.wsgi",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    if workers:
        command += ["--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not start")


TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def server_cpu(server: subprocess.Popen, database: str) -> dict[str, dict]:
    """CPU seconds used so far, per process, by the web processes (gunicorn and
    its workers) and by the PostgreSQL backends of the benchmark's database. Per
    request, these are what a shared machine's load inflates least, unlike
    latencies."""
    found: dict[str, dict] = {"app": {}, "db": {}}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == server.pid or parent == server.pid:
            found["app"][pid] = _cpu(pid)
        elif cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            found["db"][pid] = _cpu(pid)
    return found


def cpu_used(before: dict, after: dict, kind: str) -> float:
    """Seconds used between the two readings by the processes alive at the
    second (a backend that closed in between is left out: a slight undercount)."""
    return sum(used - before[kind].get(pid, 0.0) for pid, used in after[kind].items())


LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, token: str, *, duration: int, connections: int) -> dict:
    output = subprocess.run(
        [
            "wrk", "-t", str(min(2, connections)), "-c", str(connections),
            "-d", f"{duration}s",
            "--latency", "--timeout", "10s",
            "-H", f"Authorization: Bearer {token}",
            # As the dashboard sends it with every call.
            "-H", f"SDP-Tenant-Name: {ORG}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    figures = {m[0]: float(m[1]) * UNITS[m[2]] for m in LATENCY.findall(output)}
    requests = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "p50": figures.get("50"),
        "p99": figures.get("99"),
        "rps": float(requests[1]) if requests else 0.0,
        "errors": int(errors[1]) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py")
    parser.add_argument("--threads", type=int, help="default: gunicorn.conf.py")
    parser.add_argument(
        "--only", default="", help="comma-separated endpoint names (default: all)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    call_command("migrate", verbosity=0)
    organization, user = seed()
    token = issue_token(user, lifetime=None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, disbursement_id, receiver_id FROM disbursements_payment "
            "WHERE organization_id = %s ORDER BY updated_at DESC LIMIT 1",
            [organization.pk],
        )
        payment_id, disbursement_id, receiver_id = cursor.fetchone()
    endpoints = {
        "payments_list": "/payments/?page=1&page_limit=20",
        "payments_list_page_100": "/payments/?page=100&page_limit=20",
        "payments_by_receiver": f"/payments/?receiver_id={receiver_id}&page=1&page_limit=20",  # noqa: E501
        "payment_details": f"/payments/{payment_id}",
        "receivers_list": "/receivers/?page=1&page_limit=20",
        "receivers_search": "/receivers?q=r4242&page=1&page_limit=20",
        "receiver_details": f"/receivers/{receiver_id}",
        "disbursements_list": "/disbursements?status=STARTED%2CPAUSED%2CCOMPLETED",
        "disbursement_details": f"/disbursements/{disbursement_id}",
        "disbursement_receivers": f"/disbursements/{disbursement_id}/receivers?page=1&page_limit=20",  # noqa: E501
        "statistics": "/statistics",
        "statistics_disbursement": f"/statistics/{disbursement_id}",
    }  # fmt: skip
    port = free_port()
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(endpoints)
        if unknown:
            raise SystemExit(f"unknown endpoints: {', '.join(sorted(unknown))}")
        endpoints = {name: endpoints[name] for name in wanted}
    server = start_server(port, args.workers, args.threads)
    results = {}
    try:
        # Warm every worker (imports, connections, prepared statements, caches)
        # on every endpoint before measuring: steady state, not first calls.
        for path in endpoints.values():
            wrk(
                f"http://127.0.0.1:{port}{path}",
                token,
                duration=2,
                connections=args.connections,
            )
        database = connection.settings_dict["NAME"]
        for name, path in endpoints.items():
            before = server_cpu(server, database)
            result = wrk(
                f"http://127.0.0.1:{port}{path}",
                token,
                duration=args.duration,
                connections=args.connections,
            )
            after = server_cpu(server, database)
            requests = max(result["rps"] * args.duration, 1)
            result["app_cpu"] = cpu_used(before, after, "app") * 1000 / requests
            result["db_cpu"] = cpu_used(before, after, "db") * 1000 / requests
            results[name] = result
            print(
                f"{name:28s} p50={result['p50']:8.1f} ms  p99={result['p99']:8.1f} ms"
                f"  {result['rps']:7.1f} req/s  non-2xx={result['errors']}"
                f"  cpu/req: web {result['app_cpu']:5.2f} ms,"
                f" db {result['db_cpu']:5.2f} ms",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(" ".join(f"p99_{name}_ms={r['p99']:.0f}" for name, r in results.items()))
    print(
        " ".join(
            f"cpu_{name}_ms={r['app_cpu'] + r['db_cpu']:.2f}"
            for name, r in results.items()
        )
    )


if __name__ == "__main__":
    main()
