"""gunicorn.conf.py: the settings the web process is deployed with."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_sync_workers_two_per_core_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = runpy.run_path(str(CONF))
    assert conf["worker_class"] == "sync"
    assert conf["preload_app"] is True
    assert conf["workers"] == 2 * conf["multiprocessing"].cpu_count() + 1
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(CONF))["workers"] == 3


def test_the_preloaded_application_is_frozen_before_workers_fork():
    conf = runpy.run_path(str(CONF))
    try:
        conf["when_ready"](None)
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        made_since = [[] for _ in range(10)]  # tracked containers, kept alive
        conf["pre_fork"](None, None)
        assert gc.get_freeze_count() >= frozen + len(made_since)
    finally:
        gc.unfreeze()


def test_three_tcp_listeners_public_and_two_internal(monkeypatch):
    for name in ("PORT", "METRICS_PORT", "ADMIN_PORT", "SINGLE_PORT", "BIND_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("INTERNAL_BIND_ADDRESS", raising=False)
    assert runpy.run_path(str(CONF))["bind"] == [
        "0.0.0.0:8000",
        "127.0.0.1:8002",
        "127.0.0.1:8003",
    ]
    monkeypatch.setenv("INTERNAL_BIND_ADDRESS", "10.0.0.5")
    monkeypatch.setenv("METRICS_PORT", "9102")
    assert runpy.run_path(str(CONF))["bind"][1:] == ["10.0.0.5:9102", "10.0.0.5:8003"]
    monkeypatch.setenv("SINGLE_PORT", "true")
    assert runpy.run_path(str(CONF))["bind"] == ["0.0.0.0:8000"]
    monkeypatch.setenv("SINGLE_PORT", "false")
    monkeypatch.setenv("ADMIN_PORT", "8000")
    with pytest.raises(SystemExit):
        runpy.run_path(str(CONF))
