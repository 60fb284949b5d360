"""Optional crash reports to Sentry (CRASH_TRACKER_TYPE=SENTRY, SENTRY_DSN), as
SDP: errors of the web process (Django integration) and of the worker and beat
(Celery integration), with no personal data.

sentry-sdk 3 replaced ``send_default_pii`` with ``data_collection``: here no user
identity, cookies, request bodies, query strings, queue payloads (task
arguments), SQL parameters or stack-frame variables are collected, and request
headers only from an allow-list. ``before_send`` then scrubs what is left: the
messages, exception values and breadcrumbs pass through the log redaction
(core.logfilters.redact: contacts, codes, tokens, secret seeds), and anything
naming a user is dropped.
"""

from __future__ import annotations

from typing import Any

from core.logfilters import redact

_HEADERS_KEPT = [
    "Content-Type",
    "Content-Length",
    "Accept",
    "User-Agent",
    "X-Request-ID",
]


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def before_send(event: dict, hint: dict | None = None) -> dict:
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        kept = {h.lower() for h in _HEADERS_KEPT}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in kept}
        if "url" in request:
            request["url"] = redact(str(request["url"]).split("?", 1)[0])
    for key in ("message", "logentry", "exception", "breadcrumbs", "extra", "tags"):
        if key in event:
            event[key] = _scrub(event[key])
    for thread in (event.get("threads") or {}).get("values", []) or []:
        for frame in (thread.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
    for exception in (event.get("exception") or {}).get("values", []) or []:
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
    return event


def before_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return _scrub(crumb)


def init(dsn: str, environment: str, release: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": _HEADERS_KEPT}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=0,
    )
