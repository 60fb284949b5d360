"""Model instances from rows read with hand-written SQL, as the ORM builds them.

A request's hottest reads (the session's user and organization) are one fixed
query: compiled by the ORM on every request it cost more CPU than PostgreSQL
took to answer it, so its SQL is written once per process and run prepared
(core.sqljson.fetch_row). What turns the row back into model instances is here,
and only here: Django's column converters (the backend's and the fields',
``from_db_value``) and ``Model.from_db``. Django keeps the converters' API
internal (``Field.get_col``, ``connection.ops.get_db_converters``,
``Col.get_db_converters``), so tests/foundation/test_model_rows.py pins what
this relies on: the instances equal the ORM's, field by field and type by type,
deferred fields included, for a model whose field needs a converter (JSONField).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Field, Model


class RowReader:
    """Reads ``model``'s ``fields`` (its concrete fields by default; the others
    are deferred on the instances) from the columns of a row."""

    def __init__(
        self, model: type[Model], fields: list[Field[Any, Any]] | None = None
    ) -> None:
        self.model = model
        self.fields = list(fields or model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.converters = []
        for field in self.fields:
            column = field.get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(
                column
            ) + column.get_db_converters(connection)
            self.converters.append((column, functions))

    def columns(self, alias: str) -> list[str]:
        """The SQL of the fields' columns of the table aliased ``alias``."""
        quote = connection.ops.quote_name
        return [f"{alias}.{quote(str(field.column))}" for field in self.fields]

    def instance(self, values: list[Any] | tuple[Any, ...]) -> Model:
        """The model instance of ``values`` (the columns, in order), as loaded
        from the database: converted, not adding, the other fields deferred."""
        converted = list(values)
        for i, (column, functions) in enumerate(self.converters):
            for function in functions:
                converted[i] = function(converted[i], column, connection)
        return self.model.from_db(connection.alias, self.attnames, converted)
