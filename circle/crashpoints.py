"""Named points where the crash harness (bench/crash_circle.py) kills the Circle
rail: ``CIRCLE_CRASH_AT=<point>`` (and ``CIRCLE_CRASH_SKIP``, as tss.crashpoints)."""

from __future__ import annotations

import os
import signal
import threading

POINTS = ("after_lease", "after_request", "after_store", "during_sync")

_hits: dict[str, int] = {}
_lock = threading.Lock()


def reached(name: str) -> None:
    if os.environ.get("CIRCLE_CRASH_AT") != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if hit > int(os.environ.get("CIRCLE_CRASH_SKIP", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
