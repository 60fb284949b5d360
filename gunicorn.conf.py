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


def _listeners() -> list[str]:
    """One listener per surface (docs/ports.md, "Ports"): PORT public on
    BIND_ADDRESS; METRICS_PORT and ADMIN_PORT on INTERNAL_BIND_ADDRESS
    (127.0.0.1 unless set: a private interface). SINGLE_PORT=true binds PORT
    alone. sdp.ports routes each request by the port of the socket that took it,
    so every listener is TCP (for a unix socket gunicorn would take the port
    from the Host header). A --bind flag replaces this list."""
    public = os.environ.get("BIND_ADDRESS", "0.0.0.0")  # noqa: S104
    port = os.environ.get("PORT", "8000")
    if os.environ.get("SINGLE_PORT", "").lower() in ("1", "true", "yes", "on"):
        return [f"{public}:{port}"]
    internal = os.environ.get("INTERNAL_BIND_ADDRESS", "127.0.0.1")
    ports = (
        port,
        os.environ.get("METRICS_PORT", "8002"),
        os.environ.get("ADMIN_PORT", "8003"),
    )
    if len(set(ports)) != 3:
        raise SystemExit(f"PORT, METRICS_PORT and ADMIN_PORT must differ: {ports}")
    return [f"{public}:{ports[0]}", f"{internal}:{ports[1]}", f"{internal}:{ports[2]}"]


bind = _listeners()

workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# Import the application once, then fork: workers answer at once and share the
# imported code's memory.
preload_app = True
# A 100,000-row CSV upload takes ~15 s to validate and store.
timeout = 60
backlog = 2048
# The access log is Django's (sdp.accesslog: one JSON line a request, with the
# request id and tenant); gunicorn's own would log each request a second time.
accesslog = None


def on_starting(server):
    """gunicorn's access log stays off even when a command line asks for it
    (``--access-logfile -``): Django's would then log every request twice. A
    --bind that leaves out the internal listeners is named."""
    single = os.environ.get("SINGLE_PORT", "").lower() in ("1", "true", "yes", "on")
    if not single and len(server.cfg.bind) < 3:
        server.log.warning(
            "only %s bound: /metrics (METRICS_PORT) and /admin-api (ADMIN_PORT) "
            "are not served; drop --bind to use gunicorn.conf.py's listeners",
            ", ".join(server.cfg.bind),
        )
    if server.cfg.accesslog:
        server.log.warning(
            "gunicorn's access log is off: Django writes one JSON line a request"
        )
        server.cfg.set("accesslog", None)
        server.log.setup(server.cfg)


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
