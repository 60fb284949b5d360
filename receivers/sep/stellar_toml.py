"""SEP-1: the tenant's stellar.toml."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings

from auth_org.models import Asset, Organization


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    return json.dumps(value)


def _array(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def render_stellar_toml(organization: Organization | None, *, base_url: str) -> str:
    """``base_url`` is where this server is reached (scheme and host), without a
    trailing slash; the endpoints a wallet should call are under it."""
    accounts = []
    if organization and organization.distribution_account_address:
        accounts.append(organization.distribution_account_address)
    accounts.append(settings.SEP10_SIGNING_PUBLIC_KEY)
    lines = [
        f"ACCOUNTS = {_array(accounts)}",
        f"SIGNING_KEY = {_string(settings.SEP10_SIGNING_PUBLIC_KEY)}",
        f"NETWORK_PASSPHRASE = {_string(settings.NETWORK_PASSPHRASE)}",
        f"HORIZON_URL = {_string(settings.HORIZON_URL)}",
        f"WEB_AUTH_ENDPOINT = {_string(base_url + '/sep10/auth')}",
        f"TRANSFER_SERVER_SEP0024 = {_string(base_url + '/sep24')}",
        "",
        "[DOCUMENTATION]",
        "ORG_NAME = "
        + _string(
            organization.display_name if organization else settings.INSTANCE_NAME
        ),
    ]
    assets = (
        Asset.objects.filter(
            organization=organization, deleted_at__isnull=True
        ).order_by("code", "issuer")
        if organization
        else Asset.objects.none()
    )
    for asset in assets:
        lines += ["", "[[CURRENCIES]]"]
        if asset.is_native:
            lines += [
                'code = "native"',
                'anchor_asset_type = "crypto"',
            ]
        else:
            lines += [
                f"code = {_string(asset.code)}",
                f"issuer = {_string(asset.issuer)}",
                'anchor_asset_type = "fiat"',
            ]
        lines += [
            "is_asset_anchored = true",
            'status = "live"',
            f"desc = {_string(f'{asset.code} paid out by the disbursement platform')}",
        ]
    return "\n".join(lines) + "\n"
