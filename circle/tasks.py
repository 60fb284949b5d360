"""Celery tasks of the Circle rail (queue ``tss``, with the other payments):
thin wrappers around the rounds.

``dispatch`` sends and polls until nothing is due, then, while requests are
still live, re-queues itself CIRCLE_POLL_SECONDS later (a cache key keeps it to
one chain); the beat's ``sweep`` restarts a chain lost with a dead worker.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from circle import services

CHAIN_KEY = "circle:dispatch-chain"


@shared_task(ignore_result=True)
def dispatch(chain: bool = False) -> None:
    try:
        while services.send_round() or services.sync_round():
            pass
    finally:
        if chain:
            cache.delete(CHAIN_KEY)
        if services.live_count():
            countdown = settings.CIRCLE_POLL_SECONDS
            if cache.add(CHAIN_KEY, 1, timeout=int(countdown) + 60):
                dispatch.apply_async(kwargs={"chain": True}, countdown=countdown)


@shared_task(ignore_result=True)
def sweep() -> None:
    """Beat (SDP's circle_reconciliation job): wake the rail if anything is live."""
    if services.live_count():
        dispatch.delay()
