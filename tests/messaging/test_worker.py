"""Delivery through real Celery workers, including one killed mid-delivery."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from messaging.models import Message
from messaging.services import messages_to_sweep, sweep_pending_messages
from tests.factories import MessageFactory, OrganizationFactory
from tests.messaging.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def status_of(message):
    return Message.objects.values_list("status", flat=True).get(pk=message.pk)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_queued_message_is_delivered_by_a_worker(celery_worker_process):
    from messaging.services import queue_message

    organization = OrganizationFactory()
    message = queue_message(
        tenant_id=organization.id,
        kind=Message.Kind.RECEIVER_OTP,
        channel=Message.Channel.SMS,
        recipient="+14155550177",
        body="123456 is your code",
    )
    assert wait_for(lambda: status_of(message) == Message.Status.SUCCESS)
    message.refresh_from_db()
    assert message.sender == Message.Sender.DRY_RUN


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweeper_requeues_a_message_that_lost_its_task(celery_worker_process):
    # Written without a task, as if Redis had lost it.
    message = MessageFactory()
    Message.objects.filter(pk=message.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    assert sweep_pending_messages() == 1
    assert wait_for(lambda: status_of(message) == Message.Status.SUCCESS)


class Worker:
    """A Celery worker on its own key prefix, configured for the Twilio fake."""

    def __init__(self, prefix, fake):
        self.prefix = prefix
        env = dict(os.environ)
        env.update(
            DATABASE_NAME=settings.DATABASES["default"]["NAME"],
            CELERY_KEY_PREFIX=prefix,
            SMS_SENDER_TYPE="TWILIO_SMS",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_SERVICE_SID=SERVICE_SID,
            TWILIO_API_BASE_URL=fake.base_url,
            MESSAGE_SEND_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        self.log_path = ROOT / ".sdp" / f"test-kill-worker-{uuid.uuid4().hex[:6]}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
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
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        assert wait_for(lambda: "ready." in self.log_path.read_text(), 60), (
            self.log_path.read_text()
        )

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def producer(prefix):
    # Not the current app: shared tasks queued later in this session (the TSS's
    # pump) must keep going to the test workers' prefix.
    app = Celery("kill-test", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    app.conf.broker_transport_options = {"global_keyprefix": prefix}
    return app


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("answer", ["accept_then_hold", "hold"])
def test_worker_killed_mid_delivery_then_sweeper_delivers_exactly_once(
    fake_twilio, answer, settings
):
    """accept_then_hold: Twilio took the message, the worker died before hearing
    it. hold: the worker died before Twilio took it."""
    settings.MESSAGE_SEND_LEASE_SECONDS = LEASE_SECONDS
    prefix = f"kill-{uuid.uuid4().hex[:8]}:"
    app = producer(prefix)
    fake_twilio.script = [answer]
    message = MessageFactory(recipient="+14155550188", body="Invitation")
    first = Worker(prefix, fake_twilio)
    second = None
    try:
        app.send_task(
            "messaging.tasks.deliver_message_task", [str(message.pk)], queue="messages"
        )
        assert fake_twilio.received.wait(30)
        first.kill()
        fake_twilio.release.set()
        message.refresh_from_db()
        assert message.status == Message.Status.PENDING
        assert message.sending_started_at is not None
        assert message.provider_message_id == ""

        # The killed worker's lease must run out before anyone takes it over.
        assert messages_to_sweep(older_than=timedelta(0)) == []
        second = Worker(prefix, fake_twilio)
        time.sleep(LEASE_SECONDS + 0.5)
        assert messages_to_sweep(older_than=timedelta(0)) == [message.pk]
        app.send_task(
            "messaging.tasks.deliver_messages_task",
            [[str(message.pk)]],
            queue="messages",
        )
        assert wait_for(lambda: status_of(message) == Message.Status.SUCCESS)
    finally:
        first.stop()
        if second:
            second.stop()
    message.refresh_from_db()
    assert len(fake_twilio.accepted) == 1
    assert message.provider_message_id == fake_twilio.accepted[0]["sid"]
    expected_posts = 1 if answer == "accept_then_hold" else 2
    assert len(fake_twilio.posts()) == expected_posts
    assert any(r["method"] == "GET" for r in fake_twilio.requests)
