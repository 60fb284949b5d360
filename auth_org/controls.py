"""A tenant's controls per asset: spending limits, approval tiers and the
low-balance threshold.

The one write path of ``AssetControls`` and ``ApprovalTier``; every change is an
audit row with the values before and after. The rules themselves are enforced
where the money moves (``disbursements.controls``); this module only keeps and
reads the figures, and keeps the low-balance state (``note_balance``, called by
``auth_org.low_balance`` with a balance read outside any transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.utils import timezone

from auth_org import audit
from auth_org.models import (
    ApprovalTier,
    Asset,
    AssetControls,
    Organization,
    TenantControls,
    User,
)
from core.api import APIError
from core.validators import AMOUNT_RE, parse_amount
from webhooks import events

LIMIT_FIELDS = ("daily_max", "per_disbursement_max", "per_receiver_max")
MAX_WINDOW_DAYS = 3660
MAX_APPROVALS = 20


@dataclass(frozen=True)
class Limits:
    daily_max: Decimal | None = None
    per_disbursement_max: Decimal | None = None
    per_receiver_max: Decimal | None = None
    per_receiver_window_days: int = 30
    tiers: tuple[tuple[Decimal, int], ...] = ()
    low_balance_threshold: Decimal | None = None

    def approvals_required(self, amount: Decimal) -> tuple[int, Decimal | None]:
        """How many approvers ``amount`` needs and the tier's threshold; (0, None)
        under the first tier (the organization's single-approval rule applies)."""
        required, threshold = 0, None
        for above, approvals in self.tiers:
            if amount > above:
                required, threshold = approvals, above
        return required, threshold


NO_LIMITS = Limits()


def limits_for(asset: Asset) -> Limits:
    controls = AssetControls.objects.filter(asset=asset).first()
    if controls is None:
        return NO_LIMITS
    return Limits(
        daily_max=controls.daily_max,
        per_disbursement_max=controls.per_disbursement_max,
        per_receiver_max=controls.per_receiver_max,
        per_receiver_window_days=controls.per_receiver_window_days,
        tiers=tuple(controls.tiers.values_list("above", "approvals")),
        low_balance_threshold=controls.low_balance_threshold,
    )


def controls_json(asset: Asset) -> dict[str, Any]:
    limits = limits_for(asset)

    def text(value: Decimal | None) -> str | None:
        return None if value is None else f"{value:.7f}"

    return {
        "asset_id": str(asset.pk),
        "daily_max": text(limits.daily_max),
        "per_disbursement_max": text(limits.per_disbursement_max),
        "per_receiver_max": text(limits.per_receiver_max),
        "per_receiver_window_days": limits.per_receiver_window_days,
        "approval_tiers": [
            {"above": text(above), "approvals": approvals}
            for above, approvals in limits.tiers
        ],
        "low_balance_threshold": text(limits.low_balance_threshold),
    }


def _amount(value: Any, field: str, *, allow_zero: bool = False) -> Decimal | None:
    if value is None or value == "":
        return None
    raw = str(value).strip()
    if (
        allow_zero
        and AMOUNT_RE.match(raw)
        and not raw.startswith("-")
        and Decimal(raw) == 0
    ):
        return Decimal("0")
    amount, error = parse_amount(raw)
    if error:
        raise APIError(extras={field: error})
    return amount


def _parse(data: Any) -> dict[str, Any]:
    """The PATCH body, every field optional; an unknown field is an error."""
    if not isinstance(data, dict):
        raise APIError(extras={"body": "a JSON object is required"})
    known = {
        *LIMIT_FIELDS,
        "per_receiver_window_days",
        "approval_tiers",
        "low_balance_threshold",
    }
    if unknown := sorted(set(data) - known):
        raise APIError(extras={unknown[0]: "unknown field"})
    values: dict[str, Any] = {}
    for field in LIMIT_FIELDS:
        if field in data:
            values[field] = _amount(data[field], field)
    if "low_balance_threshold" in data:
        values["low_balance_threshold"] = _amount(
            data["low_balance_threshold"], "low_balance_threshold", allow_zero=True
        )
    if "per_receiver_window_days" in data:
        days = data["per_receiver_window_days"]
        if (
            not isinstance(days, int)
            or isinstance(days, bool)
            or not 1 <= days <= MAX_WINDOW_DAYS
        ):
            raise APIError(
                extras={
                    "per_receiver_window_days": (
                        f"an integer from 1 to {MAX_WINDOW_DAYS}"
                    )
                }
            )
        values["per_receiver_window_days"] = days
    if "approval_tiers" in data:
        values["approval_tiers"] = _parse_tiers(data["approval_tiers"])
    return values


def _parse_tiers(raw: Any) -> list[tuple[Decimal, int]]:
    if not isinstance(raw, list):
        raise APIError(extras={"approval_tiers": "a list of {above, approvals}"})
    tiers: list[tuple[Decimal, int]] = []
    for index, item in enumerate(raw):
        field = f"approval_tiers[{index}]"
        if not isinstance(item, dict) or set(item) != {"above", "approvals"}:
            raise APIError(extras={field: "an object {above, approvals}"})
        above = _amount(item["above"], f"{field}.above", allow_zero=True)
        approvals = item["approvals"]
        if above is None:
            raise APIError(extras={f"{field}.above": "an amount is required"})
        if (
            not isinstance(approvals, int)
            or isinstance(approvals, bool)
            or not 1 <= approvals <= MAX_APPROVALS
        ):
            raise APIError(
                extras={f"{field}.approvals": f"an integer from 1 to {MAX_APPROVALS}"}
            )
        tiers.append((above, approvals))
    tiers.sort()
    for (above, approvals), (next_above, next_approvals) in pairwise(tiers):
        if above == next_above:
            raise APIError(extras={"approval_tiers": f"two tiers above {above}"})
        if next_approvals < approvals:
            raise APIError(
                extras={
                    "approval_tiers": "a higher tier cannot need fewer approvals "
                    f"(above {next_above}: {next_approvals} < {approvals})"
                }
            )
    return tiers


def update_controls(
    organization: Organization,
    asset: Asset,
    data: Any,
    *,
    actor: User | None,
    ip_address: str | None = None,
) -> dict[str, Any]:
    """Change the given fields of the asset's controls (``approval_tiers``, when
    given, replaces the list), in one transaction with its audit row."""
    if asset.organization_id != organization.pk:
        raise APIError("asset of another organization")
    values = _parse(data)
    with transaction.atomic():
        controls, _ = AssetControls.objects.select_for_update().get_or_create(
            asset=asset, defaults={"organization": organization}
        )
        before = controls_json(asset)
        tiers = values.pop("approval_tiers", None)
        if values.get("low_balance_threshold", controls.low_balance_threshold) != (
            controls.low_balance_threshold
        ):
            # A new threshold is watched afresh: told once if already under it.
            controls.low_balance_since = None
        for field, value in values.items():
            setattr(controls, field, value)
        controls.save()
        if tiers is not None:
            controls.tiers.all().delete()
            ApprovalTier.objects.bulk_create(
                ApprovalTier(controls=controls, above=above, approvals=approvals)
                for above, approvals in tiers
            )
        after = controls_json(asset)
        _audit_change(before, after, organization, asset, actor, ip_address)
    return after


# --- the low-balance warning ------------------------------------------------------


LOW_BALANCE = "distribution_account.low_balance"


def note_balance(
    controls_id: int, balance: Decimal, event_data: dict[str, Any]
) -> bool | None:
    """Record a balance of the asset read from the network (outside this
    transaction): under the threshold and not yet told, the row is marked and
    the event written, in one short transaction; at or above it, the mark is
    cleared so a later fall is told again. Returns True when it told, False
    when it cleared the mark, None when nothing changed. ``event_data`` is the
    event's body without the figures (the asset, account and tenant)."""
    with transaction.atomic():
        controls = (
            AssetControls.objects.select_for_update()
            .filter(pk=controls_id, low_balance_threshold__isnull=False)
            .first()
        )
        threshold = None if controls is None else controls.low_balance_threshold
        if controls is None or threshold is None:  # removed meanwhile
            return None
        if balance >= threshold:
            if controls.low_balance_since is None:
                return None
            AssetControls.objects.filter(pk=controls.pk).update(low_balance_since=None)
            return False
        if controls.low_balance_since is not None:
            return None
        now = timezone.now()
        AssetControls.objects.filter(pk=controls.pk).update(low_balance_since=now)
        events.emit(
            controls.organization_id,
            LOW_BALANCE,
            controls.asset_id,
            {
                **event_data,
                "balance": f"{balance:.7f}",
                "threshold": f"{threshold:.7f}",
                "below_since": now,
            },
        )
        return True


# --- the tenant's controls (not per asset) -------------------------------------


@dataclass(frozen=True)
class TenantSettings:
    duplicate_window_days: int = 30
    duplicate_tolerance_percent: Decimal = Decimal("0")
    cooling_period_hours: int = 0


TENANT_FIELDS = {
    "duplicate_window_days": (1, MAX_WINDOW_DAYS),
    "cooling_period_hours": (0, 24 * 90),
}


def tenant_settings(organization: Organization) -> TenantSettings:
    row = TenantControls.objects.filter(organization=organization).first()
    if row is None:
        return TenantSettings()
    return TenantSettings(
        duplicate_window_days=row.duplicate_window_days,
        duplicate_tolerance_percent=row.duplicate_tolerance_percent,
        cooling_period_hours=row.cooling_period_hours,
    )


def tenant_settings_json(organization: Organization) -> dict[str, Any]:
    settings = tenant_settings(organization)
    return {
        "duplicate_window_days": settings.duplicate_window_days,
        "duplicate_tolerance_percent": f"{settings.duplicate_tolerance_percent:.2f}",
        "cooling_period_hours": settings.cooling_period_hours,
    }


def _parse_tenant(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise APIError(extras={"body": "a JSON object is required"})
    known = {*TENANT_FIELDS, "duplicate_tolerance_percent"}
    if unknown := sorted(set(data) - known):
        raise APIError(extras={unknown[0]: "unknown field"})
    values: dict[str, Any] = {}
    for field, (low, high) in TENANT_FIELDS.items():
        if field in data:
            value = data[field]
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not low <= value <= high
            ):
                raise APIError(extras={field: f"an integer from {low} to {high}"})
            values[field] = value
    if "duplicate_tolerance_percent" in data:
        try:
            tolerance = Decimal(str(data["duplicate_tolerance_percent"]))
        except ArithmeticError:
            tolerance = Decimal("-1")
        if not tolerance.is_finite() or not 0 <= tolerance <= 100:
            raise APIError(
                extras={"duplicate_tolerance_percent": "a number from 0 to 100"}
            )
        values["duplicate_tolerance_percent"] = tolerance.quantize(Decimal("0.01"))
    return values


def update_tenant_settings(
    organization: Organization,
    data: Any,
    *,
    actor: User | None,
    ip_address: str | None = None,
) -> dict[str, Any]:
    values = _parse_tenant(data)
    with transaction.atomic():
        row, _ = TenantControls.objects.select_for_update().get_or_create(
            organization=organization
        )
        before = tenant_settings_json(organization)
        for field, value in values.items():
            setattr(row, field, value)
        row.save()
        after = tenant_settings_json(organization)
        _audit_change(before, after, organization, organization, actor, ip_address)
    return after


def _audit_change(
    before: dict, after: dict, organization, target, actor, ip_address
) -> None:
    """One audit row with each changed figure's before and after (none if
    nothing changed), in the caller's transaction."""
    changes = {
        key: {"from": before[key], "to": after[key]}
        for key in after
        if before[key] != after[key]
    }
    if changes:
        audit.record(
            audit.Action.CONTROLS_CHANGED,
            organization=organization,
            actor=actor,
            ip_address=ip_address,
            target=target,
            changes=changes,
        )
