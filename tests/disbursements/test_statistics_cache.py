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
