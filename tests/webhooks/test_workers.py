"""Delivery by real Celery workers (queue ``webhooks``) to a real receiver:
retried until it recovers, a worker killed mid-delivery, Redis restarted empty.
Each event is delivered at least once; none is dropped."""

from __future__ import annotations

import os
import signal
import time

import pytest
import standardwebhooks
from django.conf import settings

from bench.broker_restart import celery_process
from tests.conftest import CELERY_PREFIX, ROOT, running_worker
from tests.factories import OrganizationFactory
from tests.redis_server import RedisServer
from webhooks import services
from webhooks.events import emit
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {
    "WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
    "WEBHOOK_LEASE_SECONDS": "12",
}


def wait_delivered(count: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() >= count:
            return
        time.sleep(0.2)
    raise AssertionError(
        f"{Delivery.objects.filter(status='DELIVERED').count()} of {count} delivered"
    )


def every_event_received(receiver, secret: str) -> set[str]:
    """The ids of the events received, each verified with the reference library."""
    hook = standardwebhooks.Webhook(secret)
    for request in receiver.received:
        hook.verify(request.body, request.headers)
    return {r.headers["webhook-id"] for r in receiver.received}


def test_a_worker_retries_until_the_receiver_recovers(receiver):
    organization = OrganizationFactory()
    _, secret = services.create_endpoint(tenant_id=organization.pk, url=receiver.url)
    receiver.answer = lambda n, r: (500 if n <= 3 else 200, 0)
    with running_worker("webhooks", queues="webhooks", env=FAST):
        emit(organization.pk, "payment.failed", "p-1", {"id": "p-1"})
        wait_delivered(1, timeout=60)
    assert len(receiver.received) == 4
    assert every_event_received(receiver, secret) == {str(Event.objects.get().uid)}
    assert Delivery.objects.get().attempts == 4


def test_a_worker_killed_mid_delivery_loses_nothing(receiver, tmp_path):
    organization = OrganizationFactory()
    _, secret = services.create_endpoint(tenant_id=organization.pk, url=receiver.url)
    # The first request hangs (the worker is killed meanwhile); then all is well.
    receiver.answer = lambda n, r: (200, 4 if n == 1 else 0)
    with running_worker("webhooks-killed", queues="webhooks", env=FAST) as worker:
        for n in range(5):
            emit(organization.pk, "payment.failed", f"p-{n}", {"n": n})
        receiver.wait_for(lambda got: len(got) >= 1, timeout=30)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() < 5
    env = {**FAST, "DATABASE_NAME": settings.DATABASES["default"]["NAME"]}
    with (
        running_worker("webhooks-after", queues="webhooks", env=FAST),
        celery_process(
            "beat",
            {**os.environ, **env, "CELERY_KEY_PREFIX": CELERY_PREFIX},
            ROOT / ".sdp" / f"test-webhooks-beat-{os.getpid()}.log",
            "--schedule",
            str(tmp_path / "beat"),
        ),
    ):
        wait_delivered(5, timeout=60)
    events = {str(uid) for uid in Event.objects.values_list("uid", flat=True)}
    assert every_event_received(receiver, secret) == events
    # The one in flight when the worker died was sent again: at least once.
    assert len(receiver.received) > len(
        {r.headers["webhook-id"] for r in receiver.received}
    )


def test_deliveries_go_on_after_redis_restarts_empty(receiver, tmp_path):
    redis = RedisServer()
    redis.start()
    try:
        organization = OrganizationFactory()
        _, secret = services.create_endpoint(
            tenant_id=organization.pk, url=receiver.url
        )
        receiver.answer = lambda n, r: (200, 0.2)
        env = {
            **FAST,
            "REDIS_URL": redis.url,
            "DATABASE_NAME": settings.DATABASES["default"]["NAME"],
        }
        with (
            running_worker("webhooks-broker", queues="webhooks", env=env),
            celery_process(
                "beat",
                {**os.environ, **env, "CELERY_KEY_PREFIX": CELERY_PREFIX},
                ROOT / ".sdp" / f"test-webhooks-broker-beat-{os.getpid()}.log",
                "--schedule",
                str(tmp_path / "beat"),
            ),
        ):
            # Woken through the test's own broker: the worker hears only the
            # sweeper, through the Redis that is restarted.
            for n in range(30):
                emit(organization.pk, "payment.failed", f"p-{n}", {"n": n})
            receiver.wait_for(lambda got: len(got) >= 3, timeout=40)
            redis.restart(down_seconds=2)
            wait_delivered(30, timeout=90)
        events = {str(uid) for uid in Event.objects.values_list("uid", flat=True)}
        assert len(events) == 30
        assert every_event_received(receiver, secret) == events
    finally:
        redis.close()
