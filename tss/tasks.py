"""Celery tasks of the TSS (queue ``tss``): thin wrappers around the engine.

``pump`` runs one engine round. While live work remains, one follow-up chain
runs rounds for a few seconds and re-queues itself an eighth of a ledger (at
most 0.5 s) later (a cache key, held while the chain runs, keeps it to one
chain); hand-offs queue extra pumps on commit, and the beat sweeper queues one
every few seconds whenever live work exists, so a lost message or a dead worker
delays payments by seconds, never forever.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.core.cache import cache

from tss import engine, horizon, services

logger = logging.getLogger(__name__)
CHAIN_KEY = "tss:pump-chain"


SLICE_SECONDS = 5.0  # a chain task gives its worker thread back this often


@shared_task(ignore_result=True)
def pump(chain: bool = False) -> None:
    """One engine round; a chain task runs rounds back to back for a few
    seconds (a round that moved nothing waits an eighth of a ledger first),
    then re-queues itself: no broker round trip between rounds."""
    live = True
    try:
        deadline = time.monotonic() + SLICE_SECONDS
        while True:
            result = engine.pump_round(send_in_background=True)
            live = result.live
            if not (chain and live) or time.monotonic() > deadline:
                break
            if not result.progressed:
                time.sleep(_countdown())
    finally:
        if chain:
            cache.delete(CHAIN_KEY)
        if live:
            # A few rounds per ledger: a round with nothing new costs a cached
            # root read and a few indexed queries, and a round soon after a
            # ledger closes frees its channels for the next one.
            countdown = _countdown()
            timeout = int(countdown + SLICE_SECONDS) + 10
            if cache.add(CHAIN_KEY, 1, timeout=timeout):
                pump.apply_async(kwargs={"chain": True}, countdown=countdown)


def _countdown() -> float:
    return max(0.05, min(0.5, horizon.ledger_close_seconds() / 8))


@shared_task(ignore_result=True)
def sweep() -> None:
    """Beat: wake the engine if anything is live (lost message, dead worker)."""
    if services.live_count():
        pump.delay()


@shared_task(ignore_result=True)
def reconcile_leases() -> None:
    """Beat: free channel accounts whose lease ran out with nothing to resolve."""
    freed = services.release_stale_channel_leases()
    if freed:
        logger.info("released %d stale channel-account leases", freed)


def _start_worker_metrics(**kwargs) -> None:
    """Serve this worker's counters on TSS_WORKER_METRICS_PORT, when set (the
    web process's /metrics shows the database gauges, not a worker's counters)."""
    import os

    port = os.environ.get("TSS_WORKER_METRICS_PORT")
    if port:
        from prometheus_client import start_http_server

        start_http_server(int(port), addr="127.0.0.1")


def _connect() -> None:
    from celery.signals import worker_init

    worker_init.connect(_start_worker_metrics, weak=False)


_connect()
