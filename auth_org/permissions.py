"""Role checks: each view says which roles may use each method (reference §10),
and which API-key permission each method needs.

- ``roles``: a dict of HTTP method -> roles (``"*"`` for the rest), or one
  collection for all methods. Default: ALL.
- ``api_key_permissions``: a dict of HTTP method -> permission (``"*"`` for the
  rest), or one string for all methods, e.g.
  ``{"GET": "read:disbursements", "POST": "write:disbursements"}``. A method with no
  permission refuses API keys. ``read:all``/``write:all`` cover every ``read:``/
  ``write:`` permission.
"""

from __future__ import annotations

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
        if isinstance(request.auth, APIKey):
            return grants(
                request.auth.permissions, required_key_permission(view, method)
            )
        return bool(set(user.roles) & allowed_roles(view, method))


class SessionOnly(HasRole):
    """For routes an API key must never reach (session refresh, own profile
    password): roles as HasRole, keys refused."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, APIKey):
            return False
        return super().has_permission(request, view)
