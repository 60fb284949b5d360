"""Issue 18.5: CRASH_TRACKER_TYPE=SENTRY sends the web process's and the
worker's errors to SENTRY_DSN through sentry-sdk's Django and Celery
integrations, with no personal data. A local fake Sentry receives the
envelopes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.foundation.sentry_app import EMAIL, PHONE

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [PHONE, EMAIL, "4155550199", "Bearer-secret-xyz", "sessid-777", "tok-abc"]


class FakeSentry(ThreadingHTTPServer):
    def __init__(self):
        self.envelopes: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.server.envelopes.append(body.decode("utf-8", "replace"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry():
    server = FakeSentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _events(sentry: FakeSentry, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = []
        for envelope in sentry.envelopes:
            lines = envelope.splitlines()
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    events.append(json.loads(payload))
        if events:
            return events
        time.sleep(0.2)
    return []


WEB_PROBE = """
import django, sentry_sdk
django.setup()
from django.test import Client
from django.test.utils import override_settings
with override_settings(ROOT_URLCONF="tests.foundation.sentry_app"):
    client = Client(raise_request_exception=False, HTTP_COOKIE="sessionid=sessid-777")
    response = client.post(
        "/boom?token=tok-abc", {"phone": %r, "email": %r},
        HTTP_AUTHORIZATION="Bearer Bearer-secret-xyz",
    )
    assert response.status_code == 500, response.status_code
sentry_sdk.flush(10)
"""


def test_web_errors_reach_sentry_without_personal_data(sentry):
    env = dict(os.environ, CRASH_TRACKER_TYPE="SENTRY", SENTRY_DSN=sentry.dsn)
    subprocess.run(
        [sys.executable, "-c", WEB_PROBE % (PHONE, EMAIL)],
        cwd=ROOT, env=env, check=True, timeout=60,
    )  # fmt: skip
    events = _events(sentry)
    assert events, "no event reached the fake Sentry"
    raw = "\n".join(sentry.envelopes)
    mechanisms = [
        value.get("mechanism", {}).get("type")
        for event in events
        for value in event.get("exception", {}).get("values", [])
    ]
    assert "django" in mechanisms, mechanisms
    assert "ValueError" in raw
    for secret in SECRETS:
        assert secret not in raw, secret
    assert "[email]" in raw  # the message is there, scrubbed


@pytest.mark.django_db(transaction=True)
def test_worker_errors_reach_sentry_without_personal_data(sentry, tmp_path):
    from django.conf import settings

    from bench.broker_restart import _wait_for, celery_process
    from sdp.celery import app
    from tests.conftest import CELERY_PREFIX

    env = dict(os.environ, CRASH_TRACKER_TYPE="SENTRY", SENTRY_DSN=sentry.dsn)
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["CELERY_KEY_PREFIX"] = CELERY_PREFIX
    queue = "sentry-test"
    log = tmp_path / "worker.log"
    with celery_process(
        "worker", env, log, "-Q", queue, "-I", "tests.foundation.sentry_app",
        "--pool", "threads", "--without-gossip", "--without-mingle",
    ) as worker:  # fmt: skip
        _wait_for(log, "ready.", worker)
        app.send_task("tests.sentry_boom", args=[PHONE, EMAIL], queue=queue)
        events = _events(sentry, timeout=30)
    assert events, log.read_text()[-3000:]
    raw = "\n".join(sentry.envelopes)
    mechanisms = [
        value.get("mechanism", {}).get("type")
        for event in events
        for value in event.get("exception", {}).get("values", [])
    ]
    assert "celery" in mechanisms, mechanisms
    assert "ValueError" in raw
    for secret in SECRETS:
        assert secret not in raw, secret
