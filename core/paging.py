"""The dashboard's pagination, with the total of very large lists cached.

``COUNT(*)`` over a million payments is slow even as an index-only scan
(docs/performance.md), and it ran on every page. Totals up to EXACT_UP_TO are
always exact; above that, the total of the same organization, path and
filters is recounted every COUNT_TTL seconds, so
paging through a huge list costs one count, and the total the dashboard shows may
lag by that much. Pages themselves are always read fresh. A list that can know its
total exactly and cheaply (payments, from their tallies) passes ``exact_total``.

A stale total is recounted by one request only, the first to claim the recount;
the others serve the stale total meanwhile (for up to COUNT_KEPT seconds). Without
that, every request arriving while the total is stale counts at once, and
that herd of counts, every COUNT_TTL, was the receivers list's p99.

Each worker also keeps what it learnt (LOCAL_TOTALS entries, fresh as long as
the shared entry): a cached total, or that the list is small and counted on every
request. Within that time a list asks nothing of the cache, which saves a Redis
round trip on every page of every list.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

from django.core.cache import cache
from django.db import connection
from django.db.models.expressions import RawSQL

from core import jsontext, sqljson
from core.api import PageNumberPagination

EXACT_UP_TO = 10_000
COUNT_TTL = 30  # seconds a cached total is fresh
COUNT_KEPT = 600  # seconds a stale total may be served while it is recounted
RECOUNT_CLAIM = 10  # seconds before another request may retry a recount
LOCAL_TOTALS = 1024  # lists whose totals a worker remembers

# This process's totals: key -> (total, or None for "small: count it", fresh
# until), least recently used first.
_local: OrderedDict[str, tuple[int | None, float]] = OrderedDict()


def forget_totals() -> None:
    """Forget this process's totals (the shared ones live in the cache)."""
    _local.clear()


def _remember_locally(key: str, total: int | None, fresh_until: float) -> None:
    """Each step is one atomic dict operation, so threads (runserver, threaded
    workers) can share the dict without a lock."""
    _local.pop(key, None)
    _local[key] = (total, fresh_until)  # a new key goes last
    while len(_local) > LOCAL_TOTALS:
        try:
            _local.popitem(last=False)
        except KeyError:  # emptied meanwhile by another thread
            break


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
        """The page as PostgreSQL renders it (core.jsontext.page of ``element``,
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
            # As text: Window(Count("*")) costs the ORM CPU to resolve and
            # compile on every search, for the same SQL.
            keys = queryset.annotate(listed=RawSQL("count(*) OVER ()", ()))
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
            jsontext.page(element, joins),
            [sqljson.uuid_array(row[0] for row in rows)],
        )
        return sqljson.envelope(body, self.links())

    def _known_total(self, request, *, cached=True) -> int | None:
        """The exact total if exact_total knows it, else a cached one."""
        if self.exact_total is not None:
            total = self.exact_total()
            if total is not None:
                return total
        if not cached:
            return None
        key = self._count_key(request)
        known = _local.get(key)
        if known is not None and time.time() < known[1]:
            return known[0]
        return self._cached_total(key)

    @staticmethod
    def _cached_total(key: str) -> int | None:
        """The cached total; None, to count, when there is none, or when it is
        stale and this request is the one that claimed the recount."""
        entry = cache.get(key)
        if entry is None:
            return None
        total, fresh_until = entry
        if time.time() < fresh_until:
            _remember_locally(key, total, fresh_until)
            return total
        if cache.add(f"{key}:recount", 1, RECOUNT_CLAIM):
            return None
        return total

    def _remember_total(self, request, total: int, *, cached=True) -> None:
        if not cached:
            return
        key = self._count_key(request)
        fresh_until = time.time() + COUNT_TTL
        if total > EXACT_UP_TO:
            cache.set(key, (total, fresh_until), COUNT_KEPT)
            cache.delete(f"{key}:recount")
            _remember_locally(key, total, fresh_until)
        else:
            _remember_locally(key, None, fresh_until)

    @staticmethod
    def _count_key(request) -> str:
        params = sorted(
            (k, v)
            for k, v in request.query_params.items()
            if k not in ("page", "page_limit", "sort", "direction")
        )
        tenant = getattr(request, "tenant", None)
        raw = f"{request.path}|{getattr(tenant, 'pk', '')}|{params}"
        return "list-total:" + hashlib.sha256(raw.encode()).hexdigest()
