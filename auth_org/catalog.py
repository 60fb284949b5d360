"""Wallet providers and assets of an organization (dashboard §2.7), and the
distribution account's trustlines and balances, which belong to the TSS.

The TSS is reached only through ``tss.accounts`` (trustlines, balances) and
``tss.services.amount_in_flight``; this module never talks to Horizon itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from decimal import Decimal
from types import ModuleType
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from auth_org.models import Asset, Organization, Wallet
from sdp.api import APIError, Conflict, NotFound

NATIVE = ("XLM", "")


class BalanceUnavailable(APIError):
    status_code = 503


def _tss_accounts() -> ModuleType:
    try:
        return importlib.import_module("tss.accounts")
    except ImportError as exc:
        raise BalanceUnavailable(
            "the distribution account cannot be reached: the transaction "
            "submission service's accounts module is not installed"
        ) from exc


def _normalize_balances(raw: Any) -> dict[tuple[str, str], Decimal]:
    """``tss.accounts.balances`` as {(code, issuer): amount}. Accepts a mapping
    keyed by (code, issuer), or Horizon-like entries (dicts or objects with
    asset_type/asset_code/asset_issuer/balance)."""
    if isinstance(raw, dict):
        return {(k[0], k[1] or ""): Decimal(str(v)) for k, v in raw.items()}
    balances: dict[tuple[str, str], Decimal] = {}
    for entry in raw:
        get = entry.get if isinstance(entry, dict) else entry.__getattribute__
        asset_type = _maybe(get, "asset_type")
        code = _maybe(get, "asset_code") or ""
        issuer = _maybe(get, "asset_issuer") or ""
        if asset_type == "native" or (not code and not issuer):
            code, issuer = NATIVE
        balances[(code, issuer)] = Decimal(str(_maybe(get, "balance") or "0"))
    return balances


def _maybe(get, name: str) -> Any:
    try:
        return get(name)
    except (AttributeError, KeyError):
        return None


def distribution_balances(organization: Organization) -> dict[tuple[str, str], Decimal]:
    """Every trustline of the distribution account with its balance (network I/O:
    call it outside long transactions where possible). Raises BalanceUnavailable
    (503) while Horizon cannot be reached: the network is down, not the request
    wrong (it was a 500)."""
    from tss.errors import HorizonError

    try:
        balances = _tss_accounts().balances(organization.id)
    except HorizonError as exc:
        if not exc.transient:
            raise
        raise BalanceUnavailable(
            "The Stellar network is unreachable; try again later."
        ) from exc
    return _normalize_balances(balances)


def amount_in_flight(organization: Organization, asset: Asset) -> Decimal:
    """What the TSS has accepted for this asset but not finished."""
    from tss import services as tss_services

    function = getattr(tss_services, "amount_in_flight", None)
    if function is not None:
        return Decimal(str(function(organization.id, asset.code, asset.issuer)))
    # Until the TSS provides it: its live rows, read directly (same layer rule:
    # a caller above may read the TSS's table).
    from django.db.models import Sum

    from tss.models import SubmitterTransaction

    total = SubmitterTransaction.objects.filter(
        tenant_id=organization.id,
        asset_code=asset.code,
        asset_issuer=asset.issuer,
        status__in=[
            SubmitterTransaction.Status.PENDING,
            SubmitterTransaction.Status.PROCESSING,
        ],
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0")


# --- assets ------------------------------------------------------------------


def assets_of(organization: Organization) -> QuerySet[Asset]:
    return Asset.objects.filter(organization=organization, deleted_at__isnull=True)


def create_asset(organization: Organization, *, code: str, issuer: str) -> Asset:
    """Idempotent: an existing asset is returned. Adds the trustline first (network
    I/O, outside the transaction); a failure leaves no asset behind."""
    code, issuer = code.strip(), (issuer or "").strip()
    if not code or len(code) > 12 or not code.isalnum():
        raise APIError(extras={"code": "invalid asset code"})
    if code == "XLM" and issuer:
        raise APIError(extras={"issuer": "the native asset has no issuer"})
    if code != "XLM":
        from stellar_sdk import StrKey

        if not StrKey.is_valid_ed25519_public_key(issuer):
            raise APIError(extras={"issuer": "invalid issuer"})
    existing = assets_of(organization).filter(code=code, issuer=issuer).first()
    if existing:
        return existing
    if code != "XLM":
        _tss_accounts().ensure_trustline(organization.id, code, issuer)
    try:
        with transaction.atomic():
            return Asset.objects.create(
                organization=organization, code=code, issuer=issuer
            )
    except IntegrityError:
        return assets_of(organization).get(code=code, issuer=issuer)


def delete_asset(organization: Organization, asset: Asset) -> Asset:
    """Soft delete; the trustline is removed first, refused (422) while the
    distribution account holds a balance of it."""
    if asset.code != "XLM":
        balance = distribution_balances(organization).get(
            (asset.code, asset.issuer), Decimal("0")
        )
        if balance > 0:
            raise APIError(
                f"the distribution account still holds {balance} {asset.code}; "
                "send it elsewhere before removing the asset",
                status_code=422,
            )
        _tss_accounts().remove_trustline(organization.id, asset.code, asset.issuer)
    Asset.objects.filter(pk=asset.pk).update(
        deleted_at=timezone.now(), updated_at=timezone.now()
    )
    asset.refresh_from_db()
    return asset


# --- wallets -----------------------------------------------------------------


def wallets_of(
    organization: Organization, *, include_deleted: bool = False
) -> QuerySet[Wallet]:
    queryset = Wallet.objects.filter(organization=organization)
    if not include_deleted:
        queryset = queryset.filter(deleted_at__isnull=True)
    return queryset


def resolve_assets(organization: Organization, specs: Iterable[dict]) -> list[Asset]:
    """Asset references of the wallet form: ``{id}`` or ``{type, code, issuer}``."""
    assets = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            spec = {"id": spec}
        queryset = assets_of(organization)
        if spec.get("id"):
            asset = queryset.filter(pk=_uuid_or_none(spec["id"])).first()
        elif spec.get("type") == "native":
            asset = queryset.filter(code="XLM", issuer="").first()
        else:
            asset = queryset.filter(
                code=spec.get("code", ""), issuer=spec.get("issuer", "")
            ).first()
        if asset is None:
            raise APIError(extras={f"assets[{index}]": "asset not found"})
        assets.append(asset)
    return assets


def _uuid_or_none(value: Any) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


WALLET_FIELDS = ("name", "homepage", "deep_link_schema", "sep_10_client_domain")


@transaction.atomic
def create_wallet(organization: Organization, *, data: dict) -> Wallet:
    assets = resolve_assets(organization, data.get("assets") or [])
    wallet = Wallet(
        organization=organization,
        enabled=data.get("enabled", True),
        **{name: data[name] for name in WALLET_FIELDS},
    )
    try:
        with transaction.atomic():
            wallet.save()
    except IntegrityError as exc:
        raise Conflict(
            "a wallet with this name, homepage or deep link schema already exists"
        ) from exc
    wallet.assets.set(assets)
    return wallet


@transaction.atomic
def update_wallet(organization: Organization, wallet: Wallet, *, data: dict) -> Wallet:
    for name in (*WALLET_FIELDS, "enabled"):
        if name in data:
            setattr(wallet, name, data[name])
    try:
        with transaction.atomic():
            wallet.save()
    except IntegrityError as exc:
        raise Conflict(
            "a wallet with this name, homepage or deep link schema already exists"
        ) from exc
    if "assets" in data:
        wallet.assets.set(resolve_assets(organization, data["assets"] or []))
    return wallet


@transaction.atomic
def delete_wallet(organization: Organization, wallet: Wallet) -> None:
    """Soft delete, refused while receivers are still being invited to it."""
    # receivers is a layer above: looked up by name, as an upward relation is.
    receiver_wallets = apps.get_model("receivers", "ReceiverWallet")
    blocking = ("DRAFT", "READY")
    locked = wallets_of(organization).select_for_update().filter(pk=wallet.pk).first()
    if locked is None:
        raise NotFound()
    if receiver_wallets.objects.filter(wallet=wallet, status__in=blocking).exists():
        raise APIError(
            "the wallet has receivers who are still being invited (DRAFT or READY)"
        )
    Wallet.objects.filter(pk=wallet.pk).update(
        deleted_at=timezone.now(), enabled=False, updated_at=timezone.now()
    )
