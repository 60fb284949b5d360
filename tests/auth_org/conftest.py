"""auth_org test fixtures: reCAPTCHA off by default, a clean login throttle."""

from __future__ import annotations

import pytest

from sdp.middleware import get_redis, redis_key


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
