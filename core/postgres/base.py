"""Django's PostgreSQL backend, with the health check skipped for a connection
that has just served a request cleanly.

CONN_HEALTH_CHECKS costs a ``SELECT 1`` round trip at the start of every request
that reuses a connection: CPU in the web process and the database, a visible
share of a dashboard read (docs/performance.md). Its purpose is a connection that died
while idle (a database restart, a failover, a proxy's idle timeout). A
connection that finished a request without error less than TRUSTED_FOR seconds
ago is not checked again; one idle for longer is, as before. A database that
restarts within that second costs at most the one request per worker that was
already on its way, as it would without the check.

Its operations log the prepared reads' SQL with their values (DatabaseOperations).
"""

from __future__ import annotations

import time
from typing import Any

from django.core import signals
from django.db import connections
from django.db.backends.postgresql import base, operations

TRUSTED_FOR = 1.0


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        """The query with its values, for the query log (connection.queries,
        the debug toolbar, query-count assertions). psycopg keeps no text of
        what a server-binding cursor ran (core.sqljson's prepared reads): those
        cursors say so (``logs_values``) and their SQL is composed here, as
        Django's client-side cursors show theirs."""
        if getattr(cursor, "logs_values", False):
            return str(self.compose_sql(sql, params))
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    clean_at = float("-inf")

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not getattr(self, "health_check_done", False)
            and time.monotonic() - self.clean_at < TRUSTED_FOR
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close(self) -> None:
        self.clean_at = float("-inf")
        super().close()


def _stamp_clean_connections(**kwargs: Any) -> None:
    for conn in connections.all(initialized_only=True):
        if (
            isinstance(conn, DatabaseWrapper)
            and conn.connection is not None
            and not conn.errors_occurred
        ):
            conn.clean_at = time.monotonic()


signals.request_finished.connect(_stamp_clean_connections)
