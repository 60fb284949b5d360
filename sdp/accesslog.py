"""The access log: one JSON line a request, written by Django in every served
shape (gunicorn, runserver, the compose web command), through the same
formatter and redaction as every other line, with the request id and tenant.

The first middleware but one (after sdp.ports), so that it sees every answer,
a 429 of the rate limit or a 413 included. It logs the path without the query
string (registration links carry tokens there). Django's own per-request
warnings ("Not Found: ...", logger ``django.request``) and runserver's lines
(``django.server``) are kept to errors in settings.LOGGING, and gunicorn's
access log is off (gunicorn.conf.py): a 4xx is logged once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.logfilters import request_id_var, request_var

logger = logging.getLogger("sdp.access")


def _tenant_known(request: HttpRequest) -> None:
    """Make the tenant known to the log filter without a query: the resolved
    ``request.tenant``, else the organization the authenticated user was
    loaded with."""
    from auth_org.tenancy import known_tenant

    if known_tenant(request) is not None:
        return
    user = request.__dict__.get("user")
    state = getattr(user, "_state", None)
    organization = state.fields_cache.get("organization") if state else None
    if organization is not None:
        request.__dict__["tenant"] = organization


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        request_id = getattr(request, "request_id", None) or response.get(
            "X-Request-ID", "-"
        )
        with contextlib.suppress(Exception):  # never fail a request over its log
            _tenant_known(request)
        id_token = request_id_var.set(request_id)
        request_token = request_var.set(request)
        try:
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "access": {
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                        "port": request.META.get("SERVER_PORT", ""),
                    }
                },
            )
        finally:
            request_id_var.reset(id_token)
            request_var.reset(request_token)
        return response
