"""auth_org test fixtures: reCAPTCHA off by default, a clean login throttle."""

from __future__ import annotations

import pytest

from core.middleware import get_redis, redis_key
from tests.auth_org.helpers import DEVICE_ID


@pytest.fixture(autouse=True)
def _recaptcha_off_by_default(settings):
    settings.DISABLE_RECAPTCHA = True
    settings.DISABLE_MFA = False


@pytest.fixture(autouse=True)
def _clean_throttles():
    client = get_redis()
    for pattern in ("login:*", "ratelimit:*"):
        keys = list(client.scan_iter(match=redis_key(pattern)))
        if keys:
            client.delete(*keys)


@pytest.fixture
def tenant_headers(organization):
    """The headers the dashboard sends on a login-page call."""
    return {"SDP-Tenant-Name": organization.name, "Device-ID": DEVICE_ID}
