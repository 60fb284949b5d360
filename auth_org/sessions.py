"""Login with email MFA, session refresh and the password flows (reference §10).

Codes, reset tokens and passwords never reach a log line or an audit row; the
database keeps only keyed hashes of codes and tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from auth_org import audit, throttle
from auth_org.audit import Action
from auth_org.models import (
    MFACode,
    Organization,
    PasswordResetToken,
    RevokedSession,
    User,
)
from auth_org.passwords import password_problems
from auth_org.tokens import issue_token
from core.api import APIError
from messaging.models import Message
from messaging.services import queue_message

INCORRECT_CREDENTIALS = "Incorrect email or password"
MFA_SENT_MESSAGE = "MFA code sent to email. Check your inbox and spam folders."
MFA_INVALID = "Invalid MFA code."
MFA_MAX_ATTEMPTS = 5
FORGOT_REPLY = (
    "If the email you provided is associated with an account, you'll receive a "
    "password reset link shortly. Check your inbox and spam folders."
)
RESET_TOKEN_INVALID = "Invalid reset password token."  # noqa: S105
RESET_TOKEN_EXPIRED = "Reset password token expired. Please request a new one."  # noqa: S105


def mfa_disabled(organization: Organization) -> bool:
    # MFA can never be off on pubnet, whatever the settings say.
    if settings.IS_PUBNET:
        return False
    if organization.mfa_disabled is not None:
        return organization.mfa_disabled
    return settings.DISABLE_MFA


def _email_user(user: User, kind: str, *, title: str, body: str) -> None:
    """Queue a staff email to ``user`` (in the caller's transaction)."""
    queue_message(
        tenant_id=user.organization_id,
        kind=kind,
        channel=Message.Channel.EMAIL,
        recipient=user.email,
        title=title,
        body=body,
        user_id=user.pk,
    )


def _digest(*parts: object) -> str:
    message = ":".join(str(part) for part in parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class LoginResult:
    token: str | None = None
    message: str | None = None


def login(
    organization: Organization,
    *,
    email: str,
    password: str,
    device_id: str,
    ip: str,
) -> LoginResult:
    """Check the credentials; a token, or (MFA on, device not remembered) a code by
    email. Raises 401 for wrong credentials, 429 while locked, 400 without a
    Device-ID when MFA is on."""
    throttle.ensure_login_allowed(organization.pk, email, ip)
    user = User.objects.filter(
        organization=organization, email__iexact=email.strip(), is_active=True
    ).first()
    if user is None:
        make_password(password)  # same work either way: no account enumeration
    if user is None or not user.check_password(password):
        locked = throttle.record_failure(organization.pk, email, ip)
        audit.record(
            Action.LOGIN_FAILED,
            organization=organization,
            actor=user,
            ip_address=ip,
            changes={"locked": locked},
        )
        raise APIError(status_code=401, extras={"details": INCORRECT_CREDENTIALS})
    throttle.record_success(organization.pk, email)

    if mfa_disabled(organization):
        return LoginResult(token=_complete_login(user, ip, via="password"))
    if not device_id:
        raise APIError(extras={"Device-ID": "Device-ID header is required"})
    device = MFACode.objects.filter(user=user, device_id=device_id).first()
    if (
        device
        and device.device_expires_at
        and device.device_expires_at > timezone.now()
    ):
        return LoginResult(token=_complete_login(user, ip, via="remembered_device"))
    send_mfa_code(user, device_id=device_id, ip=ip)
    return LoginResult(message=MFA_SENT_MESSAGE)


def _complete_login(user: User, ip: str, *, via: str) -> str:
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    audit.record(
        Action.LOGIN_SUCCEEDED,
        organization=user.organization,
        actor=user,
        ip_address=ip,
        changes={"via": via},
    )
    return issue_token(user)


@transaction.atomic
def send_mfa_code(user: User, *, device_id: str, ip: str) -> None:
    code = f"{secrets.randbelow(1_000_000):06d}"
    MFACode.objects.update_or_create(
        user=user,
        device_id=device_id,
        defaults={
            "code_hash": _digest("mfa", user.pk, device_id, code),
            "code_expires_at": timezone.now() + settings.MFA_CODE_LIFETIME,
            "attempts": 0,
        },
    )
    organization = user.organization
    _email_user(
        user,
        Message.Kind.USER_MFA,
        title=f"{organization.display_name}: your verification code",
        body=(
            f"Your verification code for {organization.display_name} is {code}. "
            "It expires in 5 minutes. If you did not try to sign in, change your "
            "password."
        ),
    )
    audit.record(
        Action.MFA_CODE_SENT, organization=organization, actor=user, ip_address=ip
    )


def verify_mfa(
    organization: Organization,
    *,
    code: str,
    device_id: str,
    remember_me: bool,
    ip: str,
) -> str:
    """The session token for the user whose live code on this device is ``code``.

    Each wrong try counts against every live code of the device; after five the
    code is dead and the user must log in again.
    """
    if not device_id:
        raise APIError(extras={"Device-ID": "Device-ID header is required"})
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            MFACode.objects.select_for_update()
            .select_related("user__organization")
            .filter(
                device_id=device_id,
                user__organization=organization,
                user__is_active=True,
                code_expires_at__gt=now,
                attempts__lt=MFA_MAX_ATTEMPTS,
            )
            .exclude(code_hash="")
            .order_by("pk")
        )
        match = next(
            (
                row
                for row in candidates
                if hmac.compare_digest(
                    row.code_hash, _digest("mfa", row.user_id, device_id, code)
                )
            ),
            None,
        )
        if match is None:
            MFACode.objects.filter(pk__in=[row.pk for row in candidates]).update(
                attempts=F("attempts") + 1
            )
            for row in candidates:
                audit.record(
                    Action.MFA_FAILED,
                    organization=organization,
                    actor=row.user,
                    ip_address=ip,
                )
            failed = True
        else:
            match.code_hash = ""
            match.code_expires_at = None
            match.attempts = 0
            if remember_me:
                match.device_expires_at = now + settings.MFA_DEVICE_LIFETIME
            match.save(
                update_fields=[
                    "code_hash",
                    "code_expires_at",
                    "attempts",
                    "device_expires_at",
                    "updated_at",
                ]
            )
            audit.record(
                Action.MFA_SUCCEEDED,
                organization=organization,
                actor=match.user,
                ip_address=ip,
                changes={"remember_me": bool(remember_me)},
            )
            failed = False
    if failed:
        raise APIError(MFA_INVALID)
    return _complete_login(match.user, ip, via="mfa")


SESSION_ENDED = "Session expired, please sign in again."


def refresh(user: User, token: str, claims: dict[str, Any]) -> str:
    """A new token of the same session only in the last minutes of the current
    one (SDP), and never past the session's absolute lifetime: then 401."""
    now = int(timezone.now().timestamp())
    # A token from before sessions carried auth_time started at its iat at best.
    auth_time = claims.get("auth_time", claims.get("iat"))
    if not isinstance(auth_time, int) or (
        now >= auth_time + settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()
    ):
        raise APIError(SESSION_ENDED, status_code=401)
    if claims["exp"] - now > settings.JWT_REFRESH_WINDOW.total_seconds():
        return token
    return issue_token(user, session_id=claims.get("sid"), auth_time=auth_time)


def logout(user: User, claims: dict[str, Any], *, ip: str) -> None:
    """End the session of this token: its tokens are refused from now on. A
    token without a session id (issued before they existed) ends them all."""
    session_id = claims.get("sid")
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    with transaction.atomic():
        if session_id:
            RevokedSession.objects.get_or_create(
                session_id=uuid.UUID(str(session_id)),
                defaults={"user": user, "expires_at": expires_at},
            )
        else:
            end_sessions(user)
        # Rows past their tokens' expiry protect nothing any more.
        RevokedSession.objects.filter(expires_at__lt=timezone.now()).delete()
        audit.record(
            Action.LOGGED_OUT, organization=user.organization, actor=user, ip_address=ip
        )


def end_sessions(user: User) -> None:
    """Refuse every token issued to ``user`` so far (in the caller's transaction)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])


def _reset_link(user: User, token: str) -> str:
    base = (user.organization.sdp_ui_base_url or settings.SDP_UI_BASE_URL).rstrip("/")
    return f"{base}/reset-password?token={token}"


def _new_reset_token(user: User, *, lifetime: timedelta) -> str:
    """Invalidate the user's tokens and store a new one; the caller holds a
    transaction."""
    token = secrets.token_urlsafe(32)
    PasswordResetToken.objects.filter(user=user, is_valid=True).update(is_valid=False)
    PasswordResetToken.objects.create(
        user=user,
        token_hash=_digest("reset", token),
        expires_at=timezone.now() + lifetime,
    )
    return token


def request_password_reset(organization: Organization, *, email: str, ip: str) -> None:
    """Email a reset link if the address belongs to an active user of the tenant.

    Says nothing either way. A request while a link is still valid is ignored, so
    nobody can flood a user's inbox.
    """
    user = User.objects.filter(
        organization=organization, email__iexact=(email or "").strip(), is_active=True
    ).first()
    if user is None:
        return
    with transaction.atomic():
        live = (
            PasswordResetToken.objects.select_for_update()
            .filter(user=user, is_valid=True, expires_at__gt=timezone.now())
            .exists()
        )
        if live:
            return
        token = _new_reset_token(user, lifetime=settings.RESET_TOKEN_LIFETIME)
        _email_user(
            user,
            Message.Kind.USER_FORGOT_PASSWORD,
            title=f"{organization.display_name}: reset your password",
            body=(
                "Someone asked to reset the password of your account. Follow this "
                "link within 20 minutes to choose a new one: "
                f"{_reset_link(user, token)}"
                "\nIf it was not you, ignore this email."
            ),
        )
        audit.record(
            Action.PASSWORD_RESET_REQUESTED,
            organization=organization,
            actor=user,
            ip_address=ip,
        )


def reset_password(
    organization: Organization, *, token: str, password: str, ip: str
) -> None:
    """Set a new password with a reset (or invitation) token; the token is used up
    by a conditional UPDATE, so it works once even under concurrent requests."""
    row = (
        PasswordResetToken.objects.select_related("user")
        .filter(
            token_hash=_digest("reset", token or ""),
            user__organization=organization,
        )
        .first()
    )
    if row is None or not row.is_valid or not row.user.is_active:
        raise APIError(RESET_TOKEN_INVALID)
    if row.expires_at is None or row.expires_at <= timezone.now():
        raise APIError(RESET_TOKEN_EXPIRED)
    problems = password_problems(password or "", row.user)
    if problems:
        raise APIError(extras={"password": problems})
    with transaction.atomic():
        used = PasswordResetToken.objects.filter(pk=row.pk, is_valid=True).update(
            is_valid=False
        )
        if used != 1:
            raise APIError(RESET_TOKEN_INVALID)
        user = row.user
        user.set_password(password)
        user.save(update_fields=["password", "updated_at"])
        end_sessions(user)
        audit.record(
            Action.PASSWORD_RESET, organization=organization, actor=user, ip_address=ip
        )


def change_password(
    user: User, *, current_password: str, new_password: str, ip: str
) -> None:
    if not user.check_password(current_password or ""):
        raise APIError(
            extras={"current_password": "The current password is incorrect."}
        )
    if current_password == new_password:
        raise APIError(
            extras={
                "new_password": "The new password must differ from the current one."
            }
        )
    problems = password_problems(new_password or "", user)
    if problems:
        raise APIError(extras={"new_password": problems})
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        end_sessions(user)
        audit.record(
            Action.PASSWORD_CHANGED,
            organization=user.organization,
            actor=user,
            ip_address=ip,
        )


@transaction.atomic
def send_invitation(user: User, *, actor: User | None, ip: str | None) -> None:
    """Email a new user a link to set their password (valid 7 days)."""
    organization = user.organization
    token = _new_reset_token(user, lifetime=settings.INVITATION_TOKEN_LIFETIME)
    _email_user(
        user,
        Message.Kind.USER_INVITATION,
        title=f"You are invited to {organization.display_name}",
        body=(
            f"Hello {user.first_name}, you have been invited to the "
            f"{organization.display_name} disbursement dashboard. Set your password "
            f"within 7 days with this link: {_reset_link(user, token)}"
        ),
    )
    audit.record(
        Action.USER_INVITED,
        organization=organization,
        actor=actor,
        ip_address=ip,
        target=user,
        changes={"roles": list(user.roles)},
    )
