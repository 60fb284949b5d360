"""Log lines are JSON with the request id and the tenant, and carry no contact."""

import io
import json
import logging

import pytest

from auth_org.logfilters import RequestIDFilter
from core.logfilters import JSONFormatter, RedactingFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RequestIDFilter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("sdp.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


def test_json_line_inside_a_request_carries_request_id_and_tenant(rf, user, json_log):
    from core.logfilters import request_id_var, request_var

    logger, stream = json_log
    request = rf.get("/")
    request.tenant = user.organization
    id_token = request_id_var.set("req-abc")
    request_token = request_var.set(request)
    try:
        logger.info("payment for %s at +14155550123 failed", user.email)
        try:
            raise ValueError(f"cannot reach {user.email}")
        except ValueError:
            logger.exception("boom")
    finally:
        request_id_var.reset(id_token)
        request_var.reset(request_token)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-abc"
    assert first["tenant"] == user.organization.name
    assert first["message"] == "payment for [email] at [phone] failed"
    assert first["time"].endswith("Z")
    assert second["error"] == "ValueError: cannot reach [email]"
    assert user.email not in stream.getvalue()


def test_a_log_line_names_a_known_tenant_but_never_looks_one_up(
    rf, user, json_log, monkeypatch
):
    from auth_org import tenancy
    from core.logfilters import request_var

    logger, stream = json_log
    monkeypatch.setattr(
        tenancy,
        "resolve_tenant",
        lambda request: pytest.fail("logging resolved the tenant"),
    )
    request = rf.get("/", headers={"SDP-Tenant-Name": user.organization.name})
    tenancy.TenantMiddleware(lambda r: None)(request)  # the lazy tenant
    token = request_var.set(request)
    try:
        logger.info("before the tenant is known")
        request.tenant = user.organization  # as authentication sets it
        logger.info("after")
    finally:
        request_var.reset(token)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["tenant"] == "-"
    assert second["tenant"] == user.organization.name
