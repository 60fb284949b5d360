"""Circle tenants (distribution account type DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT):
their Circle configuration and balances, over the Circle rail (``circle``).

The rail keeps the wallet id and the encrypted API key (it pays with them);
the organization keeps its distribution account type and status: PENDING_USER_
ACTIVATION until a configuration Circle accepted is stored, then ACTIVE.
"""

from __future__ import annotations

from decimal import Decimal

from auth_org import audit
from auth_org.audit import Action
from auth_org.models import Asset, Organization, User
from circle import services as circle
from circle.client import CircleError
from core.api import APIError

ONLY_CIRCLE = (
    "This endpoint is only available for tenants using "
    "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT"
)


class CircleUnavailable(APIError):
    status_code = 503


def is_circle(organization: Organization) -> bool:
    return (
        organization.distribution_account_type
        == Organization.DistributionAccountType.CIRCLE_DB_VAULT
    )


def wallet_id(organization: Organization) -> str | None:
    found = circle.account(organization.id) if is_circle(organization) else None
    return found.wallet_id if found else None


def configure(
    organization: Organization,
    *,
    wallet_id: str,
    api_key: str,
    actor: User | None,
    ip: str | None = None,
) -> None:
    """PATCH /organization/circle-config: checked with Circle, then stored; the
    distribution account becomes ACTIVE. Network I/O: not in a transaction."""
    if not is_circle(organization):
        raise APIError(ONLY_CIRCLE)
    errors = {}
    for name, value in (("wallet_id", wallet_id), ("api_key", api_key)):
        if value and (len(value) > 256 or not value.isprintable()):
            errors[name] = "invalid value"
    if errors:
        raise APIError("Invalid request body", extras=errors)
    if not wallet_id and not api_key:
        raise APIError(
            "Invalid request body",
            extras={"wallet_id": "wallet_id or api_key is required"},
        )
    try:
        circle.configure(organization.id, wallet_id=wallet_id, api_key=api_key)
    except circle.CircleConfigurationRejected as exc:
        raise APIError(f"Circle configuration rejected: {exc}") from exc
    except CircleError as exc:
        raise CircleUnavailable(f"Circle cannot be reached: {exc}") from exc
    Organization.objects.filter(pk=organization.pk).update(
        distribution_account_status=Organization.DistributionAccountStatus.ACTIVE
    )
    organization.distribution_account_status = (
        Organization.DistributionAccountStatus.ACTIVE
    )
    audit.record(
        Action.ORGANIZATION_UPDATED,
        organization=organization,
        actor=actor,
        ip_address=ip,
        changes={"circle_config": "updated"},
    )


def _not_active(organization: Organization) -> APIError:
    return APIError(
        "This organization's distribution account is in "
        f"{organization.distribution_account_status} state, please complete the "
        "CIRCLE activation process to access this endpoint."
    )


def balances(organization: Organization) -> dict[tuple[str, str], Decimal]:
    """The Circle wallet's balances keyed as the Stellar ones are, (code,
    issuer), with the issuer of the organization's asset of that code."""
    if circle.account(organization.id) is None:
        raise _not_active(organization)
    try:
        found = circle.balances(organization.id)
    except CircleError as exc:
        raise CircleUnavailable(f"Circle cannot be reached: {exc}") from exc
    issuers = dict(
        Asset.objects.filter(
            organization=organization, deleted_at__isnull=True
        ).values_list("code", "issuer")
    )
    return {
        (balance.asset_code, issuers.get(balance.asset_code, "")): balance.amount
        for balance in found
    }


def balances_json(organization: Organization) -> dict:
    """GET /balances, as SDP answers it."""
    if not is_circle(organization):
        raise APIError(ONLY_CIRCLE)
    found = balances(organization)
    return {
        "account": {
            "circle_wallet_id": wallet_id(organization),
            "status": organization.distribution_account_status,
            "type": organization.distribution_account_type,
        },
        "balances": [
            {"amount": f"{amount:.2f}", "asset_code": code, "asset_issuer": issuer}
            for (code, issuer), amount in sorted(found.items())
        ],
    }
