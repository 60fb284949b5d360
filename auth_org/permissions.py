"""Role checks: each view says which roles may use each method (reference §10),
and which API-key permission each method needs.

- ``roles``: a dict of HTTP method -> roles (``"*"`` for the rest), or one
  collection for all methods. Default: ALL.
- ``api_key_permissions``: a dict of HTTP method -> permission (``"*"`` for the
  rest), or one string for all methods, e.g.
  ``{"GET": "read:disbursements", "POST": "write:disbursements"}``. A method with no
  permission refuses API keys. ``read:all``/``write:all`` cover every ``read:``/
  ``write:`` permission.

An API key never does more than its creator's roles allow (issue 16):

- on every use, the key needs the route's permission AND its creator's
  current roles must be allowed on the route (the creator is re-read on every
  request, so a demoted creator's keys shrink at once, a deactivated one's stop);
- when a key is made or changed, each permission must be one the creator's
  roles grant: a role grants a permission when the role is allowed on every
  route that permission opens (``permissions_granted_to``), derived from the
  routes themselves so the two can never drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

from auth_org.models import APIKey, Role

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView

ALL = frozenset(Role.values)
BIZ = ALL - {Role.DEVELOPER}
OWNER = frozenset({Role.OWNER})
OWNER_FC = frozenset({Role.OWNER, Role.FINANCIAL_CONTROLLER})


def grants(permissions: list[str], needed: str | None) -> bool:
    if not needed:
        return False
    verb = needed.partition(":")[0]
    return needed in permissions or f"{verb}:all" in permissions


def _method(request: Request) -> str:
    return "GET" if request.method in ("HEAD", "OPTIONS") else request.method


def allowed_roles(view: APIView, method: str) -> frozenset[str]:
    roles = getattr(view, "roles", ALL)
    if isinstance(roles, dict):
        return frozenset(roles.get(method, roles.get("*", ())))
    return frozenset(roles)


def required_key_permission(view: APIView, method: str) -> str | None:
    needed = getattr(view, "api_key_permissions", None)
    if isinstance(needed, dict):
        return needed.get(method, needed.get("*"))
    return needed


class HasRole(permissions.BasePermission):
    """A JWT user needs one of the view's roles; an API key needs the permission."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        method = _method(request)
        creator_allowed = bool(set(user.roles) & allowed_roles(view, method))
        if isinstance(request.auth, APIKey):
            # The intersection of the key's scope and its creator's roles now.
            return creator_allowed and grants(
                request.auth.permissions, required_key_permission(view, method)
            )
        return creator_allowed


class SessionOnly(HasRole):
    """For routes an API key must never reach (session refresh, own profile
    password): roles as HasRole, keys refused."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, APIKey):
            return False
        return super().has_permission(request, view)


def _api_views() -> list[type]:
    """Every DRF view class routed in the project (with its URL patterns)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[type] = []

    def walk(patterns) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "cls", None)
                if view_class is not None and view_class not in found:
                    found.append(view_class)

    walk(get_resolver().url_patterns)
    return found


@cache
def route_key_grants() -> tuple[tuple[str, frozenset[str]], ...]:
    """(permission a route needs from a key, roles allowed on it), one per
    routed method that accepts keys."""
    rows = []
    for view_class in _api_views():
        if getattr(view_class, "api_key_permissions", None) is None:
            continue
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if not hasattr(view_class, method.lower()):
                continue
            needed = required_key_permission(view_class, method)
            if needed:
                rows.append((needed, allowed_roles(view_class, method)))
    return tuple(rows)


def permissions_granted_to(roles, permissions) -> set[str]:
    """Those of ``permissions`` that ``roles`` grant: every route each opens
    to a key must be open to one of the roles."""
    roles = set(roles)
    table = route_key_grants()
    return {
        permission
        for permission in permissions
        if all(
            roles & allowed for needed, allowed in table if grants([permission], needed)
        )
    }
