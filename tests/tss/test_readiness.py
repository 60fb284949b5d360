"""Issue 16.2: /health/ready fails while payments wait PENDING with no worker
taking them, and passes once a real worker has taken the work."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import running_worker
from tests.factories import MessageFactory
from tests.tss.conftest import create_receivers, queue_xlm_payments
from tss import accounts, tasks
from tss.models import SubmitterTransaction


@pytest.mark.django_db(transaction=True)
def test_ready_fails_while_payments_wait_and_passes_once_a_worker_takes_them(
    client, settings, network, channel_accounts
):
    settings.READINESS_MAX_PENDING_SECONDS = 5
    channel_accounts(2)
    tenant = uuid.uuid4()
    accounts.create_distribution_account(tenant)
    destinations = create_receivers(3)
    queue_xlm_payments(tenant, destinations, Decimal("0.5"))
    assert client.get("/health/ready").status_code == 200  # young: not stuck yet
    # No worker runs: the queue does not move past the bound.
    SubmitterTransaction.objects.filter(tenant_id=tenant).update(
        created_at=timezone.now() - timedelta(seconds=30)
    )
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["services"]["payments_queue"] == "fail"
    assert body["oldest_pending_seconds"]["payments"] >= 30
    assert client.get("/health").status_code == 200  # liveness is another matter

    env = {"HORIZON_URL": network.url, "NETWORK_PASSPHRASE": network.passphrase}
    with running_worker("ready-worker", queues="tss", env=env):
        tasks.pump.delay()  # what the beat sweeper sends every 5 s
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if client.get("/health/ready").status_code == 200:
                break
            time.sleep(0.5)
    response = client.get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["services"]["payments_queue"] == "pass"


@pytest.mark.django_db
def test_ready_fails_while_a_message_waits_unsent(client, settings):
    settings.READINESS_MAX_PENDING_SECONDS = 60
    message = MessageFactory(status="PENDING")
    assert client.get("/health/ready").status_code == 200
    type(message).objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(seconds=120)
    )
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["services"]["messages_queue"] == "fail"
    type(message).objects.filter(pk=message.pk).update(status="SUCCESS")
    assert client.get("/health/ready").status_code == 200
