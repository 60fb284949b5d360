"""Issues 16.12 and 18.3: real gunicorn with gunicorn.conf.py binds three
listeners; /metrics and /health/ready only on METRICS_PORT, the tenant admin
API and the Django admin only on ADMIN_PORT (the admin also on the public port
with ADMIN_UI_ENABLED), whatever the Host header says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn(*args: str, **env_extra: str):
    ports = {name: free_port() for name in ("PORT", "METRICS_PORT", "ADMIN_PORT")}
    env = dict(os.environ, WEB_CONCURRENCY="1", SINGLE_PORT="false")
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env.update({k: str(v) for k, v in ports.items()}, **env_extra)
    log = open(ROOT / ".sdp" / f"test-gunicorn-{os.getpid()}.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "sdp.wsgi", "-c", "gunicorn.conf.py", *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, Path(log.name).read_text()[-3000:]
            try:
                if all(get(p, "/health")[0] == 200 for p in ports.values()):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError(Path(log.name).read_text()[-3000:])
        yield ports, Path(log.name)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if host:
        request.add_header("Host", host)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_each_surface_on_its_own_listener():
    with gunicorn(ADMIN_UI_ENABLED="false") as (ports, _log):
        public, metrics, admin = ports.values()
        # Public: no metrics, no tenant admin API, no Django admin.
        assert get(public, "/metrics")[0] == 404
        assert get(public, "/metrics", host=f"127.0.0.1:{metrics}")[0] == 404
        assert get(public, "/health/ready")[0] == 404
        assert get(public, "/admin-api/tenants")[0] == 404
        assert get(public, "/admin-api/tenants", host=f"127.0.0.1:{admin}")[0] == 404
        assert get(public, "/admin/login/")[0] == 404
        assert get(public, "/health")[0] == 200
        assert get(public, "/organization")[0] in (400, 401, 403)  # routed
        # Metrics: metrics and readiness only.
        status, body = get(metrics, "/metrics")
        assert status == 200
        assert "django_http_requests" in body
        assert get(metrics, "/health/ready")[0] in (200, 503)
        assert get(metrics, "/admin-api/tenants")[0] == 404
        assert get(metrics, "/admin/login/")[0] == 404
        # Admin: the tenant admin API (asks for its key) and the Django admin.
        assert get(admin, "/admin-api/tenants")[0] in (401, 403)
        assert get(admin, "/admin/login/")[0] == 200
        assert get(admin, "/metrics")[0] == 404
        assert get(admin, "/organization")[0] == 404


@pytest.mark.django_db(transaction=True)
def test_admin_ui_enabled_serves_the_django_admin_on_the_public_port():
    with gunicorn(ADMIN_UI_ENABLED="true") as (ports, _log):
        assert get(ports["PORT"], "/admin/login/")[0] == 200
        assert get(ports["PORT"], "/admin-api/tenants")[0] == 404
        assert get(ports["PORT"], "/metrics")[0] == 404
