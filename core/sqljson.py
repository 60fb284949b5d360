"""Dashboard reads whose JSON PostgreSQL writes.

The busiest reads (payments, receivers and disbursements, listed and one by one)
answer thousands of times a minute. Built with the ORM, each row became a handful
of model instances, each timestamp a datetime and each of those a string again:
most of a list request's time went to Python (docs/performance.md). Here PostgreSQL
builds the JSON text of the whole answer in one query, and Python passes the text
through. A selector's queryset still says which rows (filters and sort stay in
one place); only the rendering moved.

Every SQL fragment here is a constant of the code; values are always bound
parameters.

- ``table(model)``: a model's table name, for SQL text;
- ``iso(column)``: a timestamp as ``auth_org.catalog_api.iso`` writes it;
  ``money(column)``: an amount with 7 decimals;
- ``fetch_row``/``fetch_text``: run a short, hot query as a prepared statement;
- ``uuid_array``: a page's keys as one parameter;
- ``one_response``, ``json_response``, ``envelope``: answers of JSON text.

``core.jsontext`` builds the objects and arrays (joined text, the bytes
``json_build_object`` writes, cheaper for PostgreSQL).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable
from typing import Any

import psycopg
from django.db import connection
from django.http import HttpResponse

from core.api import NotFound

# Always microseconds and "Z", like catalog_api.iso (isoformat with
# timespec="microseconds"): the same instant reads the same from either.
_ISO = "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def table(model: Any) -> str:
    """The table of ``model`` for SQL text: table names come from the models'
    metadata (``_meta.db_table``), never spelled out, so a renamed table or a
    model moved between apps cannot leave a query reading the old name."""
    return str(model._meta.db_table)


def iso(column: str) -> str:
    return _ISO.format(column)


def money(column: str) -> str:
    """An amount with Stellar's 7 decimals as a JSON string ("12.5000000")."""
    return f"(({column})::numeric(38, 7))::text"


Params = list[Any] | tuple[Any, ...]


def fetch_row(sql: str, params: Params) -> tuple[Any, ...] | None:
    """The first row, from a server-side prepared statement. Only for queries
    whose one plan suits every value (reads by key): a selector's filters go
    through Django's cursor, planned for their values each time.

    The JSON queries are long (every column spelled out) and planning them cost
    PostgreSQL more than running them. Prepared once per connection and SQL
    text, they are only executed after that. Django's cursors bind parameters
    on the client and cannot prepare, so the cursor underneath is psycopg's own,
    on Django's connection (same transaction and type adapters), wrapped as
    Django wraps its cursors: ``connection.execute_wrappers`` (APM, query
    counts, the debug toolbar), ``connection.queries`` when they are logged and
    Django's errors all see these reads as any other. Without prepared
    statements (settings.DB_PREPARED_STATEMENTS off) the query is simply run.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw: Any = _PreparingCursor(connection.connection)
    cursor: Any
    if connection.queries_logged:
        cursor = connection.make_debug_cursor(raw)
    else:
        cursor = connection.make_cursor(raw)
    with cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


class _PreparingCursor(psycopg.RawCursor[Any]):
    """psycopg's cursor with server-side parameters, asking for every query to
    be prepared: it receives Django's ``%s`` SQL (what the wrappers and the
    query log show) and sends PostgreSQL's own placeholders."""

    # core.postgres logs its SQL with the values (psycopg keeps no text of it).
    logs_values = True

    def execute(  # type: ignore[override]
        self, query: str, params: Params | None = None, **kwargs: Any
    ) -> _PreparingCursor:
        return super().execute(_numbered(query), params, prepare=True)


_PLACEHOLDER = re.compile(r"%([s%])")


@functools.lru_cache(maxsize=512)
def _numbered(sql: str) -> bytes:
    """``sql`` with PostgreSQL's own placeholders ($1, $2 ...) for psycopg's
    ``%s`` (and ``%%`` as ``%``), encoded: converted once per text. psycopg
    would split every long query again on each execution (it caches only short
    ones), and these are long; the same bytes object also keeps
    its hash for psycopg's lookup of the prepared statement."""
    number = itertools.count(1)
    return _PLACEHOLDER.sub(
        lambda m: f"${next(number)}" if m[1] == "s" else "%", sql
    ).encode()


def uuid_array(keys: Iterable[Any]) -> str:
    """Primary keys as the text of a uuid[] parameter (``%s::uuid[]``). Given a
    list, psycopg's dumper inspects every element to choose the array's type,
    which costs far more than joining the text."""
    return "{" + ",".join(map(str, keys)) + "}"


def fetch_text(sql: str, params: Params) -> Any:
    """The first column of the first row (as fetch_row); None without a row."""
    row = fetch_row(sql, params)
    return row[0] if row else None


def one_text(
    element: str, source: str, organization_id: Any, pk: Any, *, missing: str
) -> str:
    """The JSON ``element`` of one row. ``source`` is the text after FROM,
    starting with the row's table and its alias (``receivers_receiver r JOIN
    ...``); the row is ``<alias>.id = pk`` of the organization, else 404 with
    ``missing``."""
    alias = source.split()[1]
    body = fetch_text(
        f"SELECT ({element})::text FROM {source}"  # noqa: S608
        f" WHERE {alias}.organization_id = %s AND {alias}.id = %s",
        [organization_id, pk],
    )
    if body is None:
        raise NotFound(missing)
    return str(body)


def one_response(
    element: str,
    source: str,
    organization_id: Any,
    pk: Any,
    *,
    missing: str,
    status: int = 200,
) -> HttpResponse:
    """one_text, answered as is."""
    body = one_text(element, source, organization_id, pk, missing=missing)
    return json_response(body, status)


def json_response(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="application/json", status=status)


def envelope(data: str, pagination: dict[str, Any]) -> HttpResponse:
    """SDP's list envelope around a JSON array already rendered."""
    return json_response(f'{{"data": {data}, "pagination": {json.dumps(pagination)}}}')
