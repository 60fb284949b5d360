"""Routes a request by the listener that accepted it (sdp/urls.py).

The port is WSGI's ``SERVER_PORT``, which gunicorn sets from the accepting
socket's own address (``listener.getsockname()``) for TCP listeners: a client
cannot change it with a Host header (a header only ever becomes ``HTTP_*``).
gunicorn.conf.py binds only TCP listeners when the ports are split (for a unix
socket gunicorn derives SERVER_PORT from the Host header). Behind a proxy, the
proxy connects to the port of the surface it forwards, so the proxy decides
which surface is public.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from sdp import urls


def urlconf_for(port: str) -> type | None:
    """The route class for a request accepted on ``port`` (None: every route)."""
    if settings.SINGLE_PORT:
        return None if settings.ADMIN_UI_ENABLED else urls.AllWithoutAdminURLs
    if port == str(settings.METRICS_PORT):
        return urls.MetricsURLs
    if port == str(settings.ADMIN_PORT):
        return urls.AdminURLs
    return urls.PublicWithAdminURLs if settings.ADMIN_UI_ENABLED else urls.PublicURLs


class PortRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        urlconf = urlconf_for(str(request.META.get("SERVER_PORT", "")))
        if urlconf is not None:
            request.urlconf = urlconf
        return self.get_response(request)
