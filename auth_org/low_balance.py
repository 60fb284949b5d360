"""The low-balance watch (docs/controls.md, docs/webhooks.md): for each serving
tenant with a ``low_balance_threshold`` on some asset, read the distribution
account's balances (Horizon through the TSS, or the Circle wallet), outside any
transaction, then let ``controls.note_balance`` tell
``distribution_account.low_balance`` once per fall below the threshold.

A tenant whose balances cannot be read (the network or Circle away, a Circle
account not yet active) is logged and skipped: nothing is emitted and nothing
escapes, the next run tries again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from auth_org import catalog, circle_config, schemas
from auth_org.controls import note_balance
from auth_org.models import AssetControls, Organization
from tss import accounts as tss_accounts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchResult:
    tenants: int = 0
    told: int = 0
    cleared: int = 0
    unreadable: int = 0


def distribution_account_json(organization: Organization) -> dict[str, Any]:
    """The account the balance was read from, as the organization's JSON
    names it (``distribution_account``)."""
    if circle_config.is_circle(organization):
        address = organization.distribution_account_address or None
        extra = {"circle_wallet_id": circle_config.wallet_id(organization)}
    else:
        address = tss_accounts.distribution_account_for(organization.id)
        extra = {}
    return {
        "address": address,
        "type": organization.distribution_account_type,
        "status": organization.distribution_account_status,
        **extra,
    }


def watch() -> WatchResult:
    """One pass over every watched asset; never raises for one tenant's
    failure. Must run outside a transaction (it reads the network)."""
    if connection.in_atomic_block:
        raise RuntimeError("the low-balance watch reads the network: no transaction")
    watched: dict[Any, list[AssetControls]] = defaultdict(list)
    rows = (
        AssetControls.objects.filter(
            low_balance_threshold__isnull=False,
            asset__deleted_at__isnull=True,
            organization__deleted_at__isnull=True,
        )
        .exclude(organization__status=Organization.Status.DEACTIVATED)
        .select_related("asset", "organization")
        .order_by("organization_id", "asset__code")
    )
    for row in rows:
        watched[row.organization_id].append(row)
    told = cleared = unreadable = 0
    for rows_of_tenant in watched.values():
        organization = rows_of_tenant[0].organization
        try:
            balances = catalog.distribution_balances(organization)
            account = distribution_account_json(organization)
        except Exception:  # the network, Circle, a half-provisioned tenant
            logger.warning(
                "low-balance watch: cannot read the balances of tenant %s",
                organization.pk,
                exc_info=True,
            )
            unreadable += 1
            continue
        tenant = {"id": str(organization.pk), "name": organization.name}
        for row in rows_of_tenant:
            asset = row.asset
            # No trustline (or no Circle balance) for the asset: it holds 0.
            balance = balances.get((asset.code, asset.issuer or ""), Decimal("0"))
            try:
                outcome = note_balance(
                    row.pk,
                    balance,
                    {
                        "asset": schemas.Asset(asset).data,
                        "distribution_account": account,
                        "tenant": tenant,
                    },
                )
            except Exception:
                logger.exception(
                    "low-balance watch: tenant %s asset %s", organization.pk, asset.pk
                )
                continue
            told += outcome is True
            cleared += outcome is False
    return WatchResult(len(watched), told, cleared, unreadable)
