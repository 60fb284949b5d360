"""``field__any=[...]``: ``field = ANY(%s)`` with the whole list as one array
parameter. For the bulk moves of thousands of rows, where ``__in`` renders and
splits one placeholder per item (docs/performance.md)."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Lookup


@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        field = self.lhs.output_field
        return "%s", [[field.get_db_prep_value(v, connection) for v in value]]

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]
