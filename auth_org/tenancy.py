"""Which organization a request is for.

In single-tenant mode, the default organization. Otherwise the ``SDP-Tenant-Name``
header, else the host's first label when the host has three labels or more
(``aidorg.sdp.example`` -> ``aidorg``). Authentication replaces it with the tenant
of the JWT or API key, so a token of one organization never reads another's data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from auth_org.models import Organization
from core.api import APIError


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
        if "\x00" in name:
            return None  # PostgreSQL cannot compare it: no tenant has it
        lookup = {"name__iexact": name}
    # A deactivated tenant answers as an unknown one: no login, no registration.
    return (
        Organization.objects.filter(deleted_at__isnull=True, **lookup)
        .exclude(status=Organization.Status.DEACTIVATED)
        .defer("logo")
        .first()
    )


TENANT_HEADER = "SDP-Tenant-Name"
TENANT_NOT_FOUND = "Tenant not found in context."


def tenant_not_found(request: HttpRequest) -> APIError:
    """The 400 of a route that needs a tenant the request does not name: SDP's
    message, and in ``extras`` which header (or host) and which tenant."""
    if settings.SINGLE_TENANT_MODE:
        extras = {"tenant": "no default tenant is configured"}
    elif header := request.headers.get(TENANT_HEADER, "").strip():
        extras = {TENANT_HEADER: f"no active tenant named {_shown(header)}"}
    elif name := tenant_name_from_request(request):
        extras = {
            "Host": f"no active tenant named {_shown(name)} (the host's first"
            f" label); or name one in the {TENANT_HEADER} header"
        }
    else:
        extras = {
            TENANT_HEADER: "the header is required: the name of the tenant (or a"
            " host whose first label is its name)"
        }
    return APIError(TENANT_NOT_FOUND, extras=extras)


def _shown(name: str) -> str:
    return repr("".join(c if c.isprintable() else "?" for c in name[:64]))


_UNRESOLVED = object()


@functools.cache
def _lazy_tenant_class(base: type) -> type:
    class LazyTenantRequest(base):
        """``tenant`` resolved on first read, not on every request: the dashboard
        sends SDP-Tenant-Name with every call, and on authenticated ones
        authentication sets the token's tenant instead (resolving the header
        there cost an ORM query for nothing)."""

        @property
        def tenant(self) -> Organization | None:
            value = self.__dict__.get("_tenant", _UNRESOLVED)
            if value is _UNRESOLVED:
                value = self.__dict__["_tenant"] = resolve_tenant(self)
            return value

        @tenant.setter
        def tenant(self, value: Organization | None) -> None:
            self.__dict__["_tenant"] = value

    LazyTenantRequest.__name__ = LazyTenantRequest.__qualname__ = (
        f"LazyTenant{base.__name__}"
    )
    return LazyTenantRequest


def known_tenant(request: HttpRequest | None) -> Organization | None:
    """The request's tenant if already resolved or set, without resolving it (no
    query): for log records, which may be written while the database fails."""
    if request is None:
        return None
    value = request.__dict__.get("_tenant", _UNRESOLVED)
    if value is _UNRESOLVED:
        value = request.__dict__.get("tenant")  # a request the middleware skipped
    return value


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The same request object, given a lazy ``tenant`` (its class gains the
        # property; nothing else about it changes).
        request.__class__ = _lazy_tenant_class(type(request))
        return self.get_response(request)
