"""reCAPTCHA v2/v3 verification against Google's siteverify endpoint.

The organization's ``captcha_disabled`` overrides the environment's
``DISABLE_RECAPTCHA``. The endpoint comes from ``RECAPTCHA_VERIFY_URL`` so tests
point it at a local fake.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from auth_org.models import Organization
from core.api import APIError

logger = logging.getLogger(__name__)

INVALID_MESSAGE = "reCAPTCHA token invalid"
V3 = "GOOGLE_RECAPTCHA_V3"


def captcha_disabled(organization: Organization | None) -> bool:
    if organization is not None and organization.captcha_disabled is not None:
        return organization.captcha_disabled
    return settings.DISABLE_RECAPTCHA


def siteverify(token: str, remote_ip: str | None) -> dict:
    fields = {"secret": settings.RECAPTCHA_SITE_SECRET_KEY, "response": token}
    if remote_ip:
        fields["remoteip"] = remote_ip
    request = urllib.request.Request(  # noqa: S310 - URL from settings, http(s) only
        settings.RECAPTCHA_VERIFY_URL,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.loads(response.read().decode())


def verify_captcha(
    token: str | None, *, organization: Organization | None, remote_ip: str | None
) -> None:
    """Raise a 400 unless the token is valid (or captcha is switched off)."""
    if captcha_disabled(organization):
        return
    if not token:
        raise APIError(INVALID_MESSAGE, error_code="400_1")
    if not settings.RECAPTCHA_VERIFY_URL.startswith(("https://", "http://")):
        raise APIError(status_code=500)
    try:
        result = siteverify(token, remote_ip)
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        logger.warning("reCAPTCHA verification unavailable: %s", type(exc).__name__)
        raise APIError(
            "Could not verify the reCAPTCHA token.", status_code=503
        ) from exc
    if not result.get("success"):
        raise APIError(INVALID_MESSAGE, error_code="400_1")
    if settings.CAPTCHA_TYPE == V3:
        score = result.get("score")
        if not isinstance(score, (int, float)) or score < (
            settings.RECAPTCHA_V3_MIN_SCORE
        ):
            raise APIError(INVALID_MESSAGE, error_code="400_1")
