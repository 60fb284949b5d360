"""Tenant lifecycle for the platform operator: status changes, soft delete, default.

Provisioning itself (organization, owner, wallets, assets, distribution account)
is ``auth_org.provisioning.provision_tenant``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from auth_org import audit, sessions
from auth_org.audit import Action
from auth_org.models import Organization, User
from auth_org.signals import tenant_deactivating
from core.api import APIError, Forbidden

Status = Organization.Status
TENANT_NAME = re.compile(r"^[a-z-]+$")
# SDP: CREATED -> PROVISIONED (provisioning) -> ACTIVATED <-> DEACTIVATED.
TRANSITIONS = {
    Status.CREATED: frozenset({Status.PROVISIONED}),
    Status.PROVISIONED: frozenset({Status.ACTIVATED}),
    Status.ACTIVATED: frozenset({Status.DEACTIVATED}),
    Status.DEACTIVATED: frozenset({Status.ACTIVATED}),
}


def create_tenant(
    *,
    name: str,
    organization_name: str,
    owner_email: str,
    owner_first_name: str,
    owner_last_name: str,
    base_url: str = "",
    sdp_ui_base_url: str = "",
    distribution_account_type: str = "",
    ip: str | None = None,
) -> Organization:
    """Provision a tenant and invite its owner, in one transaction.

    Raises APIError (400) for a bad or taken name, or bad owner details.
    """
    from auth_org.provisioning import provision_tenant
    from auth_org.tasks import provision_distribution_account_task

    # SDP: the URLs default to the tenant's subdomain of the platform's URLs.
    base_url = base_url or _tenant_url(settings.BASE_URL, name)
    sdp_ui_base_url = sdp_ui_base_url or _tenant_url(settings.SDP_UI_BASE_URL, name)
    try:
        with transaction.atomic():
            organization = provision_tenant(
                name,
                owner_email=owner_email,
                owner_first_name=owner_first_name,
                owner_last_name=owner_last_name,
                display_name=organization_name,
                base_url=base_url,
                sdp_ui_base_url=sdp_ui_base_url,
            )
            if distribution_account_type:
                organization.distribution_account_type = distribution_account_type
                organization.save(update_fields=["distribution_account_type"])
            owner = User.objects.get(organization=organization, is_owner=True)
            sessions.send_invitation(owner, actor=None, ip=ip)
            transaction.on_commit(
                lambda: provision_distribution_account_task.delay(str(organization.pk))
            )
            audit.record(
                Action.TENANT_CREATED,
                organization=organization,
                ip_address=ip,
                target=organization,
                changes={"name": organization.name},
            )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {}
        if "already exists" in str(errors.get("name", "")):
            raise APIError("Tenant name already exists") from exc
        raise APIError(
            extras={key: " ".join(value) for key, value in errors.items()}
        ) from exc
    return organization


def _tenant_url(platform_url: str, name: str) -> str:
    parts = urlsplit(platform_url)
    if not parts.scheme or not parts.netloc or not TENANT_NAME.match(name or ""):
        return ""
    return urlunsplit((parts.scheme, f"{name}.{parts.netloc}", "", "", ""))


def _url(value: Any, field: str) -> str:
    try:
        if not isinstance(value, str):
            raise ValidationError("not a string")
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError as exc:
        raise APIError(extras={field: "must be a valid URL"}) from exc
    return value


def update_tenant(
    organization: Organization, *, data: dict[str, Any], ip: str | None = None
) -> Organization:
    updates: dict[str, Any] = {}
    for field in ("base_url", "sdp_ui_base_url"):
        if data.get(field) not in (None, ""):
            updates[field] = _url(data[field], field)
    new_status = data.get("status")
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        before = organization.status
        if new_status not in (None, "", before):
            if new_status not in TRANSITIONS.get(before, ()):
                raise APIError(
                    extras={
                        "status": f"cannot change status from {before} to {new_status}"
                    }
                )
            if new_status == Status.DEACTIVATED:
                if organization.is_default:
                    raise APIError("Cannot deactivate the default tenant.")
                # Refused by disbursements while payments are READY or PENDING.
                tenant_deactivating.send(Organization, organization=organization)
            updates["status"] = new_status
        if not updates:
            return organization
        changes = {
            key: {"before": getattr(organization, key), "after": value}
            for key, value in updates.items()
        }
        for key, value in updates.items():
            setattr(organization, key, value)
        organization.save(update_fields=[*updates, "updated_at"])
        audit.record(
            Action.TENANT_UPDATED,
            organization=organization,
            ip_address=ip,
            target=organization,
            changes=changes,
        )
    return organization


def delete_tenant(organization: Organization, *, ip: str | None = None) -> Organization:
    with transaction.atomic():
        updated = Organization.objects.filter(
            pk=organization.pk, status=Status.DEACTIVATED, deleted_at__isnull=True
        ).update(deleted_at=timezone.now(), updated_at=timezone.now())
        if updated != 1:
            raise APIError("Tenant must be deactivated before it can be deleted.")
        audit.record(
            Action.TENANT_DELETED,
            organization=organization,
            ip_address=ip,
            target=organization,
        )
    organization.refresh_from_db()
    return organization


def set_default_tenant(
    organization: Organization, *, ip: str | None = None
) -> Organization:
    if not settings.SINGLE_TENANT_MODE:
        raise Forbidden("Setting a default tenant needs SINGLE_TENANT_MODE.")
    with transaction.atomic():
        Organization.objects.filter(is_default=True).exclude(pk=organization.pk).update(
            is_default=False
        )
        Organization.objects.filter(pk=organization.pk).update(is_default=True)
        audit.record(
            Action.TENANT_DEFAULT_SET,
            organization=organization,
            ip_address=ip,
            target=organization,
        )
    organization.refresh_from_db()
    return organization
