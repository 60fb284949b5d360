"""Benchmark of webhooks: the ~20,000 events of a 10,000-payment disbursement
(payment.submitted at the hand-off, payment.succeeded as the TSS reports its
results, 100 to a transaction), written as the code paths write them, and
delivered by a real Celery worker (queue ``webhooks``) to a local receiver.

    python -m bench.webhooks [--payments 10000] [--concurrency 4]

Set-up (a tenant, 10,000 payments, the receiver, the worker) is not timed. Then
the clock runs from the first event written until the receiver has every one
(each signature checked with the Standard Webhooks reference library on a
sample). The last line is key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    os.environ["CELERY_KEY_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}:"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
    import django

    django.setup()
    run(args)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup(args):
    from django.core.management import call_command
    from stellar_sdk import Keypair

    from auth_org.models import Asset, Organization, Wallet
    from bench.tss import started_disbursement

    call_command("migrate", verbosity=0)
    name = "bench-" + "".join(c for c in uuid.uuid4().hex if c.isalpha())[:8]
    org = Organization.objects.create(name=name, display_name=name)
    asset = Asset.objects.create(organization=org, code="XLM", issuer="")
    wallet = Wallet.objects.create(
        organization=org,
        name="Bench wallet",
        homepage="https://bench.example.org",
        deep_link_schema="bench://sdp",
        sep_10_client_domain="bench.example.org",
    )
    addresses = [Keypair.random().public_key] * args.payments
    disbursement, payments = started_disbursement(org, asset, wallet, addresses)
    return org, disbursement, [p.pk for p in payments]


def start_worker(concurrency: int) -> subprocess.Popen:
    from django.conf import settings

    env = dict(os.environ)
    env.update(DATABASE_NAME=settings.DATABASES["default"]["NAME"])
    (ROOT / ".sdp").mkdir(exist_ok=True)
    log_path = ROOT / ".sdp" / "bench-webhooks-worker.log"
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sdp", "worker", "-Q", "webhooks",
         "--pool", "threads", "--concurrency", str(concurrency),
         "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "ready." in log_path.read_text():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"worker did not start; see {log_path}")


def run(args) -> None:
    import standardwebhooks
    from django.db import transaction
    from django.db.models import Count

    from core.fsm import transition_many
    from disbursements.events import emit_payment_results, emit_payments
    from disbursements.models import Payment
    from tests.webhooks.receiver import Receiver
    from webhooks import services
    from webhooks.models import Delivery

    org, _, pks = setup(args)
    receiver = Receiver().start()
    _, secret = services.create_endpoint(tenant_id=org.pk, url=receiver.url)
    worker = start_worker(args.concurrency)
    try:
        started = time.monotonic()
        # The hand-off: one transaction for the disbursement's payments.
        with transaction.atomic():
            moved = transition_many(
                Payment.objects.filter(pk__in=pks),
                from_status=Payment.Status.READY,
                to=Payment.Status.PENDING,
            )
            t = time.monotonic()
            emit_payments("payment.submitted", moved)
            submitted_s = time.monotonic() - t
        # The TSS's results: 100 payments a transaction.
        results_s = 0.0
        for i in range(0, len(pks), 100):
            with transaction.atomic():
                batch = transition_many(
                    Payment.objects.filter(pk__in=pks[i : i + 100]),
                    from_status=Payment.Status.PENDING,
                    to=Payment.Status.SUCCESS,
                )
                t = time.monotonic()
                emit_payment_results(batch)
                results_s += time.monotonic() - t
        written_s = time.monotonic() - started
        expected = 2 * len(pks)
        receiver.wait_for(lambda got: len(got) >= expected, timeout=args.timeout)
        delivered_s = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(30)
        receiver.stop()
    hook = standardwebhooks.Webhook(secret)
    for request in receiver.received[:: max(1, expected // 200)]:
        hook.verify(request.body, request.headers)
    ids = {r.headers["webhook-id"] for r in receiver.received}
    statuses = dict(
        Delivery.objects.filter(tenant_id=org.pk)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    figures = {
        "payments": len(pks),
        "events": expected,
        "received": len(receiver.received),
        "distinct_received": len(ids),
        "delivered_rows": statuses.get("DELIVERED", 0),
        "emit_submitted_ms": round(submitted_s * 1000),
        "emit_results_ms_per_100": round(results_s * 1000 / (len(pks) / 100), 2),
        "all_written_s": round(written_s, 1),
        "all_delivered_s": round(delivered_s, 1),
        "deliveries_per_s": round(expected / delivered_s, 1),
        "worker_concurrency": args.concurrency,
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
