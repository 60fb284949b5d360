"""gunicorn's settings for the web process (read from the working directory;
flags and GUNICORN_CMD_ARGS override them).

Sync workers, 2 x cores + 1 of them (WEB_CONCURRENCY overrides). A sync worker
takes a connection from the shared listening socket only when it is free, so
requests wait in one queue and are served in arrival order: under load, p99 stays
within ~1.2-1.5 x p50. Threaded workers keep each client's connection alive and
serve it from the process that first accepted it; the load spreads unevenly and
p99 reached 3-7 x p50 on the same machine and load (`python -m bench.api
--workers 4 --threads 2`; README, Performance). Run them behind a buffering
proxy (nginx, a cloud load balancer), as gunicorn advises for sync workers:
it keeps the client connections and slow uploads, the workers only ever see
whole requests.
"""

import gc
import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# Import the application once, then fork: workers answer at once and share the
# imported code's memory.
preload_app = True
# A 100,000-row CSV upload takes ~15 s to validate and store.
timeout = 60
backlog = 2048


def when_ready(server):
    """Before the first fork: the preloaded application's garbage collected,
    then everything it holds moved out of the collector's reach (gc.freeze).
    Each worker's full collections then scan only what it made itself: 16-47
    ms instead of 220-340 ms on the benchmark's machine (five workers
    collecting at once), and the shared pages stay shared (a collection
    writes to every object it scans)."""
    gc.collect()
    gc.freeze()


def pre_fork(server, worker):
    """A worker forked later (one replaced after a crash or timeout) gets the
    same: whatever the arbiter made since is frozen too."""
    gc.freeze()
