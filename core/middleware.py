"""Request-level guards every route shares (SDP's middleware chain, §4.1).

- ``RequestIDMiddleware``: an ``X-Request-ID`` on every response, also put on log
  records (``auth_org.logfilters.RequestIDFilter``);
- ``NulCharacterMiddleware``: 400 for a NUL character in the path or the query;
- ``BodySizeLimitMiddleware``: 413 with the error body above ``MAX_REQUEST_BODY_BYTES``;
- ``RateLimitMiddleware``: 40 requests per 20 seconds per client IP and path, counted
  in Redis so every web process shares the budget; 429 with the error body;
- ``RequestMetricsMiddleware``: each request's latency and status on ``/metrics``;
- ``LazyMessageMiddleware``: Django's messages, stored only when used.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable
from functools import cache

import redis
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from prometheus_client import Counter, Histogram

from core.api import error_response
from core.logfilters import request_id_var, request_var

logger = logging.getLogger(__name__)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str:
    """The caller's address. ``X-Forwarded-For`` is only believed for as many hops as
    there are trusted proxies in front (``TRUSTED_PROXY_COUNT``), so a client cannot
    pick its own address to dodge a rate limit or pass an API key's allow-list."""
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if hops <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


@cache
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def get_redis() -> redis.Redis:
    return _redis_client(settings.REDIS_URL)


def redis_key(*parts: str) -> str:
    return ":".join((settings.CACHES["default"].get("KEY_PREFIX") or "sdp", *parts))


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        request_token = request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            request_var.reset(request_token)
        response["X-Request-ID"] = request_id
        return response


class NulCharacterMiddleware:
    """A NUL character in the path or a query parameter is a 400 naming where.

    PostgreSQL cannot store or compare text holding one: any such value reaching
    a query (a tenant reference in the path, a filter) was a 500. One check here
    covers every route, declared parameters or not (JSON bodies: core.api's
    parser)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return error_response(
                400, extras={"path": "must not contain NUL characters"}
            )
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            names = [
                name
                for name, values in request.GET.lists()
                if "\x00" in name or any("\x00" in v for v in values)
            ]
            extras = {
                (name.replace("\x00", "?")[:64] or "query"): (
                    "must not contain NUL characters"
                )
                for name in names[:10]
            }
            if extras:
                return error_response(400, extras=extras)
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """Refuse a body over the limit before anything reads it.

    Django would raise ``RequestDataTooBig`` only when a view reads the body, and
    answer with an HTML 400; the dashboard needs the JSON error body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MAX_REQUEST_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400)
        if length > limit:
            return error_response(
                413, extras={"body": f"the body may be at most {limit} bytes"}
            )
        return self.get_response(request)


class RateLimitMiddleware:
    """Fixed 20-second windows per (IP, path), in Redis so processes share them.

    A Redis outage lets requests through (logged): the limit protects the service,
    it must not take it down.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.RATE_LIMIT_ENABLED or request.method == "OPTIONS":
            return self.get_response(request)
        window = settings.RATE_LIMIT_WINDOW_SECONDS
        limit = settings.RATE_LIMIT_REQUESTS
        now = int(time.time())
        window_start = now - now % window
        path = request.path.rstrip("/") or "/"
        key = redis_key("ratelimit", client_ip(request), path, str(window_start))
        try:
            pipe = get_redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count = pipe.execute()[0]
        except redis.RedisError:
            logger.warning("rate limit skipped: Redis unavailable")
            return self.get_response(request)
        if count > limit:
            response = error_response(429)
            response["Retry-After"] = str(window_start + window - now)
            return response
        response = self.get_response(request)
        response["X-RateLimit-Limit"] = str(limit)
        response["X-RateLimit-Remaining"] = str(max(limit - count, 0))
        return response


# django-prometheus's names for its two most used HTTP series, so dashboards
# built for it keep working. Its own middleware pair updated fourteen series on
# every request (bodies' sizes, transports, charsets...), a visible share of a
# dashboard list's Python (docs/performance.md).
REQUEST_LATENCY = Histogram(
    "django_http_requests_latency_seconds_by_view_method",
    "Seconds from the first middleware to the response, by view and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RESPONSES = Counter(
    "django_http_responses_total_by_status_view_method",
    "Responses by status, view and method.",
    ["status", "view", "method"],
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """First in the chain: what every request cost, by view (the URL pattern's
    name, so ids do not multiply the series), method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else None) or "<unnamed view>"
        method = request.method if request.method in METHODS else "<invalid method>"
        REQUEST_LATENCY.labels(view, method).observe(time.perf_counter() - started)
        RESPONSES.labels(str(response.status_code), view, method).inc()
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with their storage built when first used. Only the
    admin shows messages; building the storage (cookie and session backends) on
    every API request cost every list for nothing."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        stored = getattr(request, "_messages", None)
        if isinstance(stored, SimpleLazyObject) and stored._wrapped is empty:
            return response  # never used: nothing to store
        return super().process_response(request, response)
