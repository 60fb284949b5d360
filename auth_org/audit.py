"""Audit rows for security-relevant actions: who, in which tenant, from where, what.

Never put a secret in ``changes``: passwords, codes, tokens and key secrets are
recorded as the fact that they changed, not their value.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from auth_org.models import AuditEntry, Organization, User


class Action:
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_LOCKED = "login.locked"
    LOGGED_OUT = "logout"
    ADMIN_TOTP_ENROLLED = "admin.totp_enrolled"
    MFA_CODE_SENT = "mfa.code_sent"
    MFA_SUCCEEDED = "mfa.succeeded"
    MFA_FAILED = "mfa.failed"
    PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105
    PASSWORD_RESET = "password.reset"  # noqa: S105
    PASSWORD_CHANGED = "password.changed"  # noqa: S105
    PROFILE_UPDATED = "profile.updated"
    USER_INVITED = "user.invited"
    USER_ROLES_CHANGED = "user.roles_changed"
    USER_ACTIVATION_CHANGED = "user.activation_changed"
    API_KEY_CREATED = "api_key.created"
    API_KEY_UPDATED = "api_key.updated"
    API_KEY_DELETED = "api_key.deleted"
    ORGANIZATION_UPDATED = "organization.updated"
    TENANT_CREATED = "tenant.created"
    TENANT_UPDATED = "tenant.updated"
    TENANT_DELETED = "tenant.deleted"
    TENANT_DEFAULT_SET = "tenant.default_set"
    CONTROLS_CHANGED = "controls.changed"
    PAYMENT_RELEASED = "payment.cooling_released"


def record(
    action: str,
    *,
    organization: Organization | None = None,
    actor: User | None = None,
    ip_address: str | None = None,
    target: object = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        action=action,
        organization=organization,
        actor=actor if actor is not None and actor.pk else None,
        ip_address=ip_address or None,
        object_type=type(target).__name__ if target is not None else "",
        object_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        changes=changes or {},
    )


def request_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    from core.middleware import client_ip

    return client_ip(request)
