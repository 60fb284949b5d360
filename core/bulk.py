"""Many rows in one statement: per-row values for an UPDATE, and COPY (the one
bulk writer of the code base; each app's service calls it for its own tables).

``QuerySet.bulk_update`` writes ``CASE WHEN pk = ... THEN ...`` per row and
field: at 500 rows Django spends ~0.3 s compiling it and PostgreSQL evaluates
every CASE for every row. ``UPDATE ... FROM unnest(arrays)`` joins the new
values by primary key instead: one statement whose text does not grow with the
rows, one index lookup per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models


def update_from_values(
    model: type[models.Model],
    rows: Mapping[Any, Mapping[str, Any]],
    *,
    also: Mapping[str, Any] | None = None,
    where: Mapping[str, Any] | None = None,
    match: Iterable[str] = (),
) -> list:
    """Set, for each primary key of ``rows``, the fields of its mapping (every
    mapping names the same fields) and the constant ``also`` fields.

    Only rows whose columns equal the constants of ``where`` and whose ``match``
    columns equal the row's own value in its mapping (which are compared, not
    written) are touched. Returns the primary keys updated.
    """
    if not rows:
        return []
    meta = model._meta
    pk = meta.pk
    first = next(iter(rows.values()))
    match = tuple(match)
    names = [name for name in first if name not in match]
    fields = [meta.get_field(name) for name in (*names, *match)]
    # One array per column: the statement's text does not depend on the number
    # of rows (psycopg parses and caches it once).
    arrays = [f"%s::{pk.db_type(connection)}[]"]
    arrays += [f"%s::{field.db_type(connection)}[]" for field in fields]
    columns = ["k", *(f"c{i}" for i in range(len(fields)))]
    params: list = [[pk.get_db_prep_value(key, connection) for key in rows]]
    params += [
        [
            field.get_db_prep_value(values[field.name], connection)
            for values in rows.values()
        ]
        for field in fields
    ]
    quote = connection.ops.quote_name
    assignments = [
        f"{quote(field.column)} = v.c{i}"
        for i, field in enumerate(fields[: len(names)])
    ]
    set_params: list = []
    for name, value in (also or {}).items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        set_params.append(field.get_db_prep_value(value, connection))
    conditions = [f"t.{quote(pk.column)} = v.k"]
    conditions += [
        f"t.{quote(field.column)} = v.c{len(names) + i}"
        for i, field in enumerate(fields[len(names) :])
    ]
    where_params: list = []
    for name, value in (where or {}).items():
        field = meta.get_field(name)
        conditions.append(f"t.{quote(field.column)} = %s")
        where_params.append(field.get_db_prep_value(value, connection))
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(assignments)} "  # noqa: S608
        f"FROM unnest({', '.join(arrays)}) AS v({', '.join(columns)}) "
        f"WHERE {' AND '.join(conditions)} RETURNING t.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, *params, *where_params])
        return [row[0] for row in cursor.fetchall()]


# --- COPY ---------------------------------------------------------------------

COPY_CHUNK = 5000

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    kind = type(value)
    if kind is str:
        return value.translate(_ESCAPES)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind in (datetime, date):
        return value.isoformat()
    if kind in (uuid.UUID, int, Decimal):
        return str(value)
    if isinstance(value, str):  # TextChoices members
        return str.translate(value, _ESCAPES)
    raise TypeError(f"no COPY text for {kind.__name__}")


def copy_rows(
    table: str, columns: Sequence[str], rows: Iterable[Sequence], *, suffix: str = ""
) -> int:
    """COPY rows into ``table`` (names quoted here): an order of magnitude faster
    than INSERT for thousands of rows. ``rows`` may be a generator: it is consumed
    COPY_CHUNK rows at a time, so a file's rows are never all formatted at once,
    and the server stores a chunk while the next one is made. ``suffix`` is COPY
    text appended to every line (the same trailing values). Returns the rows
    written.

    Rows are formatted as COPY text here, in chunks: psycopg's per-value
    adaptation (``write_row``) costs more than the database's work."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    end = suffix + "\n"
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
    ):
        lines: list[str] = []
        for row in rows:
            lines.append("\t".join(map(copy_text, row)))
            if len(lines) == COPY_CHUNK:
                copy.write(end.join(lines) + end)
                count += len(lines)
                lines = []
        if lines:
            copy.write(end.join(lines) + end)
            count += len(lines)
    return count


def field_defaults(
    model: type[models.Model], given: Iterable[str], *, now
) -> dict[str, Any]:
    """{column: value} of every concrete column not in ``given`` (attnames) and
    not generated by the database, as save() would write it: auto_now fields get
    ``now``, the others their default. A callable default cannot be shared by
    many rows, so such a column must be given."""
    given = set(given)
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.attname in given or isinstance(field, models.AutoField):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values[field.column] = now
        elif field.has_default() and callable(field.default):
            raise ValueError(f"{model.__name__}.{field.attname} needs a value")
        else:
            values[field.column] = field.get_default()
    return values


def copy_model(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    now,
    same: Mapping[str, Any] | None = None,
) -> int:
    """COPY rows giving ``columns`` (attnames), in that order; ``same`` gives
    values every row shares (attnames), and every other column gets the field's
    default (auto_now fields: ``now``), as save() would. Shared values are
    formatted once for the whole file."""
    meta = model._meta
    constants = {
        meta.get_field(name).column: value for name, value in (same or {}).items()
    }
    constants.update(field_defaults(model, [*columns, *(same or {})], now=now))
    column_names = [meta.get_field(name).column for name in columns]
    return copy_rows(
        meta.db_table,
        [*column_names, *constants],
        rows,
        suffix="".join("\t" + copy_text(value) for value in constants.values()),
    )


def insert_select(
    model: type[models.Model],
    expressions: Mapping[str, str],
    constants: Mapping[str, Any],
    rest: str,
    *,
    now,
    params: Sequence = (),
) -> int:
    """INSERT INTO the model's table the columns of ``expressions`` (attname:
    SQL over the staging table) and ``constants``; every other column gets its
    default, as save() would. ``rest`` is the query's FROM and what follows it;
    ``params`` are those of the expressions' placeholders. Returns the rows
    inserted."""
    meta = model._meta
    values = {meta.get_field(name).column: value for name, value in constants.items()}
    values.update(field_defaults(model, [*expressions, *constants], now=now))
    types = {field.column: field.db_type(connection) for field in meta.concrete_fields}
    # Typed: an untyped parameter in a SELECT list is text.
    selected = [
        *expressions.values(),
        *(f"%s::{types[column]}" for column in values),
    ]
    columns = [meta.get_field(name).column for name in expressions]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} ({', '.join([*columns, *values])}) "
            f"SELECT {', '.join(selected)} {rest}",
            [*params, *values.values()],
        )
        return cursor.rowcount
