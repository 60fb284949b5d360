"""runserver (make demo, make run) must not keep a PostgreSQL connection per
request thread: 200 requests, each on its own HTTP connection as browsers open
them, then the server's connections counted in pg_stat_activity."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.deploy.helpers import ROOT
from tests.deploy.stack import free_port

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 200


def _server_connections(app_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [app_name],
        )
        return cursor.fetchone()[0]


def test_runserver_does_not_keep_a_connection_per_request_thread(tmp_path):
    app_name = f"runserver-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = dict(os.environ)
    env.pop("DB_CONN_MAX_AGE", None)
    env.update(
        DATABASE_NAME=settings.DATABASES["default"]["NAME"],
        PGAPPNAME=app_name,  # libpq names the server's connections
        DEBUG="false",
        RATE_LIMIT_ENABLED="false",  # 200 calls from one address
    )
    log = open(tmp_path / "runserver.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/health"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, (tmp_path / "runserver.log").read_text()
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        most = 0
        for number in range(REQUESTS):
            response = requests.get(url, timeout=10)  # a new connection each
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "pass"
            if number % 20 == 0:
                most = max(most, _server_connections(app_name))
        time.sleep(0.5)
        left = _server_connections(app_name)
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
    # One request at a time: at most the one being served (and none after).
    assert most <= 1, most
    assert left == 0, left
