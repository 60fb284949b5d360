"""API keys: ``SDP_<id>.<secret>``, shown once, stored as sha256(salt + secret).

A request with a key acts as the key's creator, limited to the key's permissions
(``read:all``/``write:all`` cover every ``read:``/``write:`` permission) and to
what the creator's current roles allow (auth_org.permissions). A key is made or
changed only with permissions its creator's roles grant.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from auth_org import audit
from auth_org.audit import Action
from auth_org.models import APIKey, Organization, User
from auth_org.permissions import permissions_granted_to
from core.api import APIError

PREFIX = "SDP_"
RESOURCES = (
    "disbursements",
    "receivers",
    "payments",
    "organization",
    "users",
    "wallets",
)
PERMISSIONS = frozenset(
    {"read:all", "write:all", "read:statistics", "read:exports"}
    | {f"{verb}:{resource}" for verb in ("read", "write") for resource in RESOURCES}
)
# last_used_at is written at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def parse_key(raw: str) -> tuple[uuid.UUID, str] | None:
    if not raw.startswith(PREFIX):
        return None
    key_id, dot, secret = raw[len(PREFIX) :].partition(".")
    if not dot or not secret:
        return None
    try:
        return uuid.UUID(key_id), secret
    except ValueError:
        return None


def authenticate_key(raw: str, *, ip: str) -> APIKey | None:
    """The key for ``raw`` if it is valid, unexpired, allowed from ``ip`` and its
    creator is still active; else None."""
    parsed = parse_key(raw)
    if parsed is None:
        return None
    key_id, secret = parsed
    key = (
        APIKey.objects.select_related("organization", "created_by")
        .filter(pk=key_id, organization__deleted_at__isnull=True)
        .exclude(organization__status=Organization.Status.DEACTIVATED)
        .first()
    )
    # Hash even for an unknown id, so timing does not tell which ids exist.
    expected = key.key_hash if key else "0" * 64
    supplied = _hash(key.salt if key else "", secret)
    if key is None or not hmac.compare_digest(expected, supplied):
        return None
    now = timezone.now()
    if key.expiry_date and key.expiry_date <= now:
        return None
    if key.allowed_ips and not ip_allowed(ip, key.allowed_ips):
        return None
    creator = key.created_by
    if creator is None or not creator.is_active:
        return None
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def ip_allowed(ip: str, allowed: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def clean_permission_names(permissions: Any) -> list[str]:
    """A non-empty list of known permissions; an unknown one lists those allowed."""
    if not isinstance(permissions, list) or not permissions:
        raise APIError(extras={"permissions": "at least one permission is required"})
    unknown = [p for p in permissions if not isinstance(p, str) or p not in PERMISSIONS]
    if unknown:
        shown = ", ".join(json.dumps(str(p)[:64]) for p in unknown[:10])
        raise APIError(
            extras={
                "permissions": f"invalid permission(s): {shown}; allowed values: "
                + ", ".join(sorted(PERMISSIONS))
            }
        )
    return permissions


def clean_permissions(permissions: Any, creator: User) -> list[str]:
    clean_permission_names(permissions)
    beyond = sorted(
        set(permissions) - permissions_granted_to(creator.roles, permissions)
    )
    if beyond:
        raise APIError(
            "An API key cannot have more permissions than its creator's roles.",
            status_code=403,
            extras={"permissions": "your roles do not grant: " + ", ".join(beyond)},
        )
    return sorted(set(permissions))


def clean_allowed_ips(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise APIError(extras={"allowed_ips": "must be a list of IPs or CIDR ranges"})
    cleaned = []
    for entry in value:
        try:
            cleaned.append(str(ipaddress.ip_network(str(entry).strip(), strict=False)))
        except ValueError as exc:
            raise APIError(
                extras={"allowed_ips": f"invalid IP address or CIDR: {entry}"}
            ) from exc
    return cleaned


@transaction.atomic
def create_api_key(
    user: User,
    *,
    name: str,
    permissions: list[str],
    allowed_ips: Any = None,
    expiry_date: datetime | None = None,
    ip: str | None = None,
) -> tuple[APIKey, str]:
    """Create a key; returns it with the plaintext, which is never stored."""
    if not (name or "").strip():
        raise APIError(extras={"name": "name is required"})
    if expiry_date is not None and expiry_date <= timezone.now():
        raise APIError(extras={"expiry_date": "expiry date must be in the future"})
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    key = APIKey.objects.create(
        organization=user.organization,
        name=name.strip()[:128],
        key_hash=_hash(salt, secret),
        salt=salt,
        permissions=clean_permissions(permissions, user),
        allowed_ips=clean_allowed_ips(allowed_ips),
        expiry_date=expiry_date,
        created_by=user,
        updated_by=user,
    )
    audit.record(
        Action.API_KEY_CREATED,
        organization=user.organization,
        actor=user,
        ip_address=ip,
        target=key,
        changes={
            "name": key.name,
            "permissions": key.permissions,
            "allowed_ips": key.allowed_ips,
            "expiry_date": expiry_date.isoformat() if expiry_date else None,
        },
    )
    return key, f"{PREFIX}{key.pk}.{secret}"


@transaction.atomic
def update_api_key(
    key: APIKey,
    *,
    actor: User,
    permissions: Any,
    allowed_ips: Any = None,
    ip: str | None = None,
) -> APIKey:
    before = {"permissions": key.permissions, "allowed_ips": key.allowed_ips}
    key.permissions = clean_permissions(permissions, key.created_by or actor)
    key.allowed_ips = clean_allowed_ips(allowed_ips)
    key.updated_by = actor
    key.save(update_fields=["permissions", "allowed_ips", "updated_by", "updated_at"])
    audit.record(
        Action.API_KEY_UPDATED,
        organization=key.organization,
        actor=actor,
        ip_address=ip,
        target=key,
        changes={
            "before": before,
            "after": {"permissions": key.permissions, "allowed_ips": key.allowed_ips},
        },
    )
    return key


@transaction.atomic
def delete_api_key(key: APIKey, *, actor: User, ip: str | None = None) -> None:
    audit.record(
        Action.API_KEY_DELETED,
        organization=key.organization,
        actor=actor,
        ip_address=ip,
        target=key,
        changes={"name": key.name},
    )
    key.delete()
