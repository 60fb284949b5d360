"""Shared fixtures: organizations and users, an API client, a real Celery worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import OrganizationFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["localnet.testing"]

# Each test session gets its own Celery key prefix, so that test workers of two
# checkouts sharing one Redis never take each other's tasks.
CELERY_PREFIX = f"test-{uuid.uuid4().hex[:8]}:"


def pytest_configure(config: pytest.Config) -> None:
    # Without DATABASE_URL / REDIS_URL the embedded ones (the settings only point
    # at them; nothing is started when they are imported).
    from sdp import devservices

    devservices.ensure_started()
    # Production hashes passwords slowly on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": CELERY_PREFIX}
    # Every test client calls from 127.0.0.1; tests of the limit switch it on.
    settings.RATE_LIMIT_ENABLED = False
    from sdp.celery import app

    app.conf.broker_transport_options = {"global_keyprefix": CELERY_PREFIX}


# The slow kinds (pyproject.toml's markers), found without a hand-written mark:
# by folder, by the fixtures a test uses (with theirs), or by what the test or
# one of its fixtures starts in its code. `make test-fast` deselects them.
SLOW_FOLDERS = {"e2e": "e2e", "deploy": "deploy", "localnet": "network"}
SLOW_FIXTURES = {
    "localnet": "network",
    "localnet_factory": "network",
    "network": "network",
    "tss_network": "network",
    "celery_worker_process": "worker",
    "tss_worker": "worker",
    "api_schema": "fuzz",
}
# request.getfixturevalue("network"): a fixture asked for inside the test.
ASKED_FOR = re.compile(r"getfixturevalue\(\s*[\"'](\w+)[\"']")
SLOW_CODE = {
    "running_worker(": "worker",
    "celery_process(": "worker",  # bench.broker_restart's
    "gunicorn(": "deploy",  # tests/foundation/test_ports.py's real gunicorn
    "sync_playwright": "browser",
    "one_run(": "crash",
    "start_localnet(": "network",
    "GenerationMode": "fuzz",
}


def _code(function) -> str:
    import inspect

    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _slow_kinds(item: pytest.Item, code_of: dict) -> set[str]:
    kinds = set()
    parts = Path(str(item.path)).relative_to(ROOT / "tests").parts
    if parts and parts[0] in SLOW_FOLDERS:
        kinds.add(SLOW_FOLDERS[parts[0]])
    if parts and parts[-1].startswith("test_fuzz"):
        kinds.add("fuzz")
    names = getattr(item, "fixturenames", ())
    kinds.update(SLOW_FIXTURES[name] for name in names if name in SLOW_FIXTURES)
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for definitions in info.name2fixturedefs.values() if info else ():
        functions.extend(definition.func for definition in definitions)
    for function in functions:
        if function is None:
            continue
        if function not in code_of:
            code_of[function] = _code(function)
        code = code_of[function]
        kinds.update(kind for text, kind in SLOW_CODE.items() if text in code)
        asked = ASKED_FOR.findall(code)
        kinds.update(SLOW_FIXTURES[name] for name in asked if name in SLOW_FIXTURES)
    return kinds


def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    code_of: dict = {}
    for item in items:
        for kind in sorted(_slow_kinds(item, code_of)):
            item.add_marker(kind)


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def user(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def operator(db):
    """A platform operator who uses the Django admin."""
    return UserFactory(
        organization=None, roles=[], is_owner=False, is_staff=True, is_superuser=True
    )


@contextmanager
def running_worker(name: str, *, queues: str, env: dict[str, str] | None = None):
    """A real Celery worker, in its own process, on the test database.

    Tests that use one need ``transactional_db`` (the worker sees only committed
    rows). ``queues`` keeps workers of different fixtures from taking each other's
    tasks when both are alive.
    """
    worker_env = dict(os.environ)
    worker_env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    worker_env["CELERY_KEY_PREFIX"] = CELERY_PREFIX
    worker_env.update(env or {})
    log_path = ROOT / ".sdp" / f"test-{name}-{os.getpid()}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sdp", "worker", "-Q", queues,
         "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_worker(process, log.name)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A worker for message delivery and default-queue tasks (no Stellar network)."""
    with running_worker("worker", queues="messages,default") as process:
        yield process


def _wait_for_worker(process: subprocess.Popen, log_path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited; see {log_path}")
        if "ready." in Path(log_path).read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(f"Celery worker did not start; see {log_path}")
