"""How often a one-time code may be sent: per contact and per SEP-24 transaction.

Each subject (the contact, hashed, within its tenant; and the SEP-24
transaction) may be sent a code at most once every
``OTP_SEND_MIN_INTERVAL_SECONDS`` and at most ``OTP_SEND_MAX_PER_HOUR`` times in
any hour (sliding window). Every request counts, whether or not the contact
belongs to a receiver, so the limit itself tells nothing about who exists.

The windows live in Redis (sorted sets of send times, shared by every web
process) and are checked and recorded by one Lua script, so concurrent requests
cannot both slip under the limit. Without Redis no code is sent (fail closed):
the caller answers 503 and the receiver tries again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid

import redis
from django.conf import settings

from sdp.api import APIError
from sdp.middleware import get_redis, redis_key

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600

# KEYS: the subjects. ARGV: interval ms, max per window, window ms, member.
# Returns 0 (recorded) or the milliseconds to wait before the next send.
_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local last = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
  if #last > 0 then
    local w = tonumber(last[2]) + interval - now
    if w > wait then wait = w end
  end
  if redis.call('ZCARD', key) >= limit then
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(first[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
end
return 0
"""


class OTPThrottled(APIError):
    """Too soon or too many: ``retry_after`` seconds until the next code."""

    status_code = 429

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            f"Too many codes were requested. Try again in {retry_after} seconds.",
            extras={"retry_after": retry_after},
        )


class OTPThrottleUnavailable(APIError):
    status_code = 503

    def __init__(self):
        super().__init__(
            "Codes cannot be sent right now. Try again in a minute.",
            extras={"retry_after": 60},
        )
        self.retry_after = 60


def _keys(tenant_id: object, contact: str, transaction_id: object) -> list[str]:
    digest = hashlib.sha256(contact.strip().lower().encode()).hexdigest()[:32]
    return [
        redis_key("otp-send", "contact", str(tenant_id), digest),
        redis_key("otp-send", "sep24", str(transaction_id)),
    ]


def check_and_record_send(tenant_id: object, contact: str, transaction_id) -> None:
    """Record one code send for the contact and the SEP-24 transaction, or raise
    OTPThrottled (with the seconds to wait) when either is over its limit, or
    OTPThrottleUnavailable when Redis cannot be reached."""
    interval = max(int(settings.OTP_SEND_MIN_INTERVAL_SECONDS), 0)
    limit = max(int(settings.OTP_SEND_MAX_PER_HOUR), 1)
    try:
        wait_ms = get_redis().eval(
            _SCRIPT,
            2,
            *_keys(tenant_id, contact, transaction_id),
            interval * 1000,
            limit,
            WINDOW_SECONDS * 1000,
            uuid.uuid4().hex,
        )
    except redis.RedisError as exc:
        logger.warning("one-time code refused: Redis unavailable (%s)", exc)
        raise OTPThrottleUnavailable() from exc
    if wait_ms:
        raise OTPThrottled(max(math.ceil(int(wait_ms) / 1000), 1))
