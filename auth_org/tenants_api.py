"""SDP's admin API for the platform operator (reference §4.4), under ``/admin-api``.

HTTP Basic with ``ADMIN_ACCOUNT:ADMIN_API_KEY``, compared in constant time. The
dashboard's JWTs and API keys are not accepted here.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import schemas, tenants
from auth_org.models import Organization
from core.api import APIError, Choice, NotFound
from core.apidoc import answers, json_body
from core.middleware import client_ip

TENANT_EXISTS = "Tenant name already exists"


class PlatformAdmin:
    is_authenticated = True
    roles: tuple[str, ...] = ()
    pk = None


class AdminBasicAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[PlatformAdmin, None] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            account, _, key = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed() from exc
        account_ok = hmac.compare_digest(
            account.encode(), settings.ADMIN_ACCOUNT.encode()
        )
        key_ok = hmac.compare_digest(key.encode(), settings.ADMIN_API_KEY.encode())
        if not (account_ok and key_ok):
            raise exceptions.AuthenticationFailed()
        return PlatformAdmin(), None

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="sdp-admin"'


class IsPlatformAdmin(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, PlatformAdmin)


def tenant_json(organization: Organization) -> dict[str, Any]:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": str(organization.pk),
        "name": organization.name,
        "base_url": organization.base_url or None,
        "sdp_ui_base_url": organization.sdp_ui_base_url or None,
        "status": organization.status,
        "distribution_account_address": organization.distribution_account_address
        or None,
        "distribution_account_type": organization.distribution_account_type,
        "distribution_account_status": organization.distribution_account_status,
        "is_default": organization.is_default,
        "created_at": iso(organization.created_at),
        "updated_at": iso(organization.updated_at),
        "deleted_at": iso(organization.deleted_at),
    }


def _tenant(ref: str) -> Organization:
    lookup = Q(name__iexact=ref)
    with contextlib.suppress(ValueError):
        lookup |= Q(pk=uuid.UUID(ref))
    organization = Organization.objects.filter(lookup).first()
    if organization is None:
        raise NotFound("tenant not found")
    return organization


class AdminView(APIView):
    authentication_classes = [AdminBasicAuthentication]
    permission_classes = [IsPlatformAdmin]


class TenantInput(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z-]+$", max_length=63)
    owner_email = serializers.EmailField()
    owner_first_name = serializers.CharField(max_length=128)
    owner_last_name = serializers.CharField(max_length=128)
    organization_name = serializers.CharField(max_length=64)
    distribution_account_type = Choice(
        choices=Organization.DistributionAccountType.values,
        default=Organization.DistributionAccountType.STELLAR_DB_VAULT,
    )
    base_url = serializers.URLField(required=False, allow_blank=True)
    sdp_ui_base_url = serializers.URLField(required=False, allow_blank=True)


class TenantUpdateInput(serializers.Serializer):
    base_url = serializers.URLField(required=False, allow_blank=True)
    sdp_ui_base_url = serializers.URLField(required=False, allow_blank=True)
    status = Choice(choices=Organization.Status.values, required=False)


class TenantsView(AdminView):
    @extend_schema(responses=answers(schemas.Tenant(many=True)))
    def get(self, request: Request) -> Response:
        organizations = Organization.objects.order_by("name")
        return Response([tenant_json(org) for org in organizations])

    @extend_schema(
        request=json_body(TenantInput), responses=answers(schemas.Tenant, 201)
    )
    def post(self, request: Request) -> Response:
        serializer = TenantInput(
            data=request.data if isinstance(request.data, dict) else {}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if Organization.objects.filter(name__iexact=data["name"]).exists():
            raise APIError(TENANT_EXISTS)
        organization = tenants.create_tenant(
            name=data["name"],
            organization_name=data["organization_name"],
            owner_email=data["owner_email"],
            owner_first_name=data["owner_first_name"],
            owner_last_name=data["owner_last_name"],
            base_url=data.get("base_url", ""),
            sdp_ui_base_url=data.get("sdp_ui_base_url", ""),
            distribution_account_type=data["distribution_account_type"],
            ip=client_ip(request._request),
        )
        return Response(tenant_json(organization), status=201)


class TenantView(AdminView):
    @extend_schema(responses=answers(schemas.Tenant))
    def get(self, request: Request, ref: str) -> Response:
        return Response(tenant_json(_tenant(ref)))

    @extend_schema(
        request=json_body(TenantUpdateInput), responses=answers(schemas.Tenant)
    )
    def patch(self, request: Request, ref: str) -> Response:
        serializer = TenantUpdateInput(
            data=request.data if isinstance(request.data, dict) else {}
        )
        serializer.is_valid(raise_exception=True)
        organization = tenants.update_tenant(
            _tenant(ref), data=serializer.validated_data, ip=client_ip(request._request)
        )
        return Response(tenant_json(organization))

    @extend_schema(responses=answers(schemas.Tenant))
    def delete(self, request: Request, ref: str) -> Response:
        organization = tenants.delete_tenant(
            _tenant(ref), ip=client_ip(request._request)
        )
        return Response(tenant_json(organization))


class DefaultTenantInput(serializers.Serializer):
    id = serializers.CharField()


class DefaultTenantView(AdminView):
    @extend_schema(
        request=json_body(DefaultTenantInput), responses=answers(schemas.Tenant)
    )
    def post(self, request: Request) -> Response:
        serializer = DefaultTenantInput(
            data=request.data if isinstance(request.data, dict) else {}
        )
        serializer.is_valid(raise_exception=True)
        organization = tenants.set_default_tenant(
            _tenant(serializer.validated_data["id"]), ip=client_ip(request._request)
        )
        return Response(tenant_json(organization))
