"""The dashboard reads' JSON, written by PostgreSQL by joining text.

``json_build_object`` (what these reads used first) looks up the
type of every argument, keys included, in the catalog caches on every row,
several lookups per value and per key: with dozens of keys per receiver, a
large share of a receivers page's database CPU (docs/performance.md). Here an
object is its keys (constants) and its values (already JSON text) joined with
``||``: the same bytes as ``json_build_object`` writes (``{"key" : value, ...}``,
arrays ``[a, b]`` as ``json_agg`` writes them), for much less.

Every value is SQL giving JSON text, never NULL: wrap each column with the
function of its kind (a SQL NULL reads ``null``, as with json_build_object).

- ``string(sql)``: text, escaped (``to_json``);
- ``quoted(sql)``: a value whose text needs no escaping, in quotes: only a
  number or SQL cast to such a type (``r.id::uuid``, ``rf.total::bigint``; a
  no-op for a column of that type), so a text column cannot slip in unescaped;
- ``iso(column)``, ``money(column)``: timestamps and amounts, quoted;
- ``literal(sql)``: numbers and booleans, as they are;
- ``obj(**fields)``, ``members(**fields)``, ``join(*members)``: objects;
- ``array(element, order)``, ``agg(element, source, order)``: arrays;
  ``page(element, joins)``: the array of a page of keys.

Like sqljson, every fragment is a constant of the code; values are bound.
"""

from __future__ import annotations

import re

from core import sqljson


def string(sql: str) -> str:
    return f"coalesce(to_json({sql})::text, 'null')"


# Types whose text form is digits, letters, '-', '.', ':', ' ' or '+': nothing
# JSON escapes. A value cast to one of them is either of that form or an error.
SAFE_CASTS = ("uuid", "bigint", "integer", "smallint", "numeric", "date")
_CAST = re.compile(r"(?s)^(?P<value>.+)::(?P<type>[a-z]+)$")
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_NUMBER = re.compile(r"^[0-9]+$")


def quoted(sql: str, *, null: str = "null") -> str:
    """The text of ``sql`` in quotes, unescaped (cheaper than ``string``); the
    JSON ``null`` (or ``null``, e.g. ``'""'``) for a SQL NULL. Only for a value
    that cannot need escaping: a number, or a column or parenthesized
    expression cast to one of SAFE_CASTS (``rw.id::uuid``: a no-op for a uuid
    column, an error for text that is not one). Anything else, a text column
    above all, is refused (ValueError): text goes through ``string``."""
    if not _NUMBER.match(sql):
        cast = _CAST.match(sql)
        value = cast["value"] if cast else ""
        if (
            cast is None
            or cast["type"] not in SAFE_CASTS
            or not (_COLUMN.match(value) or _parenthesized(value))
        ):
            raise ValueError(
                f"jsontext.quoted({sql!r}): only a number or a value cast to"
                f" {', '.join(SAFE_CASTS)}; text goes through jsontext.string"
            )
    return _quote(sql, null)


def _parenthesized(sql: str) -> bool:
    """Whether ``sql`` is one expression in parentheses: "(a)", not "(a) || (b)"."""
    if not sql.startswith("("):
        return False
    depth = 0
    for i, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i == len(sql) - 1
    return False


def _quote(sql: str, null: str = "null") -> str:
    """``sql``'s text in quotes, for what is safe by construction (iso, money)."""
    return f"coalesce('\"' || ({sql})::text || '\"', '{null}')"


def literal(sql: str) -> str:
    return f"coalesce(({sql})::text, 'null')"


def iso(column: str) -> str:
    """A timestamp as sqljson.iso (and catalog_api.iso) writes it."""
    return _quote(sqljson.iso(column))


def money(column: str) -> str:
    """An amount with Stellar's 7 decimals as a string ("12.5000000")."""
    return _quote(sqljson.money(column))


def members(**fields: str) -> str:
    """SQL of an object's members without its braces: '"a" : <a>, ...'."""
    parts = []
    for i, (key, sql) in enumerate(fields.items()):
        separator = ", " if i else ""
        parts.append(f"'{separator}\"{key}\" : ' || {sql}")
    return " || ".join(parts)


def join(*parts: str) -> str:
    """An object of several runs of members (each SQL from ``members``, or
    choosing between such runs), in order."""
    return "('{' || " + " || ', ' || ".join(parts) + " || '}')"


def obj(**fields: str) -> str:
    """An object; keys are Python names, values JSON text."""
    return join(members(**fields)) if fields else "'{}'"


def array(element: str, order: str) -> str:
    """The aggregate of a JSON array of ``element`` in ``order`` (NULL over no
    rows, as json_agg), for a SELECT that may aggregate more beside it."""
    return f"'[' || string_agg({element}, ', ' ORDER BY {order}) || ']'"


def agg(element: str, source: str, order: str) -> str:
    """An array (``[]`` when empty) of ``element`` over ``source`` (the text
    after FROM, with its WHERE), in ``order``."""
    return f"coalesce((SELECT {array(element, order)} FROM {source}), '[]')"  # noqa: S608


def page(element: str, joins: str) -> str:
    """A query giving the JSON array of ``element`` for the primary keys of its
    one parameter (a uuid[], best given as sqljson.uuid_array), in their order;
    ``joins`` starts with ``JOIN`` and has the alias ``page`` (columns ``id``
    and ``ord``) in scope, e.g. ``JOIN t ON t.id = page.id``.

    The keys come in as a value, not as the selector's query: this query is
    prepared (sqljson.fetch_row) and a generic plan would serve every filter the
    same way (a receivers search lost its index; docs/performance.md). The selector's
    query runs apart, planned for its values each time."""
    return (
        f"SELECT coalesce({array(element, 'page.ord')}, '[]')"  # noqa: S608
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS page(id, ord) " + joins
    )
