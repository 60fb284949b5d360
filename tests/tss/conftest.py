"""Fixtures of the TSS tests: the localnet as Horizon, a funded host account,
channel accounts, a tenant with its own distribution account, and helpers to
create receivers and read the ledger."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from stellar_sdk import CreateAccount, Keypair

from tests.conftest import running_worker
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


def queue_xlm_payments(tenant, destinations: list[str], amount: Decimal) -> None:
    """One XLM payment of ``amount`` to each destination, queued for the TSS as
    the hand-off queues them (in one transaction)."""
    from django.db import transaction

    from tss import services

    with transaction.atomic():
        services.queue_payments(
            [
                services.PaymentOrder(
                    tenant_id=tenant,
                    external_id=str(uuid.uuid4()),
                    destination=destination,
                    asset_code="XLM",
                    asset_issuer="",
                    amount=amount,
                )
                for destination in destinations
            ]
        )


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
    """A real Celery worker on the test database and the localnet."""
    env = {"HORIZON_URL": network.url, "NETWORK_PASSPHRASE": network.passphrase}
    with running_worker("tss-worker", queues="tss,messages,default", env=env) as worker:
        yield worker
