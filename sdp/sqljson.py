"""Dashboard reads whose JSON PostgreSQL writes.

The busiest reads (payments, receivers and disbursements, listed and one by one)
answer thousands of times a minute. Built with the ORM, each row became a handful
of model instances, each timestamp a datetime and each of those a string again:
about 0.5 ms of Python per row, most of a list request's time. Here PostgreSQL
builds the JSON text of the whole answer in one query, and Python passes the text
through. A selector's queryset still says which rows (filters and sort stay in
one place); only the rendering moved.

Every SQL fragment here is a constant of the code; values are always bound
parameters.

- ``obj(key=sql, ...)``: a ``json_build_object`` from keyword arguments;
- ``iso(column)``: a timestamp as ``auth_org.catalog_api.iso`` writes it;
- ``ids_sql(queryset)``: the ordered, sliced primary keys a queryset selects, as
  SQL and parameters to embed;
- ``fetch_row``/``fetch_text``: run a short, hot query as a prepared statement.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpResponse

# Always microseconds and "Z", like catalog_api.iso (isoformat with
# timespec="microseconds"): the same instant reads the same from either.
_ISO = "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def iso(column: str) -> str:
    return _ISO.format(column)


def money(column: str) -> str:
    """An amount with Stellar's 7 decimals as a JSON string ("12.5000000")."""
    return f"(({column})::numeric(38, 7))::text"


def obj(**fields: str) -> str:
    """``json_build_object('a', <sql>, 'b', <sql>)``; keys are Python names."""
    if len(fields) > 50:  # json_build_object takes at most 100 arguments
        raise ValueError("json_build_object takes at most 50 keys")
    pairs = ", ".join(f"'{key}', {sql}" for key, sql in fields.items())
    return f"json_build_object({pairs})"


def agg(element: str, source: str, order: str) -> str:
    """A JSON array (``[]`` when empty) of ``element`` over ``source`` (the
    text after FROM, with its WHERE), in ``order``."""
    return (
        f"coalesce((SELECT json_agg({element} ORDER BY {order}) FROM {source}),"  # noqa: S608
        " '[]'::json)"
    )


def ids_sql(queryset: QuerySet, start: int = 0, limit: int | None = None):
    """The queryset's primary keys in its order, sliced, as ``(sql, params)``:
    ``unnest(ARRAY(<sql>)) WITH ORDINALITY`` keeps the order for the caller."""
    ids = queryset.values_list("pk", flat=True)
    if limit is not None:
        ids = ids[start : start + limit]
    sql, params = ids.query.sql_with_params()
    return sql, tuple(params)


def page_json(element: str, joins: str, ids: tuple[str, tuple]) -> tuple[str, list]:
    """A query giving the JSON array of ``element`` for each id of ``ids`` (from
    ids_sql), in their order; ``joins`` starts ``FROM`` with the alias ``page``
    (columns ``id`` and ``ord``) in scope, e.g. ``JOIN t ON t.id = page.id``."""
    sql, params = ids
    query = (
        f"SELECT coalesce(json_agg({element} ORDER BY page.ord), '[]'::json)::text"  # noqa: S608
        f" FROM unnest(ARRAY({sql})) WITH ORDINALITY AS page(id, ord) {joins}"
    )
    return query, list(params)


def fetch_row(sql: str, params: list | tuple) -> tuple | None:
    """The first row, from a server-side prepared statement.

    The JSON queries are long (every column spelled out) and planning them cost
    PostgreSQL more than running them: ~1.8 ms of a 2.4 ms payment details.
    Prepared once per connection and SQL text, they are only executed after
    that. Django's cursors bind parameters on the client and cannot prepare, so
    this one is psycopg's own, on Django's connection (same transaction and
    type adapters; errors raised as Django's). Without prepared statements
    (settings.DB_PREPARED_STATEMENTS off) the query is simply run.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def fetch_text(sql: str, params: list | tuple) -> Any:
    """The first column of the first row (prepared, as fetch_row); None when
    there is no row."""
    row = fetch_row(sql, params)
    return row[0] if row else None


def json_response(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="application/json", status=status)


def envelope(data: str, pagination: dict[str, Any]) -> HttpResponse:
    """SDP's list envelope around a JSON array already rendered."""
    return json_response(f'{{"data": {data}, "pagination": {json.dumps(pagination)}}}')
