"""Wallets and assets routes (dashboard §2.7): thin views over auth_org.catalog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import audit, catalog, controls, schemas
from auth_org.models import Asset, Role, Wallet
from auth_org.permissions import ALL, OWNER_FC
from core import jsontext as jt
from core.api import APIError, NotFound, field_errors
from core.apidoc import NO_CONTENT, answers, json_body
from core.idempotency import idempotent
from core.params import Param, QueryParams, accepts

ASSET_WRITE = frozenset({Role.OWNER, Role.FINANCIAL_CONTROLLER, Role.DEVELOPER})
WALLET_WRITE = frozenset({Role.OWNER, Role.DEVELOPER})


def iso(value) -> str | None:
    # Always with microseconds, as core.sqljson.iso writes it in SQL.
    if not value:
        return None
    if not isinstance(value, datetime):
        return value.isoformat()
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


# The declared objects (schemas.Asset, schemas.WalletWithoutAssets), written by
# PostgreSQL (core.jsontext) for the reads that render them in SQL: an asset
# aliased ``a``, a wallet aliased ``w`` (WALLET_MEMBERS: its members, without
# assets). tests/foundation/test_schema_parity.py holds the two together.
ASSET_TEXT = jt.obj(
    id=jt.quoted("a.id::uuid"),
    code=jt.string("a.code"),
    issuer=jt.string("a.issuer"),
    created_at=jt.iso("a.created_at"),
    updated_at=jt.iso("a.updated_at"),
    deleted_at=jt.iso("a.deleted_at"),
)
WALLET_MEMBERS = jt.members(
    id=jt.quoted("w.id::uuid"),
    name=jt.string("w.name"),
    homepage=jt.string("w.homepage"),
    deep_link_schema=jt.string("w.deep_link_schema"),
    sep_10_client_domain=jt.string("w.sep_10_client_domain"),
    enabled=jt.literal("w.enabled"),
    user_managed=jt.literal("w.user_managed"),
    embedded=jt.literal("w.embedded"),
    created_at=jt.iso("w.created_at"),
    updated_at=jt.iso("w.updated_at"),
    deleted_at=jt.iso("w.deleted_at"),
)


def asset_json(asset: Asset) -> dict[str, Any]:
    return schemas.Asset(asset).data


def wallet_json(wallet: Wallet, *, assets: bool = True) -> dict[str, Any]:
    """A wallet as declared (auth_org.schemas.Wallet): with its live assets
    (read from a prefetch of ``assets`` if there is one), or without."""
    declared = schemas.Wallet if assets else schemas.WalletWithoutAssets
    return declared(wallet).data


def boolean(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise APIError(extras={name: "use true or false"})


class AssetInput(serializers.Serializer):
    code = serializers.CharField(max_length=12)
    issuer = serializers.CharField(max_length=56, allow_blank=True, required=False)


ASSET_PARAMS = QueryParams(
    Param("wallet", "uuid", "Only the assets of this wallet."),
    Param(
        "enabled",
        "boolean",
        "Only the assets the distribution account holds a trustline for (true)"
        " or those it does not (false); adds has_trustline and balance.",
    ),
)
WALLET_PARAMS = QueryParams(
    Param("enabled", "boolean", "Only enabled (true) or disabled (false) wallets."),
    Param("user_managed", "boolean", "Only user-managed wallets, or only the others."),
    Param("include_deleted", "boolean", "Also the deleted wallets."),
    Param(
        "supported_assets",
        description="Only wallets supporting every one of these assets: a comma"
        " list of asset codes or ids, at most 20.",
        max_length=1000,
    ),
)


def _raise_every_error(
    serializer: serializers.Serializer, more: dict[str, str]
) -> None:
    """The serializer's errors and the service's checks of the same body, named
    at once (the serializer's message first where both name a field)."""
    errors = {} if serializer.is_valid() else field_errors(serializer.errors)
    for name, message in more.items():
        errors.setdefault(name, message)
    if errors:
        raise APIError(extras=errors)


def _wallet_asset_errors(request: Request) -> dict[str, str]:
    data = request.data if isinstance(request.data, dict) else {}
    if isinstance(data.get("assets"), list) and data["assets"]:
        return catalog.asset_spec_errors(request.tenant, data["assets"])
    return catalog.asset_spec_errors(
        request.tenant, data.get("assets_ids"), field="assets_ids"
    )


class AssetsView(APIView):
    roles = {"GET": ALL, "POST": ASSET_WRITE}
    api_key_permissions = {"GET": "read:all", "POST": "write:all"}

    @accepts(ASSET_PARAMS)
    @extend_schema(responses=answers(schemas.ListedAsset(many=True)))
    def get(self, request: Request) -> Response:
        organization = request.tenant
        assets = catalog.assets_of(organization).order_by("code", "issuer")
        if wallet_id := request.query_params.get("wallet"):
            assets = assets.filter(wallets__pk=catalog._uuid_or_none(wallet_id))
        enabled = boolean(request.query_params.get("enabled"), "enabled")
        if enabled is None:
            return Response([asset_json(a) for a in assets])
        balances = catalog.distribution_balances(organization)
        body = []
        for asset in assets:
            has_trustline = (asset.code, asset.issuer) in balances
            if has_trustline != enabled:
                continue
            balance = balances.get((asset.code, asset.issuer), Decimal("0"))
            body.append(
                {
                    **asset_json(asset),
                    "enabled": has_trustline,
                    "has_trustline": has_trustline,
                    "balance": f"{balance:.7f}",
                }
            )
        return Response(body)

    @extend_schema(
        request=json_body(schemas.AssetInput), responses=answers(schemas.Asset, 201)
    )
    def post(self, request: Request) -> Response:
        data = AssetInput(data=request.data)
        _raise_every_error(data, catalog.asset_input_errors(request.data))
        asset = catalog.create_asset(
            request.tenant,
            code=data.validated_data["code"],
            issuer=data.validated_data.get("issuer", ""),
        )
        return Response(asset_json(asset), status=201)


class AssetView(APIView):
    roles = {"DELETE": ASSET_WRITE}
    api_key_permissions = {"DELETE": "write:all"}

    @extend_schema(responses=answers(schemas.Asset))
    def delete(self, request: Request, pk) -> Response:
        asset = catalog.assets_of(request.tenant).filter(pk=pk).first()
        if asset is None:
            raise NotFound()
        return Response(asset_json(catalog.delete_asset(request.tenant, asset)))


class WalletInput(serializers.Serializer):
    name = serializers.CharField(max_length=30)
    homepage = serializers.URLField(max_length=200)
    deep_link_schema = serializers.CharField(max_length=255)
    sep_10_client_domain = serializers.CharField(max_length=255)
    enabled = serializers.BooleanField(required=False, default=True)
    assets = serializers.ListField(required=False, default=list)
    assets_ids = serializers.ListField(required=False, default=list)

    def validate_deep_link_schema(self, value: str) -> str:
        error = catalog.deep_link_schema_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value

    def validate(self, attrs):
        from django.conf import settings

        if settings.IS_PUBNET and not attrs["homepage"].startswith("https://"):
            raise serializers.ValidationError({"homepage": "https is required"})
        if not attrs.get("assets") and attrs.get("assets_ids"):
            attrs["assets"] = [{"id": value} for value in attrs["assets_ids"]]
        return attrs


class WalletPatch(WalletInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
        self.fields["enabled"].default = serializers.empty
        self.fields["assets"].default = serializers.empty
        self.fields["assets_ids"].default = serializers.empty

    def validate(self, attrs):
        if "assets_ids" in attrs and "assets" not in attrs:
            attrs["assets"] = [{"id": value} for value in attrs.pop("assets_ids")]
        attrs.pop("assets_ids", None)
        if not attrs:
            raise serializers.ValidationError("nothing to update")
        return attrs


class WalletsView(APIView):
    roles = {"GET": ALL, "POST": WALLET_WRITE}
    api_key_permissions = {"GET": "read:wallets", "POST": "write:wallets"}

    @accepts(WALLET_PARAMS)
    @extend_schema(responses=answers(schemas.Wallet(many=True)))
    def get(self, request: Request) -> Response:
        params = request.query_params
        include_deleted = boolean(params.get("include_deleted"), "include_deleted")
        wallets = catalog.wallets_of(
            request.tenant, include_deleted=bool(include_deleted)
        )
        enabled = boolean(params.get("enabled"), "enabled")
        if enabled is not None:
            wallets = wallets.filter(enabled=enabled)
        user_managed = boolean(params.get("user_managed"), "user_managed")
        if user_managed is not None:
            wallets = wallets.filter(user_managed=user_managed)
        if supported := params.get("supported_assets"):
            values = [v.strip() for v in supported.split(",") if v.strip()]
            if len(values) > 20:
                raise APIError(extras={"supported_assets": "at most 20 assets"})
            ids = [i for i in map(catalog._uuid_or_none, values) if i]
            for value in values:
                match = Q(assets__code=value, assets__deleted_at__isnull=True)
                if value in ids:
                    match = Q(assets__pk=value)
                wallets = wallets.filter(
                    pk__in=Wallet.objects.filter(match).values("pk")
                )
        wallets = wallets.order_by("name").prefetch_related("assets")
        return Response([wallet_json(w) for w in wallets])

    @extend_schema(
        request=json_body(schemas.WalletInput), responses=answers(schemas.Wallet, 201)
    )
    def post(self, request: Request) -> Response:
        data = WalletInput(data=request.data)
        _raise_every_error(data, _wallet_asset_errors(request))
        wallet = catalog.create_wallet(request.tenant, data=data.validated_data)
        return Response(wallet_json(wallet), status=201)


class WalletView(APIView):
    roles = {"GET": ALL, "PATCH": WALLET_WRITE, "DELETE": WALLET_WRITE}
    api_key_permissions = {
        "GET": "read:wallets",
        "PATCH": "write:wallets",
        "DELETE": "write:wallets",
    }

    def _wallet(self, request: Request, pk) -> Wallet:
        wallet = catalog.wallets_of(request.tenant).filter(pk=pk).first()
        if wallet is None:
            raise NotFound()
        return wallet

    @extend_schema(responses=answers(schemas.Wallet))
    def get(self, request: Request, pk) -> Response:
        return Response(wallet_json(self._wallet(request, pk)))

    @extend_schema(
        request=json_body(schemas.WalletPatch), responses=answers(schemas.Wallet)
    )
    def patch(self, request: Request, pk) -> Response:
        wallet = self._wallet(request, pk)
        data = WalletPatch(data=request.data)
        _raise_every_error(data, _wallet_asset_errors(request))
        wallet = catalog.update_wallet(request.tenant, wallet, data=data.validated_data)
        return Response(wallet_json(wallet))

    @extend_schema(responses=answers(NO_CONTENT, 204))
    def delete(self, request: Request, pk) -> Response:
        catalog.delete_wallet(request.tenant, self._wallet(request, pk))
        return Response(status=204)


class AssetControlsView(APIView):
    """An asset's spending limits and approval tiers (docs/controls.md)."""

    roles = {"GET": ALL, "PATCH": OWNER_FC}
    api_key_permissions = {"GET": "read:organization", "PATCH": "write:organization"}

    def _asset(self, request: Request, pk) -> Asset:
        asset = catalog.assets_of(request.tenant).filter(pk=pk).first()
        if asset is None:
            raise NotFound()
        return asset

    @extend_schema(responses=answers(schemas.AssetControls))
    def get(self, request: Request, pk) -> Response:
        return Response(controls.controls_json(self._asset(request, pk)))

    @extend_schema(
        request=json_body(schemas.AssetControls),
        responses=answers(schemas.AssetControls),
    )
    @idempotent
    def patch(self, request: Request, pk) -> Response:
        return Response(
            controls.update_controls(
                request.tenant,
                self._asset(request, pk),
                request.data,
                actor=request.user,
                ip_address=audit.request_ip(request),
            )
        )


class TenantControlsView(APIView):
    """The tenant's controls that are not per asset (docs/controls.md)."""

    roles = {"GET": ALL, "PATCH": OWNER_FC}
    api_key_permissions = {"GET": "read:organization", "PATCH": "write:organization"}

    @extend_schema(responses=answers(schemas.TenantControls))
    def get(self, request: Request) -> Response:
        return Response(controls.tenant_settings_json(request.tenant))

    @extend_schema(
        request=json_body(schemas.TenantControls),
        responses=answers(schemas.TenantControls),
    )
    @idempotent
    def patch(self, request: Request) -> Response:
        return Response(
            controls.update_tenant_settings(
                request.tenant,
                request.data,
                actor=request.user,
                ip_address=audit.request_ip(request),
            )
        )
