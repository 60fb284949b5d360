"""Wallet providers and assets of an organization (dashboard §2.7), and the
distribution account's trustlines and balances, which belong to the TSS.

The TSS is reached only through ``tss.accounts`` (trustlines, balances) and
``tss.services.amount_in_flight``; this module never talks to Horizon itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from auth_org import circle_config
from auth_org.models import Asset, Organization, Wallet
from auth_org.signals import wallet_deleting
from circle import services as circle_services
from circle.client import ASSETS
from core.api import APIError, Conflict, NotFound
from core.urlschemes import FORBIDDEN_SCHEMES, url_scheme
from tss import accounts as tss_accounts

NATIVE = ("XLM", "")
CIRCLE_ASSETS = frozenset(ASSETS.values())  # what Circle pays: USDC, EURC


class BalanceUnavailable(APIError):
    status_code = 503


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

    if circle_config.is_circle(organization):
        return circle_config.balances(organization)
    try:
        balances = tss_accounts.balances(organization.id)
    except HorizonError as exc:
        if not exc.transient:
            raise
        raise BalanceUnavailable(
            "The Stellar network is unreachable; try again later."
        ) from exc
    return _normalize_balances(balances)


def amount_in_flight(organization: Organization, asset: Asset) -> Decimal:
    """What the TSS (or the Circle rail) has accepted for this asset but not
    finished."""
    from tss import services as tss_services

    if circle_config.is_circle(organization):
        return circle_services.amount_in_flight(organization.id, asset.code)

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
    if errors := _asset_error(code, issuer):
        raise APIError(extras=errors)
    existing = assets_of(organization).filter(code=code, issuer=issuer).first()
    if existing:
        return existing
    if circle_config.is_circle(organization):
        # Circle holds the funds: no trustline, and only what Circle pays.
        if code not in CIRCLE_ASSETS:
            raise APIError(
                extras={"code": "a Circle organization pays USDC and EURC only"}
            )
    elif code != "XLM":
        tss_accounts.ensure_trustline(organization.id, code, issuer)
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
        if not circle_config.is_circle(organization):
            tss_accounts.remove_trustline(organization.id, asset.code, asset.issuer)
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


def _asset_error(code: Any, issuer: Any) -> dict[str, str]:
    """What is wrong with a classic asset's code and issuer, both at once ({} if
    nothing)."""
    errors = {}
    if (
        not isinstance(code, str)
        or not 1 <= len(code) <= 12
        or not (code.isascii() and code.isalnum())
    ):
        errors["code"] = "invalid asset code"
    if not isinstance(issuer, str):
        errors["issuer"] = "invalid issuer"
    elif code == "XLM":
        if issuer:
            errors["issuer"] = "the native asset has no issuer"
    else:
        from stellar_sdk import StrKey

        if not StrKey.is_valid_ed25519_public_key(issuer):
            errors["issuer"] = "invalid issuer"
    return errors


def asset_input_errors(data: Any) -> dict[str, str]:
    """POST /assets: what is wrong with the body's code and issuer, both named."""
    data = data if isinstance(data, dict) else {}
    code, issuer = data.get("code", ""), data.get("issuer") or ""
    code = code.strip() if isinstance(code, str) else code
    issuer = issuer.strip() if isinstance(issuer, str) else issuer
    return _asset_error(code, issuer)


def get_or_create_asset(organization: Organization, code: str, issuer: str) -> Asset:
    """The organization's asset, created if it has none (SDP's GetOrCreate:
    the row only; the distribution account's trustline is added on the
    Distribution Account page, POST /assets)."""
    existing = assets_of(organization).filter(code=code, issuer=issuer).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Asset.objects.create(
                organization=organization, code=code, issuer=issuer
            )
    except IntegrityError:  # created meanwhile by another request
        return assets_of(organization).get(code=code, issuer=issuer)


def asset_spec_errors(
    organization: Organization, specs: Any, field: str = "assets"
) -> dict[str, str]:
    """What is wrong with each asset reference of the wallet form (every one
    named, ``assets[1].code``), without creating anything ({} if nothing)."""
    errors: dict[str, str] = {}
    if not isinstance(specs, list):
        return errors
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            spec = {"id": spec}
        name = f"{field}[{index}]"
        kind = spec.get("type")
        if spec.get("id"):
            asset_id = _uuid_or_none(spec["id"])
            if (
                asset_id is None
                or not assets_of(organization).filter(pk=asset_id).exists()
            ):
                errors[name] = "asset not found"
        elif kind == "native":
            continue
        elif kind in ("contract", "fiat"):
            errors[f"{name}.type"] = f"{kind} assets are not supported"
        elif kind in ("classic", None) and (spec.get("code") or spec.get("issuer")):
            code, issuer = spec.get("code", ""), spec.get("issuer") or ""
            code = code.strip() if isinstance(code, str) else code
            issuer = issuer.strip() if isinstance(issuer, str) else issuer
            for part, text in _asset_error(code, issuer).items():
                errors[f"{name}.{part}"] = text
        else:
            errors[name] = "asset id, or type with code and issuer"
    return errors


def resolve_assets(organization: Organization, specs: Iterable[dict]) -> list[Asset]:
    """Asset references of the wallet form: ``{id}`` of an asset of the
    organization, or ``{type: "native"}``, or ``{type: "classic", code,
    issuer}`` (a classic or native asset it does not have yet is created, as
    SDP's asset resolver does). Every invalid reference is named at once."""
    specs = list(specs)
    if errors := asset_spec_errors(organization, specs):
        raise APIError(extras=errors)
    assets = []
    for spec in specs:
        if not isinstance(spec, dict):
            spec = {"id": spec}
        if spec.get("id"):
            asset = assets_of(organization).get(pk=_uuid_or_none(spec["id"]))
        elif spec.get("type") == "native":
            asset = get_or_create_asset(organization, *NATIVE)
        else:
            code, issuer = spec.get("code", ""), spec.get("issuer") or ""
            asset = get_or_create_asset(organization, code.strip(), issuer.strip())
        assets.append(asset)
    return assets


def _uuid_or_none(value: Any) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


WALLET_FIELDS = ("name", "homepage", "deep_link_schema", "sep_10_client_domain")
# SDP's marker of the user-managed wallet: no deep link at all.
SELF_DEEP_LINK = "SELF"


def deep_link_schema_error(value: str) -> str | None:
    """Why ``value`` cannot be a wallet's deep link, or None: an ``https://`` URL
    with a host, an app scheme (``wallet://...``) or SDP's ``SELF``. Never
    ``javascript:``, ``data:``, ``file:``, ``vbscript:``; ``http://`` only on
    the local network."""
    if not isinstance(value, str) or not value.strip():
        return "deep_link_schema is required"
    if value == SELF_DEEP_LINK:
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return "deep_link_schema must not contain spaces or control characters"
    scheme = url_scheme(value)
    if scheme in FORBIDDEN_SCHEMES:
        return f"deep_link_schema must not use the {scheme}: scheme"
    usage = "deep_link_schema must be an https:// URL or an app link (wallet://...)"
    if not scheme or not value[len(scheme) + 1 :].startswith("//"):
        return usage
    if scheme == "http" and (
        settings.NETWORK_PASSPHRASE != settings.LOCALNET_PASSPHRASE
    ):
        return "deep_link_schema must use https"
    if scheme in ("http", "https") and not urlsplit(value).hostname:
        return "deep_link_schema must name a host"
    return None


def _check_deep_link(data: dict) -> None:
    if "deep_link_schema" in data:
        error = deep_link_schema_error(data["deep_link_schema"])
        if error:
            raise APIError(extras={"deep_link_schema": error})


@transaction.atomic
def create_wallet(organization: Organization, *, data: dict) -> Wallet:
    _check_deep_link(data)
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
    _check_deep_link(data)
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
    locked = wallets_of(organization).select_for_update().filter(pk=wallet.pk).first()
    if locked is None:
        raise NotFound()
    # Refused by receivers while receivers are still being invited to it.
    wallet_deleting.send(Wallet, organization=organization, wallet=locked)
    Wallet.objects.filter(pk=wallet.pk).update(
        deleted_at=timezone.now(), enabled=False, updated_at=timezone.now()
    )
