"""SEP-24: the interactive deposit a wallet opens to register its account.

No funds move through it: the transaction only binds the wallet's account (and
memo) to a receiver wallet; the payment follows from the payment pipeline.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from auth_org.models import Asset, Organization
from receivers.models import ReceiverWallet, Sep24Transaction
from receivers.sep.tokens import WalletIdentity
from sdp.api import APIError, NotFound

MIN_AMOUNT = Decimal("1")
MAX_AMOUNT = Decimal("10000")


def _asset_code(asset: Asset) -> str:
    return "native" if asset.is_native else asset.code


def sep24_info(organization: Organization) -> dict[str, Any]:
    assets = Asset.objects.filter(
        organization=organization, deleted_at__isnull=True
    ).order_by("code")
    return {
        "deposit": {
            _asset_code(asset): {
                "enabled": True,
                "min_amount": int(MIN_AMOUNT),
                "max_amount": int(MAX_AMOUNT),
            }
            for asset in assets
        },
        "withdraw": {},
        "fee": {"enabled": False},
        "features": {"account_creation": False, "claimable_balances": False},
    }


def _find_asset(organization: Organization, code: str, issuer: str) -> Asset:
    assets = Asset.objects.filter(organization=organization, deleted_at__isnull=True)
    if code in {"native", "XLM"} and not issuer:
        assets = assets.filter(code="XLM", issuer="")
    else:
        # Asset codes are case-sensitive (SDP 6.0).
        assets = assets.filter(code=code)
        if issuer:
            assets = assets.filter(issuer=issuer)
    asset = assets.order_by("created_at").first()
    if asset is None:
        raise APIError("asset_code is not an asset of this organization")
    return asset


def start_interactive_deposit(
    organization: Organization,
    identity: WalletIdentity,
    *,
    asset_code: str,
    asset_issuer: str = "",
    account: str = "",
    lang: str = "",
) -> Sep24Transaction:
    """Open a deposit for the token's account. Raises APIError (400)."""
    if not asset_code:
        raise APIError("asset_code is required", extras={"asset_code": "required"})
    if account and account != identity.account:
        raise APIError("account must be the authenticated account")
    asset = _find_asset(organization, asset_code, asset_issuer)
    return Sep24Transaction.objects.create(
        organization=organization,
        account=identity.account,
        memo=identity.memo,
        client_domain=identity.client_domain,
        home_domain=identity.home_domain,
        asset_code=asset.code,
        asset_issuer=asset.issuer,
        lang=lang[:16],
    )


def transaction_for(
    organization: Organization, identity: WalletIdentity, transaction_id: str
) -> Sep24Transaction:
    """The transaction, only if the token's identity opened it (else 404: the
    caller learns nothing about other accounts' transactions)."""
    found = (
        Sep24Transaction.objects.select_related("receiver_wallet")
        .filter(
            organization=organization,
            account=identity.account,
            memo=identity.memo,
            pk=_uuid_or_none(transaction_id),
        )
        .first()
    )
    if found is None:
        raise NotFound("transaction not found")
    return found


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def transaction_status(sep24_transaction: Sep24Transaction) -> str:
    """SDP's mapping from the receiver wallet to a SEP-24 status."""
    receiver_wallet = sep24_transaction.receiver_wallet
    if receiver_wallet is None:
        return "incomplete"
    if receiver_wallet.status == ReceiverWallet.Status.READY:
        return "pending_user_info_update"
    if receiver_wallet.status == ReceiverWallet.Status.REGISTERED:
        return "completed"
    return "error"


def transaction_body(
    sep24_transaction: Sep24Transaction, *, more_info_url: str
) -> dict[str, Any]:
    status = transaction_status(sep24_transaction)
    body: dict[str, Any] = {
        "id": str(sep24_transaction.id),
        "kind": "deposit",
        "status": status,
        "more_info_url": more_info_url,
        "started_at": sep24_transaction.started_at.isoformat(),
        "refunded": False,
    }
    if status == "completed":
        receiver_wallet = sep24_transaction.receiver_wallet
        body.update(
            {
                "to": receiver_wallet.stellar_address,
                "deposit_memo": receiver_wallet.stellar_memo,
                "deposit_memo_type": receiver_wallet.stellar_memo_type,
                "completed_at": sep24_transaction.completed_at.isoformat()
                if sep24_transaction.completed_at
                else None,
                "stellar_transaction_id": "",
            }
        )
    return body
