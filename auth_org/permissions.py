"""Role checks: each view says which roles may use each method (reference §10).

A view sets ``roles`` to a dict of HTTP method -> roles, or one collection for all
methods. API keys (issue 5) check ``permissions`` the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

from auth_org.models import Role

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView

ALL = frozenset(Role.values)
BIZ = ALL - {Role.DEVELOPER}
OWNER = frozenset({Role.OWNER})
OWNER_FC = frozenset({Role.OWNER, Role.FINANCIAL_CONTROLLER})


def allowed_roles(view: APIView, method: str) -> frozenset[str]:
    roles = getattr(view, "roles", ALL)
    if isinstance(roles, dict):
        return frozenset(roles.get(method, roles.get("*", ())))
    return frozenset(roles)


class HasRole(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        return bool(set(user.roles) & allowed_roles(view, method))
