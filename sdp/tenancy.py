"""Which organization a request is for.

In single-tenant mode, the default organization. Otherwise the ``SDP-Tenant-Name``
header, else the host's first label when the host has three labels or more
(``aidorg.sdp.example`` -> ``aidorg``). Authentication replaces it with the tenant
of the JWT or API key, so a token of one organization never reads another's data.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from auth_org.models import Organization


def tenant_name_from_request(request: HttpRequest) -> str:
    header = request.headers.get("SDP-Tenant-Name", "").strip().lower()
    if header:
        return header
    host = request.get_host().split(":")[0]
    labels = host.split(".")
    if len(labels) >= 3 and not all(label.isdigit() for label in labels):
        return labels[0].lower()
    return ""


def resolve_tenant(request: HttpRequest) -> Organization | None:
    if settings.SINGLE_TENANT_MODE:
        lookup = {"is_default": True}
    else:
        name = tenant_name_from_request(request)
        if not name:
            # Most API calls: authentication names the tenant (build nothing).
            return None
        lookup = {"name__iexact": name}
    # A deactivated tenant answers as an unknown one: no login, no registration.
    return (
        Organization.objects.filter(deleted_at__isnull=True, **lookup)
        .exclude(status=Organization.Status.DEACTIVATED)
        .defer("logo")
        .first()
    )


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = resolve_tenant(request)
        return self.get_response(request)
