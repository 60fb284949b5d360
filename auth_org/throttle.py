"""Failed-login limits per account and per IP, with exponential back-off.

Counts live in Redis (shared by every web process) for 15 minutes. Past the limit,
each further failure locks the account (or IP) for 30 s, 60 s, 120 s... up to
15 minutes. A success clears the account's count. Emails are hashed in the keys.
"""

from __future__ import annotations

import hashlib
import logging

import redis
from django.conf import settings

from sdp.api import APIError
from sdp.middleware import get_redis, redis_key

logger = logging.getLogger(__name__)

COUNT_TTL = 15 * 60
BASE_LOCK = 30
MAX_LOCK = 15 * 60
LOCKED_MESSAGE = "Too many failed login attempts. Try again later."


def _account(organization_id: object, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return redis_key("login", "acct", str(organization_id), digest)


def _ip(ip: str) -> str:
    return redis_key("login", "ip", ip)


def ensure_login_allowed(organization_id: object, email: str, ip: str) -> None:
    try:
        client = get_redis()
        ttls = [
            client.ttl(key + ":lock")
            for key in (_account(organization_id, email), _ip(ip))
        ]
    except redis.RedisError:
        logger.warning("login throttle skipped: Redis unavailable")
        return
    wait = max(ttls)
    if wait > 0:
        raise APIError(LOCKED_MESSAGE, status_code=429, extras={"retry_after": wait})


def record_failure(organization_id: object, email: str, ip: str) -> bool:
    """Count a failure; True when it locked the account or the IP."""
    locked = False
    limits = (
        (_account(organization_id, email), settings.LOGIN_MAX_FAILURES_PER_ACCOUNT),
        (_ip(ip), settings.LOGIN_MAX_FAILURES_PER_IP),
    )
    try:
        client = get_redis()
        for key, limit in limits:
            pipe = client.pipeline()
            pipe.incr(key)
            pipe.expire(key, COUNT_TTL)
            count = pipe.execute()[0]
            if count >= limit:
                lock = min(BASE_LOCK * 2 ** (count - limit), MAX_LOCK)
                client.set(key + ":lock", 1, ex=lock)
                locked = True
    except redis.RedisError:
        logger.warning("login throttle skipped: Redis unavailable")
    return locked


def record_success(organization_id: object, email: str) -> None:
    key = _account(organization_id, email)
    try:
        get_redis().delete(key, key + ":lock")
    except redis.RedisError:
        logger.warning("login throttle reset skipped: Redis unavailable")
