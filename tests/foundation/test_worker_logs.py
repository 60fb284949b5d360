"""Issue 16.16: a real worker's log lines pass the same redaction as the web
process's: a task failing with a phone and an email in its message logs
neither (Celery's own root logger printed both)."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.conf import settings

from bench.broker_restart import _wait_for, celery_process
from tests.foundation.sentry_app import EMAIL, PHONE


@pytest.mark.django_db(transaction=True)
def test_worker_logs_are_json_and_redacted(tmp_path):
    from sdp.celery import app
    from tests.conftest import CELERY_PREFIX

    env = dict(os.environ, LOG_FORMAT="json")
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["CELERY_KEY_PREFIX"] = CELERY_PREFIX
    queue = "worker-logs-test"
    log = tmp_path / "worker.log"
    with celery_process(
        "worker", env, log, "-Q", queue, "-I", "tests.foundation.sentry_app",
        "--pool", "threads", "--without-gossip", "--without-mingle",
    ) as worker:  # fmt: skip
        _wait_for(log, "ready.", worker)
        app.send_task("tests.sentry_boom", args=[PHONE, EMAIL], queue=queue)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "raised unexpected" in log.read_text():
                break
            time.sleep(0.2)
    text = log.read_text()
    failures = [
        json.loads(line)
        for line in text.splitlines()
        if line.startswith("{") and "raised unexpected" in line
    ]
    assert failures, text[-3000:]
    assert failures[0]["level"] == "ERROR"
    assert EMAIL not in text
    assert PHONE not in text
