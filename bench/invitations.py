"""Benchmark: starting a 10,000-payment disbursement to unregistered receivers
queues 10,000 invitations in its one transaction; then real Celery workers drain
them with the DRY_RUN sender.

    python -m bench.invitations [--receivers 10000] [--workers 2]

What is timed is ``disbursements.services.start_disbursement``, the service behind
``PATCH /disbursements/{id}/status``: the approval rule, the balance check against
a localnet, payments and receiver wallets DRAFT -> READY with their history rows,
one signed (and shortened) registration link and one invitation message per
receiver wallet, and the hand-off. ``start_in_transaction_s`` stops before the
commit; ``start_incl_task_send_s`` includes the commit and the on-commit task
sends. Needs DATABASE_URL / REDIS_URL (or the embedded defaults). Creates a
throwaway organization, then deletes its rows. The last line is key=value figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent


def setup(n: int):
    """A READY disbursement of ``n`` DRAFT payments to ``n`` DRAFT receiver
    wallets, paid from a funded distribution account on the localnet."""
    import stellar_sdk

    from auth_org.models import Asset, Organization, Wallet
    from disbursements.models import Disbursement, Payment, RegistrationContactType
    from receivers.models import Receiver, ReceiverWallet
    from tss import accounts, keys

    tag = uuid.uuid4().hex[:8]
    organization = Organization.objects.create(
        name=f"bench-{''.join(c for c in tag if c.isalpha()) or 'x'}-inv",
        display_name="Bench Org",
        status=Organization.Status.ACTIVATED,
        base_url="https://bench.sdp.example",
    )
    accounts.create_distribution_account(organization.id)
    accounts.run_transaction(
        keys.host_keypair(),
        [
            stellar_sdk.Payment(
                destination=accounts.distribution_account_for(organization.id),
                asset=stellar_sdk.Asset.native(),
                amount=str(n // 10 + 100),
            )
        ],
    )
    asset = Asset.objects.create(organization=organization, code="XLM", issuer="")
    wallet = Wallet.objects.create(
        organization=organization,
        name="Bench Wallet",
        homepage=f"https://wallet-{tag}.example",
        deep_link_schema=f"wallet-{tag}://sdp",
        sep_10_client_domain=f"wallet-{tag}.example",
    )
    disbursement = Disbursement.objects.create(
        organization=organization,
        name="bench invitations",
        asset=asset,
        wallet=wallet,
        status=Disbursement.Status.READY,
        registration_contact_type=RegistrationContactType.PHONE_NUMBER,
    )
    digits = str(int(tag, 16) % 1000).zfill(3)
    receivers = Receiver.objects.bulk_create(
        [
            Receiver(
                organization=organization,
                external_id=f"r{i}",
                phone_number=f"+1555{digits}{i:07d}",
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    wallets = ReceiverWallet.objects.bulk_create(
        [
            ReceiverWallet(organization=organization, receiver=receiver, wallet=wallet)
            for receiver in receivers
        ],
        batch_size=2000,
    )
    Payment.objects.bulk_create(
        [
            Payment(
                organization=organization,
                disbursement=disbursement,
                receiver=rw.receiver,
                receiver_wallet=rw,
                asset=asset,
                amount=Decimal("0.1"),
            )
            for rw in wallets
        ],
        batch_size=2000,
    )
    return organization, disbursement


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
    # A private queue prefix: no other worker on this Redis takes the tasks.
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    os.environ["CELERY_KEY_PREFIX"] = prefix

    from localnet.testing import start_localnet

    net = start_localnet(ledger_close=0.2)
    os.environ["HORIZON_URL"] = net.url
    os.environ["NETWORK_PASSPHRASE"] = net.passphrase
    import django

    django.setup()
    try:
        run(args, net)
    finally:
        net.stop()


def run(args, net) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from auth_org.models import Asset, Wallet
    from disbursements.models import Disbursement
    from disbursements.services import start_disbursement
    from messaging.models import Message
    from receivers.models import Receiver, ReceiverWallet, ShortURL
    from tss import keys

    settings.SMS_SENDER_TYPE = "DRY_RUN"
    call_command("migrate", verbosity=0)
    net.friendbot(keys.host_keypair().public_key)
    organization, disbursement = setup(args.receivers)
    workers = start_workers(args.workers)
    messages = Message.objects.filter(tenant_id=organization.id)
    try:
        started = time.perf_counter()
        with transaction.atomic():
            start_disbursement(disbursement, actor=None)
            in_transaction = time.perf_counter() - started
        start_seconds = time.perf_counter() - started  # commit + on-commit sends
        queued = messages.count()
        if queued != args.receivers:
            raise SystemExit(f"queued {queued} of {args.receivers}")
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
        ShortURL.objects.filter(
            original_url__contains=disbursement.wallet.deep_link_schema
        ).delete()
        messages.delete()
        with transaction.atomic(), connection.cursor() as cursor:
            # Money rows past DRAFT are guarded (disbursements 0008).
            cursor.execute("SET LOCAL sdp.purge = 'on'")
            Disbursement.objects.filter(organization=organization).delete()
        ReceiverWallet.objects.filter(organization=organization).delete()
        Receiver.objects.filter(organization=organization).delete()
        Wallet.objects.filter(organization=organization).delete()
        Asset.objects.filter(organization=organization).delete()
        organization.delete()
    print(
        f"receivers={args.receivers} queued={queued} "
        f"start_in_transaction_s={in_transaction:.2f} "
        f"start_incl_task_send_s={start_seconds:.2f} "
        f"delivered={delivered} drain_s={drain_seconds:.2f} "
        f"workers={args.workers}x8threads "
        f"start_ok={start_seconds < 5} drain_ok={drain_seconds < 60}"
    )


if __name__ == "__main__":
    main()
