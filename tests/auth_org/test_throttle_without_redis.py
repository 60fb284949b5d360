"""Issue 16 item 15: the login lockout holds while Redis is unreachable.

Redis is really unreachable here: the throttle's client points at a port where
nothing listens (bound, then closed), so every command fails to connect.
"""

from __future__ import annotations

import socket

import pytest
import time_machine
from django.utils import timezone

from tests.auth_org.test_login import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRONG = "Wrong-password-1!"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    import redis

    from core.middleware import get_redis

    with pytest.raises(redis.ConnectionError):
        get_redis().ping()


def test_the_account_locks_while_redis_is_down(
    client, user, tenant_headers, redis_down
):
    for _ in range(5):
        assert login(client, user, tenant_headers, password=WRONG).status_code == 401
    response = login(client, user, tenant_headers)  # right password, still locked
    assert response.status_code == 429, response.content
    assert 0 < response.json()["extras"]["retry_after"] <= 30
    # The back-off runs out as it does with Redis.
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=31)):
        assert login(client, user, tenant_headers).status_code == 200


def test_the_ip_locks_while_redis_is_down(
    client, organization, settings, tenant_headers, redis_down
):
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    for victim in UserFactory.create_batch(3, organization=organization):
        login(client, victim, tenant_headers, password=WRONG)
    fresh = UserFactory(organization=organization)
    assert login(client, fresh, tenant_headers).status_code == 429
    # Another address is not locked by this one's failures.
    elsewhere = client.post(
        "/login",
        {"email": fresh.email, "password": "x", "recaptcha_token": ""},
        content_type="application/json",
        headers=tenant_headers,
        REMOTE_ADDR="10.9.9.9",
    )
    assert elsewhere.status_code == 401


def test_a_success_clears_the_accounts_count_while_redis_is_down(
    client, user, tenant_headers, redis_down
):
    for _ in range(4):
        login(client, user, tenant_headers, password=WRONG)
    assert login(client, user, tenant_headers).status_code == 200
    for _ in range(4):
        login(client, user, tenant_headers, password=WRONG)
    assert login(client, user, tenant_headers).status_code == 200
