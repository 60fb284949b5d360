"""Crash harness of the Circle rail: kill it with SIGKILL around the Circle
request, let the fake Circle fail after accepting, time out or rate-limit,
restart it, and check the ledger: every payment paid exactly once.

    python -m bench.crash_circle [--runs 20] [--payments 4] [--seed N]

Each run hands a few payments of a Circle tenant to the rail (the hand-off),
runs the rail's rounds in a child process with ``CIRCLE_CRASH_AT=<point>``
(circle.crashpoints) while the fake Circle (localnet.circle, paying on a
localnet) injects a fault, lets it die, restarts it without the crash point,
and counts per receiver: payments on the ledger from Circle's account (double:
more than one; lost: none), Circle transfers made, and payments not SUCCESS.
The last line is key=value counts.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULTS = [
    {},
    {"error_after_accept": 2},  # Circle made it, then answered 500
    {"timeout": 2, "timeout_seconds": 1.5},  # Circle made it, the answer is lost
    {"rate_limit": 2, "retry_after": 1},
    {"unavailable": 2},
]
CHILD_ENV = {
    "CIRCLE_REQUEST_TIMEOUT_SECONDS": "0.5",
    "CIRCLE_POLL_SECONDS": "0.2",
}


def child() -> None:
    """The rail's rounds alone, until nothing is live (or SIGKILL)."""
    import django

    django.setup()
    from circle import services

    deadline = time.monotonic() + float(os.environ.get("CIRCLE_CHILD_TIMEOUT", "60"))
    while time.monotonic() < deadline:
        services.send_round()
        services.sync_round()
        if not services.live_count():
            return
        time.sleep(0.1)
    sys.exit(3)


def _run_child(env: dict, timeout: float) -> int:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.crash_circle", "--child"], cwd=ROOT, env=env
    )
    try:
        return process.wait(timeout + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        return -999


def circle_tenant(fake):
    """A Circle tenant configured with a funded wallet of the fake Circle."""
    from auth_org.models import Organization
    from circle import services
    from tests.factories import AssetFactory, OrganizationFactory

    organization = OrganizationFactory(
        distribution_account_type=Organization.DistributionAccountType.CIRCLE_DB_VAULT
    )
    key = fake.add_api_key()
    wallet = fake.add_wallet(key, USD="1000000")
    services.configure(organization.id, wallet_id=wallet, api_key=key)
    AssetFactory(organization=organization, code="USDC", issuer=fake.issuer)
    return organization


def receivers_trusting(net, issuer: str, count: int) -> list[str]:
    """Fresh accounts with a USDC trustline to Circle's account, in one
    transaction signed by the host and each of them."""
    from stellar_sdk import Asset, ChangeTrust, CreateAccount, Keypair

    from tss import accounts, keys

    pairs = [Keypair.random() for _ in range(count)]
    operations = []
    for pair in pairs:
        operations.append(
            CreateAccount(destination=pair.public_key, starting_balance="3")
        )
        operations.append(
            ChangeTrust(asset=Asset("USDC", issuer), source=pair.public_key)
        )
    accounts.run_transaction(keys.host_keypair(), operations, signers=pairs)
    return [pair.public_key for pair in pairs]


def one_run(net, fake, organization, rng: random.Random, payments: int, env_base):
    """One crash run; returns {point, faults, killed, double, lost, unfinished}."""
    from circle import crashpoints
    from disbursements.handoff import hand_off_payments
    from disbursements.models import Payment
    from receivers.models import ReceiverWallet
    from tests.factories import PaymentFactory, ReceiverWalletFactory
    from tests.tss.conftest import payments_on_ledger

    usdc = organization.assets.get(code="USDC")
    destinations = receivers_trusting(net, fake.issuer, payments)
    rows = []
    for address in destinations:
        receiver_wallet = ReceiverWalletFactory(
            receiver__organization=organization,
            status=ReceiverWallet.Status.REGISTERED,
            stellar_address=address,
        )
        rows.append(
            PaymentFactory(
                disbursement=None,
                organization=organization,
                type=Payment.Type.DIRECT,
                status=Payment.Status.READY,
                receiver_wallet=receiver_wallet,
                receiver=receiver_wallet.receiver,
                asset=usdc,
                amount=Decimal("0.25"),
            ).pk
        )
    hand_off_payments(Payment.objects.filter(pk__in=rows))
    point = rng.choice(crashpoints.POINTS)
    faults = rng.choice(FAULTS)
    fake.set_faults(**faults)
    env = dict(
        env_base,
        CIRCLE_CRASH_AT=point,
        CIRCLE_CRASH_SKIP=str(rng.randint(0, 1)),
    )
    code = _run_child(env, 60)
    fake.clear_faults()
    env = dict(env_base)
    env.pop("CIRCLE_CRASH_AT", None)
    final_code = _run_child(env, 120)
    on_ledger = [len(payments_on_ledger(net, d, fake.issuer)) for d in destinations]
    transfers = [len(fake.transfers_to(d)) for d in destinations]
    success = Payment.objects.filter(pk__in=rows, status="SUCCESS").count()
    return {
        "point": point,
        "faults": ",".join(k for k in faults if not k.endswith(("seconds", "after")))
        or "none",
        "killed": code == -9,
        "double": sum(1 for c in on_ledger if c > 1),
        "lost": sum(1 for c in on_ledger if c == 0),
        "circle_transfers_beyond_one": sum(max(0, t - 1) for t in transfers),
        "unfinished": payments - success + (final_code != 0),
    }


def summarize(net, fake, organization, args) -> dict:
    from django.conf import settings

    rng = random.Random(args.seed)
    env_base = dict(os.environ, **CHILD_ENV)
    env_base["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env_base["CIRCLE_API_BASE_URL"] = fake.url
    totals = {"runs": 0, "killed": 0, "double_payments": 0, "lost_payments": 0}
    totals.update(circle_double_transfers=0, unfinished=0)
    for _ in range(args.runs):
        outcome = one_run(net, fake, organization, rng, args.payments, env_base)
        print(outcome, file=sys.stderr, flush=True)
        totals["runs"] += 1
        totals["killed"] += outcome["killed"]
        totals["double_payments"] += outcome["double"]
        totals["lost_payments"] += outcome["lost"]
        totals["circle_double_transfers"] += outcome["circle_transfers_beyond_one"]
        totals["unfinished"] += outcome["unfinished"]
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--payments", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
    if args.child:
        child()
        return
    from localnet.circle import start_fake_circle
    from localnet.testing import start_localnet

    net = start_localnet(ledger_close=0.2)
    os.environ["HORIZON_URL"] = net.url
    fake = start_fake_circle(net.url, net.passphrase)
    os.environ["CIRCLE_API_BASE_URL"] = fake.url
    import django

    django.setup()
    from django.core.management import call_command

    from tss import keys

    try:
        call_command("migrate", verbosity=0)
        net.friendbot(keys.host_keypair().public_key)
        organization = circle_tenant(fake)
        totals = summarize(net, fake, organization, args)
    finally:
        fake.stop()
        net.stop()
    print(" ".join(f"{k}={v}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
