"""Cross-cutting conventions (§2.0): CORS, rate limit, body limit, request id."""

from __future__ import annotations

import time

import pytest
import time_machine

from core.middleware import get_redis, redis_key

pytestmark = pytest.mark.django_db


def test_cors_preflight_allows_the_dashboards_headers(client, settings):
    response = client.options(
        "/login",
        HTTP_ORIGIN="http://localhost:3000",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,sdp-tenant-name,device-id",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    allowed = response["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "content-type", "sdp-tenant-name", "device-id"):
        assert header in allowed
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        assert method in response["Access-Control-Allow-Methods"]


def test_cors_exposes_content_disposition(client, organization):
    response = client.get(
        "/app-config",
        HTTP_ORIGIN="http://localhost:3000",
        headers={"SDP-Tenant-Name": organization.name},
    )
    assert "content-disposition" in response["Access-Control-Expose-Headers"].lower()


def test_unknown_origin_gets_no_cors_grant(client):
    response = client.get("/app-config", HTTP_ORIGIN="https://evil.example.org")
    assert "Access-Control-Allow-Origin" not in response


@time_machine.travel(1_900_000_003, tick=False)  # inside one 20-second window
def test_rate_limit_answers_429_with_the_error_body(client, settings):
    settings.RATE_LIMIT_ENABLED = True
    statuses = [client.get("/app-config").status_code for _ in range(41)]
    assert statuses[:40] == [200] * 40
    assert statuses[40] == 429
    response = client.get("/app-config/")  # the same route, with a slash
    assert response.status_code == 429
    assert response.json() == {"error": "Too many requests."}
    assert response["Retry-After"] == "17"
    # Another route has its own budget, and so does another IP.
    assert client.get("/organization/logo").status_code != 429
    assert client.get("/app-config", REMOTE_ADDR="10.9.9.9").status_code == 200


@time_machine.travel(1_900_000_005, tick=False)
def test_rate_limit_is_shared_through_redis(client, settings):
    """Another web process's requests count: they land in the same Redis key
    (set here directly, as that process would have)."""
    settings.RATE_LIMIT_ENABLED = True
    window = int(time.time()) - int(time.time()) % 20
    key = redis_key("ratelimit", "127.0.0.1", "/app-config", str(window))
    get_redis().set(key, 40, ex=25)  # what 40 requests elsewhere left behind
    assert client.get("/app-config").status_code == 429


def test_body_over_ten_megabytes_is_413_with_the_error_body(client, organization):
    response = client.post(
        "/login",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(10 * 1024 * 1024 + 1),
        headers={"SDP-Tenant-Name": organization.name},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "Request body too large."


def test_request_id_is_returned_and_kept_when_given(client):
    generated = client.get("/app-config")
    assert len(generated["X-Request-ID"]) == 32
    given = client.get("/app-config", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    hostile = client.get("/app-config", HTTP_X_REQUEST_ID="x\nInjected: 1")
    assert hostile["X-Request-ID"] != "x\nInjected: 1"


def test_unknown_route_is_json_404(client):
    response = client.get("/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not found."}


def test_wrong_method_is_json_405(client, user):
    from tests.auth_org.helpers import bearer

    response = client.delete("/profile", headers=bearer(user))
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed."}


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json, text/plain, */*",
        "text/html;q=0.9, application/json",
        "application/*",
    ],
)
def test_json_is_served_for_any_accept_header_that_admits_it(client, user, accept):
    from tests.auth_org.helpers import bearer

    extra = {"HTTP_ACCEPT": accept} if accept is not None else {}
    response = client.get("/profile", headers=bearer(user), **extra)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["email"] == user.email
    # Errors are rendered by the renderer chosen for the request.
    missing = client.get("/payments/not-a-payment", headers=bearer(user), **extra)
    assert missing.status_code == 404
    assert missing.json()["error"]


def test_a_request_that_refuses_json_is_406(client, user):
    from tests.auth_org.helpers import bearer

    response = client.get("/profile", headers=bearer(user), HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()
