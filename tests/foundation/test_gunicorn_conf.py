"""gunicorn.conf.py: the settings the web process is deployed with."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

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
