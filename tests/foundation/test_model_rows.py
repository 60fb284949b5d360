"""core.modelrows builds model instances from hand-written SQL with Django's
converters and Model.from_db, whose converter API Django keeps internal: what it
relies on is pinned here, so a Django upgrade that changes it fails this test
rather than the session's authentication."""

from __future__ import annotations

import pytest
from django.db import connection

from auth_org.authentication import session_user
from auth_org.models import AuditEntry, Organization, User
from core.modelrows import RowReader
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _read(reader: RowReader, table: str, pk):
    sql = f"SELECT {', '.join(reader.columns('t'))} FROM {table} t WHERE t.id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return reader.instance(cursor.fetchone())


def _same(built, loaded, fields) -> None:
    for field in fields:
        ours, orms = getattr(built, field.attname), getattr(loaded, field.attname)
        assert (type(ours), ours) == (type(orms), orms), field.name


def test_instances_equal_the_orms_with_a_converted_field():
    """A JSONField needs its from_db_value (the backend hands its text over):
    the reader's instance has the ORM's values and types, and is not new."""
    user = UserFactory()
    entry = AuditEntry.objects.create(
        organization=user.organization,
        actor=user,
        action="pin",
        changes={"a": [1, "two", None], "b": {"c": True}},
    )
    reader = RowReader(AuditEntry)
    built = _read(reader, AuditEntry._meta.db_table, entry.pk)
    loaded = AuditEntry.objects.get(pk=entry.pk)
    _same(built, loaded, AuditEntry._meta.concrete_fields)
    assert built.changes == {"a": [1, "two", None], "b": {"c": True}}
    assert not built._state.adding
    assert built._state.db == loaded._state.db
    assert built == loaded


def test_fields_left_out_are_deferred_as_the_orms():
    organization = UserFactory().organization
    fields = [f for f in Organization._meta.concrete_fields if f.name != "logo"]
    built = _read(
        RowReader(Organization, fields), "auth_org_organization", organization.pk
    )
    loaded = Organization.objects.defer("logo").get(pk=organization.pk)
    _same(built, loaded, fields)
    assert built.get_deferred_fields() == loaded.get_deferred_fields() == {"logo"}


def test_session_user_is_one_query_and_carries_its_organization(
    django_assert_num_queries,
):
    user = UserFactory()
    with django_assert_num_queries(1):
        found = session_user(user.pk, user.organization_id)
        assert found.organization.name == user.organization.name
    loaded = User.objects.select_related("organization").get(pk=user.pk)
    _same(found, loaded, User._meta.concrete_fields)
    fields = [f for f in Organization._meta.concrete_fields if f.name != "logo"]
    _same(found.organization, loaded.organization, fields)
    assert found.organization.get_deferred_fields() == {"logo"}
    assert session_user(user.pk, user.organization_id, session_id=user.pk) is not None
