"""Benchmark: a 10,000-receiver disbursement start queues 10,000 invitations in
one transaction, then real Celery workers drain them with the DRY_RUN sender.

    python -m bench.invitations [--receivers 10000] [--workers 2]

Needs DATABASE_URL / REDIS_URL (or the embedded defaults). Creates a throwaway
organization, then deletes its rows. The last line is key=value figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from auth_org.models import Asset, Organization, Wallet  # noqa: E402
from messaging.models import Message  # noqa: E402
from receivers.invitations import queue_invitations  # noqa: E402
from receivers.models import Receiver, ReceiverWallet, ShortURL  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def setup(n: int) -> tuple[Organization, Asset, list[ReceiverWallet]]:
    tag = uuid.uuid4().hex[:8]
    organization = Organization.objects.create(
        name=f"bench-{''.join(c for c in tag if c.isalpha()) or 'x'}-inv",
        display_name="Bench Org",
        status=Organization.Status.ACTIVATED,
        base_url="https://bench.sdp.example",
    )
    asset = Asset.objects.create(
        organization=organization,
        code="USDC",
        issuer="GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
    )
    wallet = Wallet.objects.create(
        organization=organization,
        name="Bench Wallet",
        homepage=f"https://wallet-{tag}.example",
        deep_link_schema=f"wallet-{tag}://sdp",
        sep_10_client_domain=f"wallet-{tag}.example",
    )
    receivers = Receiver.objects.bulk_create(
        [
            Receiver(
                organization=organization,
                external_id=f"r{i}",
                phone_number=f"+1555{tag[:3].encode().hex()[:3]}{i:07d}",
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    wallets = ReceiverWallet.objects.bulk_create(
        [
            ReceiverWallet(
                organization=organization,
                receiver=receiver,
                wallet=wallet,
                status=ReceiverWallet.Status.READY,
            )
            for receiver in receivers
        ],
        batch_size=2000,
    )
    for rw, receiver in zip(wallets, receivers, strict=True):
        rw.receiver = receiver
        rw.wallet = wallet
    return organization, asset, wallets


def start_workers(count: int) -> list[subprocess.Popen]:
    env = dict(os.environ, SMS_SENDER_TYPE="DRY_RUN", LOG_LEVEL="WARNING")
    processes = []
    for i in range(count):
        log = open(ROOT / ".sdp" / f"bench-worker-{i}.log", "w")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "sdp",
                    "worker",
                    "-Q",
                    "messages",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "8",
                    "--loglevel",
                    "INFO",
                    "-n",
                    f"bench{i}-{uuid.uuid4().hex[:4]}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 60
    for i in range(count):
        path = ROOT / ".sdp" / f"bench-worker-{i}.log"
        while "ready." not in path.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {i} did not start; see {path}")
            time.sleep(0.1)
    return processes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receivers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    (ROOT / ".sdp").mkdir(exist_ok=True)
    settings.SMS_SENDER_TYPE = "DRY_RUN"
    call_command("migrate", verbosity=0)
    # A private queue prefix: no other worker on this Redis takes the tasks.
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    os.environ["CELERY_KEY_PREFIX"] = prefix
    from sdp.celery import app

    app.conf.broker_transport_options = {"global_keyprefix": prefix}

    organization, asset, wallets = setup(args.receivers)
    workers = start_workers(args.workers)
    try:
        started = time.perf_counter()
        with transaction.atomic():
            queued = queue_invitations(organization, wallets, asset=asset)
            in_transaction = time.perf_counter() - started
        queue_seconds = time.perf_counter() - started  # incl. on-commit task sends
        if queued != args.receivers:
            raise SystemExit(f"queued {queued} of {args.receivers}")
        messages = Message.objects.filter(tenant_id=organization.id)
        drain_started = time.perf_counter()
        while messages.filter(status=Message.Status.PENDING).exists():
            if time.perf_counter() - drain_started > 600:
                break
            time.sleep(0.2)
        drain_seconds = time.perf_counter() - drain_started
        delivered = messages.filter(status=Message.Status.SUCCESS).count()
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(30)
        urls = list(
            ShortURL.objects.filter(
                original_url__contains=wallets[0].wallet.deep_link_schema
            ).values_list("code", flat=True)
        )
        ShortURL.objects.filter(code__in=urls).delete()
        Message.objects.filter(tenant_id=organization.id).delete()
        ReceiverWallet.objects.filter(organization=organization).delete()
        Receiver.objects.filter(organization=organization).delete()
        Wallet.objects.filter(organization=organization).delete()
        Asset.objects.filter(organization=organization).delete()
        organization.delete()
    print(
        f"receivers={args.receivers} queued={queued} "
        f"queue_in_transaction_s={in_transaction:.2f} "
        f"queue_incl_task_send_s={queue_seconds:.2f} "
        f"delivered={delivered} drain_s={drain_seconds:.2f} "
        f"workers={args.workers}x8threads "
        f"queue_ok={in_transaction < 5} drain_ok={drain_seconds < 60}"
    )


if __name__ == "__main__":
    main()
