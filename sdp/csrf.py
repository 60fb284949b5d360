"""CSRF origin checks that also trust the request's tenant's own URLs.

Django trusts the request's own origin and CSRF_TRUSTED_ORIGINS (BASE_URL,
SDP_UI_BASE_URL and their sub-domains). A tenant may have a base_url of its own
on another domain (``Organization.base_url``, ``sdp_ui_base_url``); a form posted
from there names that tenant and is accepted for it, and only for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.middleware.csrf import CsrfViewMiddleware


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class TenantCsrfViewMiddleware(CsrfViewMiddleware):
    def _origin_verified(self, request) -> bool:
        if super()._origin_verified(request):
            return True
        origin = request.META.get("HTTP_ORIGIN", "")
        tenant = getattr(request, "tenant", None)  # resolved only on a mismatch
        if not origin or tenant is None:
            return False
        return origin in {
            _origin(tenant.base_url),
            _origin(tenant.sdp_ui_base_url),
        } - {""}
