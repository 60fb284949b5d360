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

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Window

from sdp import jsontext, sqljson
from sdp.api import PageNumberPagination

EXACT_UP_TO = 10_000
COUNT_TTL = 30


class CachedCountPagination(PageNumberPagination):
    """``exact_total``: a callable giving the list's exact total cheaply (e.g. from
    maintained tallies), or returning None when it cannot for these filters."""

    def __init__(self, exact_total=None):
        self.exact_total = exact_total

    def json_page(
        self,
        queryset,
        request,
        element: str,
        joins: str,
        *,
        exact=False,
    ):
        """The page as PostgreSQL renders it (sdp.jsontext.page of ``element``,
        JSON text, and ``joins``), in SDP's envelope.
        ``exact``: count on every request (lists that stay small), instead of
        caching totals above EXACT_UP_TO.

        Two queries when the total is known (exact_total, or cached): the page's
        keys, then their JSON. When it is not, the keys' query counts too
        (``count(*) OVER ()``, the whole filtered list before the page is
        cut), instead of running the filters a second time."""
        self.read_page(request)
        total = self._known_total(request, cached=not exact)
        if total is None:
            keys = queryset.annotate(listed=Window(Count("*")))
            keys = keys.values_list("pk", "listed")
        else:
            keys = queryset.values_list("pk")
        sql, params = keys[self.start : self.start + self.limit].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if total is None:
            # Past the last page no row carries the total: count it alone.
            total = rows[0][1] if rows else (queryset.count() if self.start else 0)
            self._remember_total(request, total, cached=not exact)
        self.set_total(total)
        body = sqljson.fetch_text(
            jsontext.page(element, joins), [[row[0] for row in rows]]
        )
        return sqljson.envelope(body, self.links())

    def _known_total(self, request, *, cached=True) -> int | None:
        """The exact total if exact_total knows it, else a cached one."""
        if self.exact_total is not None:
            total = self.exact_total()
            if total is not None:
                return total
        return cache.get(self._count_key(request)) if cached else None

    def _remember_total(self, request, total: int, *, cached=True) -> None:
        if cached and total > EXACT_UP_TO:
            cache.set(self._count_key(request), total, COUNT_TTL)

    @staticmethod
    def _count_key(request) -> str:
        params = sorted(
            (k, v)
            for k, v in request.query_params.items()
            if k not in ("page", "page_limit", "sort", "direction")
        )
        tenant = getattr(request, "tenant", None)
        raw = f"{request.path}|{getattr(tenant, 'pk', '')}|{params}"
        return "list-count:" + hashlib.sha256(raw.encode()).hexdigest()
