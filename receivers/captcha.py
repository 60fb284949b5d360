"""reCAPTCHA on the registration pages: on unless the organization (or, when it
has no opinion, the environment) turns it off. The switch and the siteverify
call are auth_org.recaptcha's; what differs is the answer (a page, not JSON)."""

from __future__ import annotations

import logging

from django.conf import settings

from auth_org.models import Organization
from auth_org.recaptcha import captcha_disabled, siteverify

logger = logging.getLogger(__name__)


class CaptchaInvalid(Exception):
    pass


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
    try:
        result = siteverify(token, remote_ip)
    except (OSError, ValueError) as exc:
        logger.warning("reCAPTCHA verification failed: %s", type(exc).__name__)
        raise CaptchaInvalid("verification unavailable") from exc
    if not result.get("success"):
        raise CaptchaInvalid("rejected")
    if settings.CAPTCHA_TYPE == "GOOGLE_RECAPTCHA_V3" and (
        float(result.get("score", 0)) < settings.RECAPTCHA_V3_MIN_SCORE
    ):
        raise CaptchaInvalid("score too low")
