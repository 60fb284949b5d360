"""Cached statistics: fresh for the TTL; past it, one request recomputes while
the others answer the previous figures."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from disbursements import selectors
from tests.factories import DisbursementFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def test_stale_figures_answer_while_one_request_recomputes():
    payment = PaymentFactory(status="READY")
    organization = payment.organization
    key = f"statistics:{organization.pk}:"
    cache.delete_many([key, f"{key}:refresh"])
    first = selectors.cached_statistics(organization)
    assert first["payment_counters"]["total"] == 1
    PaymentFactory(disbursement=DisbursementFactory(organization=organization))
    # Fresh: the cached figures.
    assert selectors.cached_statistics(organization) == first
    # Past the TTL while another request holds the refresh: the previous figures.
    computed_at, figures = cache.get(key)
    cache.set(key, (computed_at - selectors.STATISTICS_TTL - 1, figures), 60)
    assert cache.add(f"{key}:refresh", 1, 10)
    assert selectors.cached_statistics(organization) == first
    # Once nobody refreshes, the next request recomputes.
    cache.delete(f"{key}:refresh")
    fresh = selectors.cached_statistics(organization)
    assert fresh["payment_counters"]["total"] == 2
    assert cache.get(key)[0] >= time.time() - 5
    assert cache.get(f"{key}:refresh") is None


DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def test_statistics_are_served_uncached_while_redis_is_down(api, owner, settings):
    """Issue 16.14: GET /statistics answered 500 while Redis was down."""
    PaymentFactory(
        disbursement=DisbursementFactory(organization=owner.organization),
        status="READY",
    )
    settings.CACHES = DEAD_REDIS
    response = api.get("/statistics")
    assert response.status_code == 200, response.content
    assert response.json()["payment_counters"]["total"] == 1
