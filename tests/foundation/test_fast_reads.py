"""The pieces that make the dashboard's reads cheap keep their meaning: JSON written
by PostgreSQL equals what Python writes, prepared statements see the transaction,
a cached token verdict still expires, a recently used connection skips its health
check and an idle one does not."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from unittest import mock

import jwt
import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, connections

from auth_org.catalog_api import iso
from auth_org.tokens import decode_token, issue_token
from core import jsontext, sqljson
from core.postgres.base import TRUSTED_FOR

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # no microseconds
        dt.datetime(2026, 11, 25, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(1999, 12, 31, 22, 0, 0, 1000, tzinfo=dt.UTC),
        # Another zone: both write the same instant in UTC.
        dt.datetime(2026, 6, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_sql_timestamps_read_like_python_ones(value):
    written = sqljson.fetch_text(f"SELECT {sqljson.iso('%s::timestamptz')}", [value])
    assert written == iso(value.astimezone(dt.UTC))
    assert written.endswith("Z")
    assert len(written) == len("2026-01-02T03:04:05.000000Z")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1", "1.0000000"),
        ("0.0000001", "0.0000001"),
        ("922337203685.4775807", "922337203685.4775807"),
        ("12.5", "12.5000000"),
    ],
)
def test_sql_money_has_seven_places(amount, text):
    assert (
        sqljson.fetch_text(f"SELECT {sqljson.money('%s')}", [Decimal(amount)]) == text
    )
    assert f"{Decimal(amount):.7f}" == text


def _build_object(**fields: str) -> str:
    """What jsontext is checked against: PostgreSQL's own json_build_object."""
    pairs = ", ".join(f"'{key}', {sql}" for key, sql in fields.items())
    return f"json_build_object({pairs})"


def _build_array(element: str, source: str, order: str) -> str:
    return (
        f"coalesce((SELECT json_agg({element} ORDER BY {order}) FROM {source}),"  # noqa: S608
        " '[]'::json)"
    )


def test_jsontext_arrays_keep_their_order_and_are_empty_when_nothing_matches():
    element = jsontext.obj(n=jsontext.literal("n"), twice=jsontext.literal("n * 2"))
    body = sqljson.fetch_text(
        f"SELECT {jsontext.agg(element, 'generate_series(1, %s) AS n', 'n DESC')}",
        [3],
    )
    assert body == (
        '[{"n" : 3, "twice" : 6}, {"n" : 2, "twice" : 4}, {"n" : 1, "twice" : 2}]'
    )
    empty = jsontext.agg(element, "generate_series(1, 0) AS n", "n")
    assert sqljson.fetch_text(f"SELECT {empty}", []) == "[]"


def test_jsontext_writes_what_json_build_object_writes():
    """core.jsontext joins text; json_build_object and json_agg are the
    reference: the same bytes for every kind of value, escapes and NULLs
    included."""
    strings = ["plain", 'quote " backslash \\ /', "tab\tline\n\x01", "é €𝄞", "", None]
    values = ", ".join(f"(%s, {i})" for i in range(len(strings)))
    source = (
        "(SELECT v.s, v.i, CASE WHEN v.i < 5 THEN md5(v.i::text)::uuid END AS u,"  # noqa: S608
        " CASE WHEN v.i %% 2 = 0 THEN now() + v.i * interval '1 microsecond' END AS t,"
        " CASE WHEN v.i < 5 THEN 12.5 * v.i END AS m"
        f" FROM (VALUES {values}) AS v(s, i)) AS v"
    )
    empty = "generate_series(1, 0) AS g"
    built = _build_object(
        text="v.s",
        id="v.u",
        count="v.i::text",
        number="v.i",
        at=sqljson.iso("v.t"),
        amount=sqljson.money("v.m"),
        inner=_build_object(flag="v.i > 2", nothing="NULL::text"),
        empty=_build_array(_build_object(n="g"), empty, "g"),
    )
    joined = jsontext.obj(
        text=jsontext.string("v.s"),
        id=jsontext.quoted("v.u::uuid"),
        count=jsontext.quoted("v.i::integer"),
        number=jsontext.literal("v.i"),
        at=jsontext.iso("v.t"),
        amount=jsontext.money("v.m"),
        inner=jsontext.obj(
            flag=jsontext.literal("v.i > 2"), nothing=jsontext.string("NULL::text")
        ),
        empty=jsontext.agg(jsontext.obj(n=jsontext.literal("g")), empty, "g"),
    )
    expected = sqljson.fetch_text(
        f"SELECT json_agg({built} ORDER BY v.i)::text FROM {source}",  # noqa: S608
        strings,
    )
    written = sqljson.fetch_text(
        f"SELECT '[' || string_agg({joined}, ', ' ORDER BY v.i) || ']'"  # noqa: S608
        f" FROM {source}",
        strings,
    )
    assert written == expected
    assert [row["text"] for row in json.loads(written)] == strings
    assert jsontext.obj() == "'{}'"
    page = "JOIN LATERAL (SELECT page.id::text AS s) AS v ON true"
    keys = ["00000000-0000-0000-0000-00000000000" + c for c in "21"]
    assert sqljson.fetch_text(
        jsontext.page(jsontext.obj(id=jsontext.string("v.s")), page), [keys]
    ) == (
        '[{"id" : "00000000-0000-0000-0000-000000000002"},'
        ' {"id" : "00000000-0000-0000-0000-000000000001"}]'
    )
    assert sqljson.fetch_text(jsontext.page("'x'", page), [[]]) == "[]"


def test_prepared_reads_see_the_open_transaction(organization):
    # The prepared cursor is psycopg's own but on Django's connection: it reads
    # what this (test) transaction wrote and is not yet committed.
    organization.display_name = "Renamed inside the transaction"
    organization.save(update_fields=["display_name"])
    for _ in range(3):  # prepared on first use, executed from then on
        name = sqljson.fetch_text(
            "SELECT display_name FROM auth_org_organization WHERE id = %s",
            [organization.pk],
        )
        assert name == "Renamed inside the transaction"
    if connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is None:
        return  # DB_PREPARED_STATEMENTS=false: the reads are simply run
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] >= 1


def test_a_cached_token_still_expires_and_a_forged_one_is_refused(user):
    token = issue_token(user, lifetime=dt.timedelta(minutes=5))
    assert decode_token(token)["user"]["id"] == str(user.pk)
    claims = decode_token(token)
    claims["user"]["id"] = "changed by a caller"
    assert decode_token(token)["user"]["id"] == str(user.pk)  # a copy each time
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    with time_machine.travel(later), pytest.raises(jwt.ExpiredSignatureError):
        decode_token(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(jwt.InvalidTokenError):
        decode_token(forged)


def test_the_cache_reuses_one_client_per_pool():
    cache.set("fast-reads", 1, 5)
    assert cache.get("fast-reads") == 1
    backend = cache._cache
    assert backend.get_client("a") is backend.get_client("b")
    assert backend.get_client("a", write=True) is backend.get_client("a", write=True)


def test_health_check_only_for_a_connection_idle_for_a_while():
    connection.ensure_connection()
    health_checks = connection.health_check_enabled
    connection.health_check_enabled = True
    try:
        with mock.patch.object(
            type(connections["default"]), "is_usable", autospec=True, return_value=True
        ) as is_usable:
            connection.health_check_done = False
            connection.clean_at = time.monotonic()
            connection.close_if_health_check_failed()
            assert is_usable.call_count == 0  # just served a request cleanly

            connection.health_check_done = False
            connection.clean_at -= TRUSTED_FOR + 0.1
            connection.close_if_health_check_failed()
            assert is_usable.call_count == 1  # idle: checked as Django does
    finally:
        connection.health_check_enabled = health_checks
        connection.health_check_done = False


def test_a_clean_request_marks_its_connection(client):
    connection.ensure_connection()
    connection.clean_at = float("-inf")
    before = time.monotonic()
    assert client.get("/health").status_code in (200, 503)
    assert connection.clean_at >= before


def test_the_header_tenant_is_resolved_only_when_read(client, user, monkeypatch):
    from auth_org import tenancy

    calls = []
    resolve = tenancy.resolve_tenant

    def counted(request):
        calls.append(request.path)
        return resolve(request)

    monkeypatch.setattr(tenancy, "resolve_tenant", counted)
    headers = {"SDP-Tenant-Name": user.organization.name}
    # Authenticated: the token names the tenant; the header is never looked up.
    response = client.get(
        "/organization",
        headers={**headers, "Authorization": f"Bearer {issue_token(user)}"},
    )
    assert response.status_code == 200
    assert response.json()["name"] == user.organization.display_name
    assert calls == []
    # Unauthenticated: the header names it, looked up once.
    response = client.get("/app-config", headers=headers)
    assert response.status_code == 200
    assert calls == ["/app-config"]
