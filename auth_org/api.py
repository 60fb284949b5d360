"""Dashboard routes of auth_org: login and MFA, sessions, profile, organization,
users and roles, API keys (dashboard-api.md §2.1, 2.2, 2.9-2.11).

Views are thin: parse, call one service, render. Each view declares the roles per
method (``roles``) and the API-key permission per method (``api_key_permissions``).
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from datetime import UTC, datetime, time
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import apikeys, circle_config, schemas, services, sessions
from auth_org.authentication import JWTAuthentication
from auth_org.models import (
    DEFAULT_INVITATION_TEMPLATE,
    DEFAULT_OTP_TEMPLATE,
    APIKey,
    Organization,
    Role,
    User,
)
from auth_org.permissions import ALL, OWNER, OWNER_FC, SessionOnly
from auth_org.recaptcha import captcha_disabled, verify_captcha
from auth_org.tenancy import tenant_not_found
from core.api import APIError, NotFound, domain_check
from core.apidoc import NO_CONTENT, Message, Token, answers, json_body
from core.middleware import client_ip
from core.params import QueryParams, accepts, sorting

API_KEY_ROLES = frozenset({Role.OWNER, Role.DEVELOPER})
CREDENTIAL_FIELDS = frozenset({"email", "password", "current_password", "new_password"})


def require_tenant(request: Request) -> Organization:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        raise tenant_not_found(request)
    return tenant


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data if isinstance(data, dict) else {})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _public_form(
    request: Request, serializer_class: type[serializers.Serializer]
) -> tuple[Organization, dict, str]:
    """A public form's tenant, validated input and client IP, once its
    reCAPTCHA token has passed."""
    organization = require_tenant(request)
    data = _validated(serializer_class, request.data)
    ip = client_ip(request._request)
    verify_captcha(data.get("recaptcha_token"), organization=organization, remote_ip=ip)
    return organization, data, ip


class PublicView(APIView):
    """No authentication: the tenant comes from the header or the host."""

    authentication_classes: list = []
    permission_classes: list = []


# --- login, MFA, passwords ------------------------------------------------------


class AppConfigView(PublicView):
    @extend_schema(responses=answers(schemas.AppConfig))
    def get(self, request: Request) -> Response:
        # The first call may carry no tenant: answer from the environment then.
        return Response(
            {
                "captcha_disabled": captcha_disabled(getattr(request, "tenant", None)),
                "captcha_type": settings.CAPTCHA_TYPE,
                "captcha_site_key": settings.RECAPTCHA_SITE_KEY,
            }
        )


class LoginInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    recaptcha_token = serializers.CharField(
        required=False, allow_blank=True, max_length=4096
    )


class LoginView(PublicView):
    @extend_schema(
        request=json_body(LoginInput), responses=answers(schemas.LoginResult)
    )
    def post(self, request: Request) -> Response:
        organization, data, ip = _public_form(request, LoginInput)
        result = sessions.login(
            organization,
            email=data["email"],
            password=data["password"],
            device_id=request.headers.get("Device-ID", "").strip()[:64],
            ip=ip,
        )
        if result.token:
            return Response({"token": result.token})
        return Response({"message": result.message})


class MFAInput(serializers.Serializer):
    mfa_code = serializers.CharField(max_length=16)
    remember_me = serializers.BooleanField(required=False, default=False)
    recaptcha_token = serializers.CharField(
        required=False, allow_blank=True, max_length=4096
    )


class MFAView(PublicView):
    @extend_schema(request=json_body(MFAInput), responses=answers(Token))
    def post(self, request: Request) -> Response:
        organization, data, ip = _public_form(request, MFAInput)
        token = sessions.verify_mfa(
            organization,
            code=data["mfa_code"],
            device_id=request.headers.get("Device-ID", "").strip()[:64],
            remember_me=data["remember_me"],
            ip=ip,
        )
        return Response({"token": token})


class RefreshTokenView(APIView):
    permission_classes = [SessionOnly]
    roles = ALL

    @extend_schema(request=None, responses=answers(Token))
    def post(self, request: Request) -> Response:
        token = request.headers["Authorization"].partition(" ")[2].strip()
        return Response({"token": sessions.refresh(request.user, token, request.auth)})


class LogoutView(APIView):
    """End this session: its token (and any refresh of it) no longer works."""

    permission_classes = [SessionOnly]
    roles = ALL

    @extend_schema(request=None, responses=answers(Message))
    def post(self, request: Request) -> Response:
        sessions.logout(request.user, request.auth, ip=client_ip(request._request))
        return Response({"message": "Logged out."})


class ForgotPasswordInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    recaptcha_token = serializers.CharField(
        required=False, allow_blank=True, max_length=4096
    )


class ForgotPasswordView(PublicView):
    @extend_schema(request=json_body(ForgotPasswordInput), responses=answers(Message))
    def post(self, request: Request) -> Response:
        organization, data, ip = _public_form(request, ForgotPasswordInput)
        sessions.request_password_reset(organization, email=data["email"], ip=ip)
        return Response({"message": sessions.FORGOT_REPLY})


class ResetPasswordInput(serializers.Serializer):
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    reset_token = serializers.CharField(max_length=256)


class ResetPasswordView(PublicView):
    @extend_schema(request=json_body(ResetPasswordInput), responses=answers(Message))
    def post(self, request: Request) -> Response:
        organization = require_tenant(request)
        data = _validated(ResetPasswordInput, request.data)
        sessions.reset_password(
            organization,
            token=data["reset_token"],
            password=data["password"],
            ip=client_ip(request._request),
        )
        return Response({"message": "Password reset successfully."})


# --- profile ----------------------------------------------------------------------


class ProfileInput(serializers.Serializer):
    """Every field checked at once; ``context["user"]`` is the one changed."""

    first_name = serializers.CharField(required=False, allow_blank=True, max_length=128)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=128)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)

    def validate_email(self, value: str) -> str:
        if not value or "user" not in self.context:
            return value
        return domain_check(services.clean_profile_email, value, self.context["user"])


class ProfileView(APIView):
    roles = ALL
    api_key_permissions = {"GET": "read:all", "PATCH": "write:all"}

    @extend_schema(responses=answers(schemas.Profile))
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "id": str(user.pk),
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "roles": list(user.roles),
                "organization_name": user.organization.display_name,
            }
        )

    @extend_schema(
        request=json_body(ProfileInput, text_plain=True), responses=answers(Message)
    )
    def patch(self, request: Request) -> Response:
        if isinstance(request.auth, APIKey) and isinstance(request.data, dict):
            # The account's credentials are its owner's: a key changing the
            # email would hand the account over through forgot-password.
            refused = sorted(CREDENTIAL_FIELDS & set(request.data))
            if refused:
                raise APIError(
                    "An API key cannot change a user's email or password.",
                    status_code=403,
                    extras=dict.fromkeys(refused, "not with an API key"),
                )
        serializer = ProfileInput(
            data=request.data if isinstance(request.data, dict) else {},
            context={"user": request.user},
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.update_profile(request.user, data=data, ip=client_ip(request._request))
        return Response({"message": "user profile updated successfully"})


class PasswordChangeInput(serializers.Serializer):
    current_password = serializers.CharField(max_length=256, trim_whitespace=False)
    new_password = serializers.CharField(max_length=256, trim_whitespace=False)


class ProfilePasswordView(APIView):
    # A key must not change its creator's password.
    permission_classes = [SessionOnly]
    roles = ALL

    @extend_schema(request=json_body(PasswordChangeInput), responses=answers(Message))
    def patch(self, request: Request) -> Response:
        data = _validated(PasswordChangeInput, request.data)
        sessions.change_password(
            request.user,
            current_password=data["current_password"],
            new_password=data["new_password"],
            ip=client_ip(request._request),
        )
        return Response({"message": "user password updated successfully"})


# --- organization -----------------------------------------------------------------


DEFAULT_TEMPLATES = {
    "receiver_registration_message_template": DEFAULT_INVITATION_TEMPLATE,
    "otp_message_template": DEFAULT_OTP_TEMPLATE,
}


def logo_version(organization: Organization) -> str:
    """A short digest of the logo, for its URL: a new logo gets a new URL, so a
    browser that cached the old one for LOGO_MAX_AGE fetches the new one."""
    if not organization.logo:
        return "default"
    return f"{zlib.crc32(bytes(organization.logo)):08x}"


def circle_account_json(organization: Organization) -> dict[str, Any]:
    """A Circle tenant's distribution account names its Circle wallet."""
    if not circle_config.is_circle(organization):
        return {}
    return {"circle_wallet_id": circle_config.wallet_id(organization)}


def organization_json(organization: Organization, request: Request) -> dict[str, Any]:
    def effective(value: bool | None, default: bool) -> bool:
        return default if value is None else value

    body = {
        "name": organization.display_name,
        "logo_url": request.build_absolute_uri(
            f"/organization/logo?v={logo_version(organization)}"
        ),
        "base_url": organization.base_url or settings.BASE_URL,
        "distribution_account_public_key": organization.distribution_account_address,
        "distribution_account": {
            "address": organization.distribution_account_address,
            "type": organization.distribution_account_type,
            "status": organization.distribution_account_status,
            **circle_account_json(organization),
        },
        "timezone_utc_offset": organization.timezone_utc_offset,
        "is_approval_required": organization.is_approval_required,
        "is_link_shortener_enabled": organization.is_link_shortener_enabled,
        "is_memo_tracing_enabled": organization.is_memo_tracing_enabled,
        "receiver_invitation_resend_interval_days": (
            organization.receiver_invitation_resend_interval_days or 0
        ),
        "payment_cancellation_period_days": (
            organization.payment_cancellation_period_days or 0
        ),
        "privacy_policy_link": organization.privacy_policy_link or None,
        "message_channel_priority": list(organization.message_channel_priority),
        "mfa_disabled": sessions.mfa_disabled(organization),
        "captcha_disabled": captcha_disabled(organization),
        "receiver_invitations_disabled": effective(
            organization.receiver_invitations_disabled, False
        ),
        "locale": organization.locale,
    }
    # As SDP: a template is shown only while it is not the default, so the
    # dashboard's Settings tell "Standard message" from "Custom message" (a
    # PATCH with "" goes back to the default).
    for key, default in DEFAULT_TEMPLATES.items():
        if getattr(organization, key) != default:
            body[key] = getattr(organization, key)
    return body


class OrganizationView(APIView):
    roles = {"GET": ALL, "PATCH": OWNER_FC}
    api_key_permissions = {"GET": "read:organization", "PATCH": "write:organization"}

    @extend_schema(responses=answers(schemas.OrganizationSerializer))
    def get(self, request: Request) -> Response:
        return Response(organization_json(request.user.organization, request))

    @extend_schema(request=schemas.ORGANIZATION_UPDATE, responses=answers(Message))
    def patch(self, request: Request) -> Response:
        if "data" in request.data or "logo" in request.FILES:
            data = services.parse_organization_data(request.data.get("data"))
        else:  # a JSON body (scripts): the settings themselves
            data = request.data if isinstance(request.data, dict) else {}
        upload = request.FILES.get("logo")
        logo = None
        if upload is not None:
            # At most one byte too many is read: the service names a logo too
            # large with every other invalid field.
            logo = upload.read(services.MAX_LOGO_BYTES + 1)
        services.update_organization(
            request.user.organization,
            actor=request.user,
            data=data,
            logo=logo,
            ip=client_ip(request._request),
        )
        return Response({"message": "Organization updated successfully"})


@cache
def default_logo() -> bytes:
    """A plain 96x96 PNG, for organizations that have not uploaded a logo."""
    width = height = 96
    row = b"\x00" + bytes((0x3E, 0x1B, 0xDB)) * width
    raw = row * height

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return (
            struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


LOGO_MAX_AGE = 300


class OrganizationLogoView(PublicView):
    @extend_schema(responses=answers(OpenApiTypes.BINARY, media="image/*"))
    def get(self, request: Request) -> HttpResponse:
        if getattr(request, "tenant", None) is None:
            # No tenant header or host label: the dashboard's Bearer names it.
            with contextlib.suppress(exceptions.AuthenticationFailed):
                JWTAuthentication().authenticate(request)
        organization = require_tenant(request)
        if organization.logo:
            content, content_type = (
                bytes(organization.logo),
                organization.logo_content_type,
            )
        else:
            content, content_type = default_logo(), "image/png"
        response = HttpResponse(content, content_type=content_type or "image/png")
        # The URL the organization gives (logo_url) changes with the logo.
        response["Cache-Control"] = f"private, max-age={LOGO_MAX_AGE}"
        return response


class BridgeIntegrationView(APIView):
    roles = {"GET": ALL, "PATCH": OWNER_FC}
    api_key_permissions = {"GET": "read:organization", "PATCH": "write:organization"}

    @extend_schema(responses=answers(schemas.BridgeIntegration))
    def get(self, request: Request) -> Response:
        return Response({"status": "NOT_ENABLED"})

    @extend_schema(
        request=json_body(schemas.BridgeIntegration), responses=answers(Message)
    )
    def patch(self, request: Request) -> Response:
        raise APIError("Bridge integration is not enabled.")


# --- users and roles --------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    return schemas.User(user).data


class UserInput(serializers.Serializer):
    first_name = serializers.CharField(max_length=128)
    last_name = serializers.CharField(max_length=128)
    email = serializers.CharField(max_length=254)
    roles = serializers.ListField(child=serializers.CharField(max_length=32))

    # The services' own checks, here too: every invalid field named at once.
    def validate_email(self, value: str) -> str:
        return domain_check(services.clean_email, value)

    def validate_roles(self, value: list) -> list:
        return domain_check(services.clean_roles, value)


USER_SORTS = {"email": "email", "is_active": "is_active"}
USER_PARAMS = QueryParams(sorting(USER_SORTS, "email", direction="asc"))


class UsersView(APIView):
    roles = OWNER
    api_key_permissions = {"GET": "read:users", "POST": "write:users"}
    sorts = USER_SORTS

    @accepts(USER_PARAMS)
    @extend_schema(responses=answers(schemas.User(many=True)))
    def get(self, request: Request) -> Response:
        sort = request.query_params.get("sort") or "email"
        direction = (request.query_params.get("direction") or "asc").lower()
        if sort not in self.sorts or direction not in ("asc", "desc"):
            raise APIError(extras={"sort": "sort by email or is_active, asc or desc"})
        order = ("-" if direction == "desc" else "") + self.sorts[sort]
        users = User.objects.filter(organization=request.user.organization).order_by(
            order, "email"
        )
        return Response([user_json(user) for user in users])

    @extend_schema(request=json_body(UserInput), responses=answers(schemas.User, 201))
    def post(self, request: Request) -> Response:
        data = _validated(UserInput, request.data)
        user = services.invite_user(
            request.user.organization,
            actor=request.user,
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            roles=data["roles"],
            ip=client_ip(request._request),
        )
        return Response(user_json(user), status=201)


class RolesInput(serializers.Serializer):
    user_id = serializers.UUIDField()
    roles = serializers.ListField(child=serializers.CharField(max_length=32))

    def validate_roles(self, value: list) -> list:
        return domain_check(services.clean_roles, value)


class UserRolesView(APIView):
    roles = OWNER
    api_key_permissions = {"GET": "read:users", "PATCH": "write:users"}

    @extend_schema(responses=answers(schemas.Roles))
    def get(self, request: Request) -> Response:
        return Response({"roles": list(Role.values)})

    @extend_schema(request=json_body(RolesInput), responses=answers(Message))
    def patch(self, request: Request) -> Response:
        data = _validated(RolesInput, request.data)
        services.set_user_roles(
            request.user.organization,
            actor=request.user,
            user_id=data["user_id"],
            roles=data["roles"],
            ip=client_ip(request._request),
        )
        return Response({"message": "User roles were updated successfully."})


class ActivationInput(serializers.Serializer):
    user_id = serializers.UUIDField()
    is_active = serializers.BooleanField()


class UserActivationView(APIView):
    roles = OWNER
    api_key_permissions = {"PATCH": "write:users"}

    @extend_schema(request=json_body(ActivationInput), responses=answers(Message))
    def patch(self, request: Request) -> Response:
        data = _validated(ActivationInput, request.data)
        services.set_user_activation(
            request.user.organization,
            actor=request.user,
            user_id=data["user_id"],
            is_active=data["is_active"],
            ip=client_ip(request._request),
        )
        return Response({"message": "User activation was updated successfully."})


# --- API keys ---------------------------------------------------------------------


def api_key_json(key: APIKey, *, plaintext: str | None = None) -> dict[str, Any]:
    """A key as declared (auth_org.schemas.APIKey); with its plaintext only in
    the answer of its creation."""
    if plaintext is not None:
        key.plaintext = plaintext
    return schemas.APIKey(key).data


def _expiry(value: Any):
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None and isinstance(value, str) and parse_date(value):
        # A bare date (a date picker): the key works until that day starts, UTC.
        parsed = datetime.combine(parse_date(value), time.min)
    if parsed is None:
        raise APIError(extras={"expiry_date": "expiry date must be an ISO 8601 time"})
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _future_expiry(value: Any):
    expiry = _expiry(value)
    if expiry is not None and expiry <= timezone.now():
        raise APIError(extras={"expiry_date": "expiry date must be in the future"})
    return expiry


class APIKeyUpdateInput(serializers.Serializer):
    """Every field checked at once (the names and shapes; whether the creator's
    roles grant the permissions is the service's 403, checked afterwards)."""

    permissions = serializers.ListField(child=serializers.CharField(max_length=32))
    allowed_ips = serializers.JSONField(required=False, allow_null=True)

    def validate_permissions(self, value):
        return domain_check(apikeys.clean_permission_names, value)

    def validate_allowed_ips(self, value):
        domain_check(apikeys.clean_allowed_ips, value)
        return value


class APIKeyInput(APIKeyUpdateInput):
    name = serializers.CharField(max_length=128)
    expiry_date = serializers.CharField(
        required=False, allow_null=True, allow_blank=True
    )

    def validate_expiry_date(self, value):
        domain_check(_future_expiry, value)
        return value


class APIKeysView(APIView):
    # Keys may not make, change or delete keys (nor list them): a session only.
    permission_classes = [SessionOnly]
    roles = API_KEY_ROLES

    @accepts(QueryParams())
    @extend_schema(responses=answers(schemas.APIKey(many=True)))
    def get(self, request: Request) -> Response:
        # SDP: a user sees only the keys they created.
        keys = APIKey.objects.filter(
            organization=request.user.organization, created_by=request.user
        ).order_by("-created_at")
        return Response([api_key_json(key) for key in keys])

    @extend_schema(
        request=json_body(APIKeyInput), responses=answers(schemas.APIKey, 201)
    )
    def post(self, request: Request) -> Response:
        data = _validated(APIKeyInput, request.data)
        key, plaintext = apikeys.create_api_key(
            request.user,
            name=data["name"],
            permissions=data["permissions"],
            allowed_ips=data.get("allowed_ips"),
            expiry_date=_expiry(data.get("expiry_date")),
            ip=client_ip(request._request),
        )
        return Response(api_key_json(key, plaintext=plaintext), status=201)


class APIKeyView(APIView):
    permission_classes = [SessionOnly]
    roles = API_KEY_ROLES

    def _key(self, request: Request, pk: Any) -> APIKey:
        key = APIKey.objects.filter(
            organization=request.user.organization, created_by=request.user, pk=pk
        ).first()
        if key is None:
            raise NotFound()
        return key

    @extend_schema(responses=answers(schemas.APIKey))
    def get(self, request: Request, pk: Any) -> Response:
        return Response(api_key_json(self._key(request, pk)))

    @extend_schema(
        request=json_body(APIKeyUpdateInput), responses=answers(schemas.APIKey)
    )
    def patch(self, request: Request, pk: Any) -> Response:
        key = self._key(request, pk)
        data = _validated(APIKeyUpdateInput, request.data)
        apikeys.update_api_key(
            key,
            actor=request.user,
            permissions=data["permissions"],
            allowed_ips=data.get("allowed_ips"),
            ip=client_ip(request._request),
        )
        return Response(api_key_json(key))

    @extend_schema(responses=answers(NO_CONTENT, 204))
    def delete(self, request: Request, pk: Any) -> Response:
        apikeys.delete_api_key(
            self._key(request, pk), actor=request.user, ip=client_ip(request._request)
        )
        return Response(status=204)
