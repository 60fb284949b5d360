"""reCAPTCHA on the registration pages: on unless the organization (or, when it
has no opinion, the environment) turns it off."""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request

from django.conf import settings

from auth_org.models import Organization

logger = logging.getLogger(__name__)


class CaptchaInvalid(Exception):
    pass


def captcha_disabled(organization: Organization) -> bool:
    if organization.captcha_disabled is not None:
        return organization.captcha_disabled
    return settings.DISABLE_RECAPTCHA


def captcha_enabled(organization: Organization) -> bool:
    """Off when disabled, or when no keys are configured outside production (a
    fresh checkout works); in production missing keys fail closed instead."""
    if captcha_disabled(organization):
        return False
    return bool(settings.RECAPTCHA_SITE_SECRET_KEY) or settings.PRODUCTION


def verify_captcha(organization: Organization, token: str, remote_ip: str) -> None:
    """Ask the reCAPTCHA server about ``token``; raises CaptchaInvalid."""
    if not captcha_enabled(organization):
        return
    if not token or not settings.RECAPTCHA_SITE_SECRET_KEY:
        raise CaptchaInvalid("missing token")
    data = urllib.parse.urlencode(
        {
            "secret": settings.RECAPTCHA_SITE_SECRET_KEY,
            "response": token,
            "remoteip": remote_ip,
        }
    ).encode()
    try:
        # The URL is a setting (https by default), never user input.
        with urllib.request.urlopen(  # noqa: S310
            settings.RECAPTCHA_VERIFY_URL, data=data, timeout=10
        ) as response:
            result = json.loads(response.read(64 * 1024))
    except (OSError, ValueError) as exc:
        logger.warning("reCAPTCHA verification failed: %s", type(exc).__name__)
        raise CaptchaInvalid("verification unavailable") from exc
    if not result.get("success"):
        raise CaptchaInvalid("rejected")
    if settings.CAPTCHA_TYPE == "GOOGLE_RECAPTCHA_V3" and (
        float(result.get("score", 0)) < settings.RECAPTCHA_V3_MIN_SCORE
    ):
        raise CaptchaInvalid("score too low")
