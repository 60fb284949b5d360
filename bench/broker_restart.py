"""Fault harness: Redis (the broker and the cache) restarted empty under a
running Celery worker and beat while payments are being made.

    python -m bench.broker_restart [--payments 40] [--restarts 2] [--down 3]
    python -m bench.broker_restart --short      # 12 payments, one restart

A redis-server of its own on a free port, a real worker (prefork, as deployed)
and a real beat on it; payments are queued, and while the worker holds
unacknowledged tasks (``task_acks_late``) Redis is stopped (everything in it
lost, as ``redis-cli shutdown nosave``) and started again a few seconds later.
No one intervenes: the run ends when every payment is final, or after a bound.
It checks that the worker is still alive and that every payment is on the ledger
exactly once. The last line is key=value counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def celery_process(kind: str, env: dict, log_path: Path, *args: str):
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sdp", kind, "--loglevel", "INFO",
         *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()


def _wait_for(log_path: Path, text: str, process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[4]} exited; see {log_path}")
        if text in log_path.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{text!r} not seen in {log_path}")


def one_run(
    net,
    redis,
    env_base: dict,
    *,
    payments: int = 12,
    restarts: int = 1,
    down_seconds: float = 3.0,
    timeout: float = 150.0,
    log_dir: Path | None = None,
) -> dict:
    """Queue payments, restart ``redis`` under the worker ``restarts`` times;
    returns {worker_alive, beat_alive, double, lost, unfinished, seconds,
    restarts_with_unacked}."""

    from tests.tss.conftest import (
        create_receivers,
        payments_on_ledger,
        queue_xlm_payments,
    )
    from tss import accounts
    from tss.models import SubmitterTransaction

    log_dir = log_dir or ROOT / ".sdp"
    log_dir.mkdir(exist_ok=True)
    env = dict(env_base, REDIS_URL=redis.url)
    tenant = uuid.uuid4()
    accounts.create_distribution_account(tenant)
    destinations = create_receivers(payments)
    worker_log = log_dir / f"broker-restart-worker-{os.getpid()}.log"
    beat_log = log_dir / f"broker-restart-beat-{os.getpid()}.log"
    started = time.monotonic()
    restarted_with_unacked = 0
    with (
        celery_process(
            "worker", env, worker_log, "-Q", "tss,messages,default",
            "--concurrency", "2", "--without-gossip", "--without-mingle",
        ) as worker,
        celery_process(
            "beat", env, beat_log, "--schedule", str(log_dir / f"beat-{os.getpid()}")
        ) as beat,
    ):  # fmt: skip
        _wait_for(worker_log, "ready.", worker)
        queue_xlm_payments(tenant, destinations, Decimal("0.1"))
        rows = SubmitterTransaction.objects.filter(tenant_id=tenant)
        for _ in range(restarts):
            # Wait until the worker holds a task it has not acknowledged yet.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if _unacked(redis, env.get("CELERY_KEY_PREFIX", "")):
                    restarted_with_unacked += 1
                    break
                time.sleep(0.05)
            redis.restart(down_seconds)
            time.sleep(1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not rows.exclude(status__in=["SUCCESS", "ERROR"]).exists():
                break
            if worker.poll() is not None:
                break
            time.sleep(0.5)
        worker_alive = worker.poll() is None
        beat_alive = beat.poll() is None
    source = accounts.distribution_account_for(tenant)
    counts = [len(payments_on_ledger(net, d, source)) for d in destinations]
    return {
        "worker_alive": worker_alive,
        "beat_alive": beat_alive,
        "restarts_with_unacked": restarted_with_unacked,
        "double": sum(1 for c in counts if c > 1),
        "lost": sum(1 for c in counts if c == 0),
        "unfinished": rows.exclude(status="SUCCESS").count(),
        "seconds": round(time.monotonic() - started, 1),
        "worker_log": str(worker_log),
    }


def _unacked(redis, prefix: str) -> int:
    import redis as redis_py

    try:
        client = redis_py.Redis.from_url(redis.url, socket_timeout=1)
        return client.hlen(f"{prefix}unacked")
    except redis_py.RedisError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=40)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--down", type=float, default=3.0)
    parser.add_argument("--short", action="store_true", help="12 payments, 1 restart")
    args = parser.parse_args()
    if args.short:
        args.payments, args.restarts = 12, 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
    from localnet.testing import start_localnet
    from tests.redis_server import RedisServer

    net = start_localnet(ledger_close=0.2)
    redis = RedisServer()
    redis.start()
    os.environ["HORIZON_URL"] = net.url
    # Enough for the payments and their fees (the default 5 XLM covers ~12).
    os.environ.setdefault("TENANT_XLM_BOOTSTRAP_AMOUNT", "50")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tss import channels, keys
    from tss.models import ChannelAccount

    env = dict(os.environ)
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["NETWORK_PASSPHRASE"] = net.passphrase
    try:
        call_command("migrate", verbosity=0)
        net.friendbot(keys.host_keypair().public_key)
        ChannelAccount.objects.all().delete()
        channels.create(4)
        outcome = one_run(
            net, redis, env, payments=args.payments, restarts=args.restarts,
            down_seconds=args.down,
        )  # fmt: skip
    finally:
        redis.close()
        net.stop()
    print(" ".join(f"{k}={v}" for k, v in outcome.items()))
    ok = outcome["worker_alive"] and not (
        outcome["double"] or outcome["lost"] or outcome["unfinished"]
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
