"""Named points where the crash harness (bench/crash.py) kills the engine.

Inactive unless the process was started with ``TSS_CRASH_AT=<point>``; then the
``TSS_CRASH_SKIP``-th time (default 0) the point is reached, the process sends
itself SIGKILL: no clean-up, no finally blocks, like a machine losing power.
"""

from __future__ import annotations

import os
import random
import signal
import threading

POINTS = (
    "after_lease",
    "after_simulate",
    "after_sign",
    "after_store",
    "during_send",
    "after_accept",
    "during_hook",
)

_hits: dict[str, int] = {}
_lock = threading.Lock()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def reached(name: str) -> None:
    if os.environ.get("TSS_CRASH_AT") != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if hit <= int(os.environ.get("TSS_CRASH_SKIP", "0")):
        return
    if name == "during_send":
        # Die while requests are on the wire: some reached the network, some not.
        threading.Timer(random.uniform(0.0, 0.01), _die).start()
        return
    _die()
