"""The SQL text of the dashboard reads: table names from the models, quoted()
only for values that need no escaping, prepared reads seen by Django's
instrumentation (execute wrappers, the query log)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import DataError, connection

from auth_org.tokens import issue_token
from core import jsontext, sqljson
from tests.factories import PaymentFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (
    "auth_org",
    "core",
    "disbursements",
    "messaging",
    "receivers",
    "reports",
    "sdp",
    "tss",
)


def _strings(tree: ast.AST):
    """Every string constant of a module but its docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            body = node.body
            if body and isinstance(body[0], ast.Expr):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node


def test_sql_text_names_no_table_itself():
    """A table in product SQL is ``sqljson.table(Model)`` (its _meta.db_table):
    a renamed table or a model moved between apps cannot leave a query on the
    old name. Migrations (history) are exempt."""
    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    name = re.compile(r"\b(" + "|".join(sorted(tables, key=len, reverse=True)) + r")\b")
    found = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in _strings(tree):
                if match := name.search(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {match[0]}")
    assert found == []


@pytest.mark.parametrize(
    "sql",
    [
        "r.email",  # a text column
        "r.external_id",  # text, though named like a key
        "r.email::text",
        "r.email || r.id::uuid",  # the cast binds tighter than ||: text
        "(r.email) || (r.id)::uuid",
        "r.email::varchar",
        "to_json(r.email)::text",
        "'\"'",
        "",
    ],
)
def test_quoted_refuses_what_may_need_escaping(sql):
    with pytest.raises(ValueError, match=r"jsontext\.string"):
        jsontext.quoted(sql)


@pytest.mark.parametrize(
    "sql", ["r.id::uuid", "rf.total::bigint", "0", "(SELECT count(*) FROM t)::bigint"]
)
def test_quoted_takes_numbers_and_casts_to_safe_types(sql):
    assert sql in jsontext.quoted(sql)


@pytest.mark.django_db
def test_a_text_value_cast_for_quoted_is_a_uuid_or_an_error():
    """What the cast proves: hostile text never comes out unescaped."""
    element = jsontext.obj(id=jsontext.quoted("(%s::text)::uuid", null='""'))
    good = "6f1c3d52-8a7e-4b54-9a56-0f7a1f0d2b11"
    assert json.loads(sqljson.fetch_text(f"SELECT {element}", [good])) == {"id": good}
    assert json.loads(sqljson.fetch_text(f"SELECT {element}", [None])) == {"id": ""}
    with pytest.raises(DataError):
        sqljson.fetch_text(f"SELECT {element}", ['x", "admin": true, "y": "'])


@pytest.mark.django_db
def test_prepared_reads_go_through_the_execute_wrappers():
    """A prepared read (sqljson.fetch_row) is seen by a wrapper installed with
    connection.execute_wrapper (what APM agents use), with Django's %s SQL and
    its parameters."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    element = sqljson.fetch_text("SELECT %s::text", ["plain"])
    assert element == "plain"
    with connection.execute_wrapper(wrapper):
        assert sqljson.fetch_text("SELECT %s::text", ["seen"]) == "seen"
        assert sqljson.fetch_row("SELECT 1 WHERE %s", [False]) is None
    assert seen == [("SELECT %s::text", ["seen"]), ("SELECT 1 WHERE %s", [False])]


@pytest.mark.django_db
def test_prepared_reads_are_counted(django_assert_num_queries):
    """django_assert_num_queries (Django's query log, the debug toolbar's
    source) counts them, and the logged SQL is the query with its values."""
    with django_assert_num_queries(2) as captured:
        sqljson.fetch_text("SELECT %s::text", ["one"])
        sqljson.fetch_row("SELECT %s::int + 1", [1])
    assert [q["sql"] for q in captured.captured_queries] == [
        "SELECT 'one'::text",
        "SELECT 1::int + 1",
    ]


@pytest.mark.django_db
def test_a_payment_read_counts_its_queries(client, django_assert_max_num_queries):
    """A whole dashboard read: every query it makes, the prepared ones
    included, is in the log (none runs unseen)."""
    payment = PaymentFactory()
    token = issue_token(UserFactory(organization=payment.organization))
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with (
        django_assert_max_num_queries(10) as captured,
        connection.execute_wrapper(wrapper),
    ):
        response = client.get(
            f"/payments/{payment.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(payment.pk)
    assert len(seen) == len(captured.captured_queries)
    assert any('"receiver_wallet"' in sql for sql in seen)
