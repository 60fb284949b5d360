"""Every route of the URLconf, with hostile input: never a 5xx (issue 16 item 13).

A hand-written generator, deterministic and bounded (a few thousand requests in
seconds): each route with its methods, as the tenant's owner, with
- hostile query strings (a NUL byte, a page past bigint, an unknown parameter);
- hostile JSON bodies: every non-object JSON value, a deep nesting, and objects
  whose fields (every field name any serializer declares) hold a NUL, a list, an
  object, null, a huge number, a huge string, …; sent as application/json and as
  text/plain (the dashboard's), and as multipart with the hostile ``data`` part;
- a hostile Idempotency-Key and SDP-Tenant-Name.
Path parameters are the tenant's own objects (the deepest code runs) and unknown
ids. tests/auth_org/test_openapi.py adds schemathesis' generated requests.
"""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal

import pytest
from django.urls import URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.test import APIClient

from auth_org.apikeys import create_api_key
from tests.factories import DisbursementFactory, PaymentFactory

pytestmark = pytest.mark.django_db

# Django's admin (HTML forms), Prometheus, the schema (no input; a second each)
SKIPPED = ("admin/", "metrics", "openapi")


def routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    for text, pattern in walk(get_resolver().url_patterns):
        if not text.lstrip("^").startswith(SKIPPED):
            yield text, pattern


def build(text: str, values: dict) -> str:
    """The path of a route's text (a regex of core.api.route, or path() syntax)
    with each parameter replaced by its value."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("(?P<", i):
            name = text[i + 4 : text.index(">", i)]
            depth, j = 0, i
            while True:  # to the group's closing parenthesis
                depth += {"(": 1, ")": -1}.get(text[j], 0) if text[j - 1] != "\\" else 0
                j += 1
                if depth == 0:
                    break
            out.append(str(values[name]))
            i = j
        elif text[i] == "<":
            end = text.index(">", i)
            out.append(str(values[text[i + 1 : end].split(":")[-1]]))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    path = "".join(out).lstrip("^").removesuffix("\\Z").removesuffix("$")
    path = path.removesuffix("/?").replace("\\", "")
    return "/" + path


def methods(pattern) -> list[str]:
    view = getattr(pattern.callback, "view_class", None)
    if view is None:
        return ["get", "post"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]


def field_names() -> list[str]:
    """Every field name a serializer of the project declares."""
    names: set[str] = set()
    pending = [serializers.Serializer]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {"auth_org", "receivers", "disbursements"}:
            names.update(getattr(cls, "_declared_fields", {}))
    names.update({"data", "status", "payment_ids", "transaction", "date_of_birth"})
    return sorted(names)


ADMIN_BASIC = "Basic " + base64.b64encode(b"sdp-admin:admin-key").decode()
HOSTILE_VALUES = [
    "a\u0000b", None, [], {}, [None], [{}], 1e308, -1, 2**70, True, "x" * 20_000,
    "٣", "1e999999", "../../etc/passwd", "<script>", "' OR 1=1 --",
]  # fmt: skip
NON_OBJECTS = ["[]", '"text"', "1", "null", "true", "[" * 100_000 + "]" * 100_000]
HOSTILE_QUERIES = [
    "?q=%00",
    "?page=9223372036854775808&page_limit=9223372036854775808",
    "?unknown_parameter=1",
    "?status=%00&sort=%00&direction=%00&created_at_after=%00",
]


def hostile_bodies():
    names = field_names()
    yield from NON_OBJECTS
    for value in HOSTILE_VALUES:
        yield json.dumps(dict.fromkeys(names, value))
    yield json.dumps({"data": "a\u0000"})
    yield json.dumps({"a\u0000": 1})


@pytest.fixture
def world(organization, owner, wallet, usdc, ledger):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    payment = PaymentFactory(
        disbursement=disbursement,
        amount=Decimal("5"),
        asset=usdc,
        receiver_wallet__wallet=wallet,
    )
    key, _ = create_api_key(owner, name="k", permissions=["read:all"])
    return {
        "disbursement": disbursement.pk,
        "payment": payment.pk,
        "receiver": payment.receiver_id,
        "receiver_wallet": payment.receiver_wallet_id,
        "wallet": wallet.pk,
        "asset": usdc.pk,
        "api-key": key.pk,
    }


def urls(text, pattern, world) -> list[str]:
    names = list(pattern.pattern.regex.groupindex)
    if not names:
        return [build(text, {})]
    prefix = (pattern.name or "").split("-")[0]
    own = {
        "disbursement": world["disbursement"],
        "statistics": world["disbursement"],
        "payment": world["payment"],
        "receiver": world["receiver_wallet"]
        if "wallet" in pattern.name
        else world["receiver"],
        "asset": world["asset"],
        "wallet": world["wallet"],
        "api": world["api-key"],
    }.get(prefix, uuid.uuid4())
    kwargs = dict.fromkeys(names, own)
    if "receiver_id" in kwargs:
        kwargs["receiver_id"] = world["receiver"]
    if str(own).count("-") != 4:  # a name, a code: a text parameter
        kwargs = dict.fromkeys(names, "x")
    unknown = {name: uuid.uuid4() for name in names}
    if "ref" in names or "code" in names:
        unknown = dict.fromkeys(names, "x%00")
    return [build(text, kwargs), build(text, unknown)]


def test_no_route_answers_5xx_to_hostile_input(world, owner, organization, settings):
    from tests.api2_fixtures import client_for

    settings.ADMIN_ACCOUNT, settings.ADMIN_API_KEY = "sdp-admin", "admin-key"
    # Google cannot be reached from the tests: its 503 there is right.
    settings.DISABLE_RECAPTCHA = True
    user = client_for(owner, HTTP_SDP_TENANT_NAME=organization.name)
    admin = APIClient()
    admin.credentials(HTTP_AUTHORIZATION=ADMIN_BASIC)
    anonymous = APIClient()
    # Every failure, not the first one's exception.
    for each in (user, anonymous, admin):
        each.raise_request_exception = False
    failures, requests = [], 0

    def check(client, method, url, **kw):
        nonlocal requests
        requests += 1
        response = getattr(client, method)(url, **kw)
        if response.status_code >= 500:
            body = kw.get("data")
            failures.append(
                (method.upper(), url, str(body)[:120], response.status_code)
            )

    patterns = list(routes())
    assert len(patterns) >= 60
    for text, pattern in patterns:
        for url in urls(text, pattern, world):
            client = admin if url.startswith("/admin-api") else user
            for method in methods(pattern):
                for query in HOSTILE_QUERIES:
                    check(client, method, url + query)
                check(anonymous, method, url + "?q=%00")
                check(anonymous, method, url, HTTP_SDP_TENANT_NAME="x\u0000")
                check(client, method, url, HTTP_SDP_TENANT_NAME="x\u0000")
                check(client, method, url, HTTP_IDEMPOTENCY_KEY="k\u0000" * 200)
                if method == "get":
                    continue
                for body in hostile_bodies():
                    for content_type in ("application/json", "text/plain"):
                        check(client, method, url, data=body, content_type=content_type)
                    if method in ("post", "patch"):
                        check(
                            client, method, url, data={"data": body}, format="multipart"
                        )
    assert requests > 3000
    distinct: dict[str, str] = {}
    for method, url, body, _ in failures:
        distinct.setdefault(f"{method} {url}", f"{_} {body[:60]}")
    assert not failures, "\n".join(f"{k} {v}" for k, v in sorted(distinct.items()))
