"""Failed-login limits per account and per IP, with exponential back-off.

Counts live in Redis (shared by every web process) for 15 minutes. Past the limit,
each further failure locks the account (or IP) for 30 s, 60 s, 120 s... up to
15 minutes. A success clears the account's count. Emails are hashed in the keys.

While Redis is unreachable the limits do not switch off (issue 16 item 15): they
are counted from the database instead, from the ``login.failed`` audit rows every
failed login writes (the account's since its last success, the IP's), with the
same limits and back-off.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from core.api import APIError
from core.middleware import get_redis, redis_key

logger = logging.getLogger(__name__)

# The Django admin's logins are counted under this scope instead of a tenant id.
ADMIN_SCOPE = "admin"
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
        logger.warning("login throttle from the database: Redis unavailable")
        ttls = [_database_wait(organization_id, email, ip)]
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
        # The caller's login.failed audit row is the count the database keeps.
        logger.warning("login failure counted in the database: Redis unavailable")
    return locked


def record_success(organization_id: object, email: str) -> None:
    key = _account(organization_id, email)
    try:
        get_redis().delete(key, key + ":lock")
    except redis.RedisError:
        logger.warning("login throttle reset skipped: Redis unavailable")


def _lock_seconds(count: int, limit: int) -> int:
    return min(BASE_LOCK * 2 ** (count - limit), MAX_LOCK) if count >= limit else 0


def _database_wait(organization_id: object, email: str, ip: str) -> int:
    """Seconds the account or IP stays locked, counted from the audit rows."""
    from auth_org.audit import Action
    from auth_org.models import AuditEntry, User

    now = timezone.now()
    since = now - timedelta(seconds=COUNT_TTL)
    failures = AuditEntry.objects.filter(
        action=Action.LOGIN_FAILED, created_at__gte=since
    )
    scopes = []
    if ip:
        scopes.append(
            (failures.filter(ip_address=ip), settings.LOGIN_MAX_FAILURES_PER_IP)
        )
    users = User.objects.filter(email__iexact=email.strip())
    if organization_id == ADMIN_SCOPE:
        user = users.filter(is_staff=True).first()
    else:
        user = users.filter(organization_id=organization_id).first()
    if user is not None:
        # A right password clears the account's count, as in Redis: its trace is
        # the MFA code it sent, or the session it opened.
        last_success = AuditEntry.objects.filter(
            action__in=[Action.LOGIN_SUCCEEDED, Action.MFA_CODE_SENT],
            actor=user,
            created_at__gte=since,
        ).aggregate(at=Max("created_at"))["at"]
        scopes.append(
            (
                failures.filter(actor=user, created_at__gt=last_success or since),
                settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
            )
        )
    wait = 0
    for rows, limit in scopes:
        stats = rows.aggregate(count=Count("id"), last=Max("created_at"))
        lock = _lock_seconds(stats["count"], limit)
        if lock:
            remaining = (stats["last"] + timedelta(seconds=lock) - now).total_seconds()
            wait = max(wait, math.ceil(remaining))
    return wait
