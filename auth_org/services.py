"""Users, roles, profile and organization settings: the one write path for each.

Each function checks its input, writes in one transaction and records an audit
row naming the actor and what changed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction

from auth_org import audit, locales, sessions
from auth_org.audit import Action
from auth_org.models import (
    DEFAULT_INVITATION_TEMPLATE,
    DEFAULT_OTP_TEMPLATE,
    Organization,
    Role,
    User,
)
from core.api import APIError, NotFound, nul_at
from messaging import services as messaging_services
from messaging import texts
from messaging.models import Message

MAX_LOGO_BYTES = 2 * 1024 * 1024
_UTC_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
EMAIL_IN_USE = "A user with this email already exists."


def clean_roles(roles: Any) -> list[str]:
    if not isinstance(roles, list) or not roles:
        raise APIError(extras={"roles": "at least one role is required"})
    invalid = [r for r in roles if r not in Role.values]
    if invalid:
        raise APIError(
            extras={
                "roles": f"unexpected value for roles: {invalid!s:.100};"
                f" allowed values: {', '.join(Role.values)}"
            }
        )
    if Role.INITIATOR in roles and Role.APPROVER in roles:
        raise APIError(
            extras={"roles": "the initiator and approver roles are mutually exclusive"}
        )
    return list(dict.fromkeys(roles))


def clean_email(email: Any) -> str:
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise APIError(extras={"email": "a valid email is required"}) from exc
    return email


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise APIError(extras={field: f"{field} is required"})
    if len(value) > 128:
        raise APIError(extras={field: f"{field} must be at most 128 characters"})
    return value.strip()


def invite_user(
    organization: Organization,
    *,
    actor: User | None,
    email: str,
    first_name: str,
    last_name: str,
    roles: list[str],
    ip: str | None = None,
) -> User:
    """Create an active user with no usable password and email a set-password link."""
    email = clean_email(email)
    roles = clean_roles(roles)
    first_name = _name(first_name, "first_name")
    last_name = _name(last_name, "last_name")
    if User.objects.filter(organization=organization, email__iexact=email).exists():
        raise APIError(EMAIL_IN_USE, extras={"email": EMAIL_IN_USE})
    try:
        with transaction.atomic():
            user = User(
                organization=organization,
                email=email,
                first_name=first_name,
                last_name=last_name,
                roles=roles,
                is_owner=Role.OWNER in roles,
            )
            user.set_unusable_password()
            user.save()
            sessions.send_invitation(user, actor=actor, ip=ip)
    except IntegrityError as exc:  # a concurrent invitation of the same email
        raise APIError(EMAIL_IN_USE, extras={"email": EMAIL_IN_USE}) from exc
    return user


def _org_user(organization: Organization, user_id: Any) -> User:
    try:
        user = User.objects.filter(organization=organization, pk=user_id).first()
    except (ValueError, ValidationError):
        user = None
    if user is None:
        raise NotFound("user not found")
    return user


@transaction.atomic
def set_user_roles(
    organization: Organization, *, actor: User, user_id: Any, roles: Any, ip: str
) -> User:
    roles = clean_roles(roles)
    user = _org_user(organization, user_id)
    before = list(user.roles)
    user.roles = roles
    user.is_owner = Role.OWNER in roles
    user.save(update_fields=["roles", "is_owner", "updated_at"])
    audit.record(
        Action.USER_ROLES_CHANGED,
        organization=organization,
        actor=actor,
        ip_address=ip,
        target=user,
        changes={"before": before, "after": roles},
    )
    return user


@transaction.atomic
def set_user_activation(
    organization: Organization, *, actor: User, user_id: Any, is_active: Any, ip: str
) -> User:
    if not isinstance(is_active, bool):
        raise APIError(extras={"is_active": "is_active must be true or false"})
    user = _org_user(organization, user_id)
    if user.pk == actor.pk:
        raise APIError(extras={"user_id": "you cannot change your own activation"})
    before = user.is_active
    user.is_active = is_active
    user.save(update_fields=["is_active", "updated_at"])
    if not is_active:
        # Reactivation must not bring the old sessions back.
        sessions.end_sessions(user)
    audit.record(
        Action.USER_ACTIVATION_CHANGED,
        organization=organization,
        actor=actor,
        ip_address=ip,
        target=user,
        changes={"before": before, "after": is_active},
    )
    return user


def email_taken(organization: Organization, email: str, *, by_other_than: User) -> bool:
    return (
        User.objects.filter(organization=organization, email__iexact=email)
        .exclude(pk=by_other_than.pk)
        .exists()
    )


def clean_profile_email(email: Any, user: User) -> str:
    """A valid email no other user of the organization has."""
    email = clean_email(email)
    if email_taken(user.organization, email, by_other_than=user):
        raise APIError(EMAIL_IN_USE, extras={"email": EMAIL_IN_USE})
    return email


@transaction.atomic
def update_profile(user: User, *, data: dict[str, Any], ip: str) -> User:
    fields = {
        key: data.get(key)
        for key in ("first_name", "last_name", "email")
        if data.get(key) not in (None, "")
    }
    if not fields:
        raise APIError("provide at least first_name, last_name or email.")
    changes: dict[str, Any] = {}
    for key in ("first_name", "last_name"):
        if key in fields:
            setattr(user, key, _name(fields[key], key))
            changes[key] = True
    if "email" in fields:
        user.email = clean_profile_email(fields["email"], user)
        changes["email"] = True
    user.save(update_fields=["first_name", "last_name", "email", "updated_at"])
    audit.record(
        Action.PROFILE_UPDATED,
        organization=user.organization,
        actor=user,
        ip_address=ip,
        target=user,
        # Which fields changed, not their values (an email is personal data).
        changes={"fields": sorted(changes)},
    )
    return user


def parse_organization_data(raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw)
    except (TypeError, ValueError, RecursionError) as exc:
        raise APIError(extras={"data": "data must be a JSON object"}) from exc
    if not isinstance(data, dict):
        raise APIError(extras={"data": "data must be a JSON object"})
    if where := nul_at(data):  # PostgreSQL cannot store one
        raise APIError(extras={f"data.{where}": "must not contain NUL characters"})
    return data


_BOOLEANS = (
    "is_approval_required",
    "is_link_shortener_enabled",
    "is_memo_tracing_enabled",
    "mfa_disabled",
    "captcha_disabled",
    "receiver_invitations_disabled",
)
_DAYS = ("receiver_invitation_resend_interval_days", "payment_cancellation_period_days")
_TEMPLATES = {
    "receiver_registration_message_template": DEFAULT_INVITATION_TEMPLATE,
    "otp_message_template": DEFAULT_OTP_TEMPLATE,
}
# Which message each template field writes (its placeholders differ).
_TEMPLATE_KINDS = {
    "receiver_registration_message_template": Message.Kind.RECEIVER_INVITATION,
    "otp_message_template": Message.Kind.RECEIVER_OTP,
}


def _organization_changes_and_errors(
    data: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The model fields to set from the dashboard's ``data`` JSON, and what is
    wrong with the others (every invalid field, named at once)."""
    updates: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "organization_name" in data:
        name = data["organization_name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            errors["organization_name"] = "organization name must be 1 to 64 characters"
        else:
            updates["display_name"] = name.strip()
    if "timezone_utc_offset" in data:
        offset = data["timezone_utc_offset"]
        if not isinstance(offset, str) or not _UTC_OFFSET.match(offset):
            errors["timezone_utc_offset"] = "use the format +HH:MM or -HH:MM"
        else:
            updates["timezone_utc_offset"] = offset
    for key in _BOOLEANS:
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = f"{key} must be true or false"
            else:
                updates[key] = data[key]
    if updates.get("mfa_disabled") and settings.IS_PUBNET:
        errors["mfa_disabled"] = "MFA cannot be disabled on pubnet"
    for key in _DAYS:
        if key in data:
            value = data[key]
            try:
                number = int(value) if value not in (None, "") else 0
                if isinstance(value, bool) or number < 0 or str(value) != str(number):
                    raise ValueError
            except (TypeError, ValueError):
                errors[key] = f"{key} must be a whole number greater than or equal to 0"
                continue
            updates[key] = number or None  # 0 means off
    if "sms_daily_cap" in data:
        # Not SDP's: the SMS/WhatsApp messages a day; null (or "") removes the cap.
        value = data["sms_daily_cap"]
        if value in (None, ""):
            updates["sms_daily_cap"] = None
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            updates["sms_daily_cap"] = value
        else:
            errors["sms_daily_cap"] = (
                "sms_daily_cap must be a whole number greater than or equal to 0, "
                "or null for no cap"
            )
    if "locale" in data:
        # Not SDP's: the reports' numbers and dates; null (or "") for the
        # deployment's REPORTS_LOCALE.
        value = data["locale"]
        if value in (None, ""):
            updates["locale"] = ""
        elif (tag := locales.tag(value)) is None:
            errors["locale"] = locales.ERROR
        else:
            updates["locale"] = tag
    for key, default in _TEMPLATES.items():
        if key in data:
            value = data[key]
            if not isinstance(value, str):
                errors[key] = f"{key} must be a string"
                continue
            try:
                value = texts.validate_template(
                    value, kind=_TEMPLATE_KINDS[key], field=key
                )
            except ValidationError as exc:
                errors[key] = f"{key}: {exc.message_dict[key][0]}"
            else:
                updates[key] = value or default
    if "privacy_policy_link" in data:
        link = data["privacy_policy_link"]
        if link in (None, ""):
            updates["privacy_policy_link"] = ""
        else:
            schemes = ["https"] if settings.IS_PUBNET else ["http", "https"]
            try:
                if not isinstance(link, str):
                    raise ValidationError("not a string")
                URLValidator(schemes=schemes)(link)
            except ValidationError:
                errors["privacy_policy_link"] = (
                    "privacy policy link must be an https URL"
                    if settings.IS_PUBNET
                    else "privacy policy link must be a valid URL"
                )
            else:
                updates["privacy_policy_link"] = link
    return updates, errors


def _logo_type(content: bytes) -> str | None:
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def update_organization(
    organization: Organization,
    *,
    actor: User,
    data: dict[str, Any],
    logo: bytes | None,
    ip: str,
) -> Organization:
    """Apply the settings in ``data`` and/or a new logo (PNG or JPEG, 2 MB max)."""
    if not data and logo is None:
        raise APIError("data or logo is required")
    updates, errors = _organization_changes_and_errors(data)
    if logo is not None:
        content_type = _logo_type(logo)
        if len(logo) > MAX_LOGO_BYTES:
            errors["logo"] = "the logo must be at most 2 MB"
        elif content_type is None:
            errors["logo"] = "the logo must be a PNG or JPEG image"
        else:
            updates["logo"] = logo
            updates["logo_content_type"] = content_type
    if errors:  # every invalid setting and the logo, named at once
        raise APIError(extras=errors)
    return apply_organization_changes(organization, updates, actor=actor, ip=ip)


def apply_organization_changes(
    organization: Organization,
    updates: dict[str, Any],
    *,
    actor: User | None,
    ip: str | None,
) -> Organization:
    """Write validated organization settings (from the dashboard or the Django
    admin) under a row lock, audit what changed, and carry a new SMS/WhatsApp
    daily cap over to the organization's messages still waiting."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        changes = {
            key: {"before": getattr(organization, key), "after": value}
            for key, value in updates.items()
            if key not in ("logo", "logo_content_type")
            and getattr(organization, key) != value
        }
        if "logo" in updates:
            changes["logo"] = {"after": f"{len(updates['logo'])} bytes"}
        for key, value in updates.items():
            setattr(organization, key, value)
        organization.save(update_fields=[*updates, "updated_at"])
        if "sms_daily_cap" in changes:
            messaging_services.set_tenant_daily_cap(
                organization.id, organization.sms_daily_cap
            )
        audit.record(
            Action.ORGANIZATION_UPDATED,
            organization=organization,
            actor=actor,
            ip_address=ip,
            target=organization,
            changes=changes,
        )
    return organization
