"""The idempotency keys' table moves from disbursements to core with its rows.

From the state before the move (disbursements 0008, core not applied: the table
is ``disbursements_idempotencykey``), rows written then are read through
``core.models.IdempotencyKey`` after migrating, and the way back keeps them too.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from auth_org.models import Organization
from core.models import IdempotencyKey

BEFORE = [("disbursements", "0008_money_guards"), ("core", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


@pytest.mark.django_db(transaction=True)
def test_rows_survive_the_move_to_core_and_back():
    organization = Organization.objects.create(name="migration-move")
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        _migrate(BEFORE)
        assert "disbursements_idempotencykey" in _tables()
        assert "core_idempotencykey" not in _tables()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO disbursements_idempotencykey (organization_id, key,"
                " fingerprint, method, path, response_status, response_body,"
                " created_at, expires_at) VALUES (%s, 'k-1', 'f', 'POST', '/x',"
                " 201, %s, now(), now() + interval '1 hour')",
                [organization.pk, b'{"id": 1}'],
            )

        _migrate(leaves)
        assert "disbursements_idempotencykey" not in _tables()
        row = IdempotencyKey.objects.get(organization=organization, key="k-1")
        assert (row.response_status, bytes(row.response_body)) == (201, b'{"id": 1}')

        _migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT key FROM disbursements_idempotencykey")
            assert cursor.fetchall() == [("k-1",)]
    finally:
        _migrate(leaves)
    assert IdempotencyKey.objects.filter(key="k-1").exists()
