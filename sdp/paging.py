"""The dashboard's pagination, with the total of very large lists cached.

``COUNT(*)`` over a million payments costs ~100 ms even as an index-only scan,
on every page. Totals up to EXACT_UP_TO are always exact; above that, the total of
the same organization, filters and user is kept for COUNT_TTL seconds, so paging
through a huge list costs one count, and the total the dashboard shows may lag by
that much. Pages themselves are always read fresh. A list that can know its
total exactly and cheaply (payments, from their tallies) passes ``exact_total``.
"""

from __future__ import annotations

import hashlib
import math

from django.core.cache import cache
from django.db import connection

from sdp import sqljson
from sdp.api import PageNumberPagination, _positive_int

EXACT_UP_TO = 10_000
LATE_ROWS_FROM = 200
COUNT_TTL = 30


class CachedCountPagination(PageNumberPagination):
    """``exact_total``: a callable giving the list's exact total cheaply (e.g. from
    maintained tallies), or returning None when it cannot for these filters."""

    def __init__(self, exact_total=None):
        self.exact_total = exact_total

    def window(self, queryset, request, count=None) -> tuple[int, int]:
        """Reads ``page`` and ``page_limit``, counts the list (with ``count()``
        when given, else the queryset's count); the page's first row and size."""
        self.request = request
        self.page = _positive_int(request.query_params.get("page"), "page", default=1)
        self.limit = min(
            _positive_int(
                request.query_params.get("page_limit"),
                "page_limit",
                default=self.default_limit,
            ),
            self.max_limit,
        )
        self.total = self._count(request, count or (lambda: queryset.count()))
        self.pages = math.ceil(self.total / self.limit) if self.total else 0
        return (self.page - 1) * self.limit, self.limit

    def paginate_queryset(self, queryset, request, view=None):
        start, limit = self.window(queryset, request)
        if start < LATE_ROWS_FROM:
            return list(queryset[start : start + limit])
        # Far pages: find the page's keys first (the sort index answers alone),
        # then read those rows with their relations, instead of joining every
        # skipped row to its relations only to throw it away.
        keys = list(queryset.values_list("pk", flat=True)[start : start + limit])
        return list(queryset.filter(pk__in=keys))

    def json_page(self, queryset, request, element: str, joins: str, *, exact=False):
        """The page as PostgreSQL renders it (sdp.sqljson.page_json), in SDP's
        envelope. The queryset's SQL is compiled once and serves both the count
        and the page's keys. ``exact``: count on every request (lists that stay
        small), instead of caching totals above EXACT_UP_TO."""
        sql, params = sqljson.ids_sql(queryset)

        def count() -> int:
            return sqljson.fetch_text(
                f"SELECT count(*) FROM ({sql}) AS listed",  # noqa: S608
                params,
                prepare=False,
            )

        if exact and self.exact_total is None:
            self.exact_total = count
        start, limit = self.window(queryset, request, count)
        with connection.cursor() as cursor:
            cursor.execute(f"({sql}) LIMIT %s OFFSET %s", (*params, limit, start))
            ids = [row[0] for row in cursor.fetchall()]
        body = sqljson.fetch_text(sqljson.page_json(element, joins), [ids])
        return sqljson.envelope(body, self.links())

    def _count(self, request, count) -> int:
        if self.exact_total is not None:
            total = self.exact_total()
            if total is not None:
                return total
        params = sorted(
            (k, v)
            for k, v in request.query_params.items()
            if k not in ("page", "page_limit", "sort", "direction")
        )
        tenant = getattr(request, "tenant", None)
        raw = f"{request.path}|{getattr(tenant, 'pk', '')}|{params}"
        key = "list-count:" + hashlib.sha256(raw.encode()).hexdigest()
        cached = cache.get(key)
        if cached is not None:
            return cached
        total = count()
        if total > EXACT_UP_TO:
            cache.set(key, total, COUNT_TTL)
        return total
