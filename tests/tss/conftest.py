"""Fixtures of the TSS tests: the localnet as Horizon, a funded host account,
channel accounts, a tenant with its own distribution account, and helpers to
create receivers and read the ledger."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from stellar_sdk import CreateAccount, Keypair

from tests.conftest import CELERY_PREFIX, ROOT, _wait_for_worker
from tss import accounts, channels, engine, horizon, keys
from tss.models import SubmitterTransaction


@pytest.fixture(scope="session")
def tss_network(localnet):
    """The localnet as the TSS's Horizon, with the host account funded."""
    previous = settings.HORIZON_URL
    settings.HORIZON_URL = localnet.url
    settings.NETWORK_PASSPHRASE = localnet.passphrase
    horizon.forget_ledger()
    host = keys.host_keypair().public_key
    if horizon.account(host) is None:
        localnet.friendbot(host)
    yield localnet
    settings.HORIZON_URL = previous
    horizon.forget_ledger()


@pytest.fixture
def network(tss_network, settings):
    settings.HORIZON_URL = tss_network.url
    settings.TENANT_XLM_BOOTSTRAP_AMOUNT = Decimal("50")
    return tss_network


@pytest.fixture
def channel_accounts(network, db):
    def make(count: int = 4) -> list[str]:
        return channels.create(count)

    return make


@pytest.fixture
def tenant_id(network, db):
    tenant = uuid.uuid4()
    accounts.create_distribution_account(tenant)
    return tenant


def create_receivers(count: int) -> list[str]:
    """Accounts funded by the host in one transaction per 100."""
    created = []
    for start in range(0, count, 100):
        batch = [Keypair.random().public_key for _ in range(min(100, count - start))]
        accounts.run_transaction(
            keys.host_keypair(),
            [CreateAccount(destination=key, starting_balance="2") for key in batch],
        )
        created += batch
    return created


def payments_on_ledger(net, destination: str, source: str) -> list[dict]:
    status, body = net.request(
        "GET", f"/accounts/{destination}/payments?limit=200&order=asc"
    )
    assert status == 200, body
    return [
        record
        for record in body["_embedded"]["records"]
        if record.get("type") == "payment" and record.get("from") == source
    ]


def run_engine(timeout: float = 60.0) -> None:
    """Engine rounds until nothing is live (the engine in this process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.pump_round().live == 0:
            return
        time.sleep(0.05)
    live = list(
        SubmitterTransaction.objects.filter(
            status__in=["PENDING", "PROCESSING"]
        ).values("status", "stellar_transaction_hash", "envelope_max_ledger")
    )
    raise AssertionError(f"still live after {timeout}s: {live[:5]}")


@pytest.fixture
def tss_worker(network, django_db_setup):
    """A real Celery worker (threads) on the test database and the localnet."""
    env = dict(os.environ)
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["CELERY_KEY_PREFIX"] = CELERY_PREFIX
    env["HORIZON_URL"] = network.url
    env["NETWORK_PASSPHRASE"] = network.passphrase
    log_path = Path(ROOT / ".sdp" / f"test-tss-worker-{os.getpid()}.log")
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sdp",
            "worker",
            "-Q",
            "tss,messages,default",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _wait_for_worker(process, log.name)
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
