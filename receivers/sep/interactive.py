"""SEP-24: the interactive deposit a wallet opens to register its account.

The deposit binds the wallet's account (and memo) to a receiver wallet when the
receiver finishes the pages; the money comes from the payment pipeline a layer
above. The transaction follows the first payment to that receiver wallet whose
result disbursements reports after registration (``record_payment_results``):

    incomplete -> pending_anchor (registered, the platform owes a payment)
               -> completed (the payment is on the ledger)
               |  error (the payment was canceled, or failed, with a message)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from auth_org.models import Asset, Organization
from receivers.models import Sep24Transaction
from receivers.sep.tokens import WalletIdentity
from sdp.api import APIError, NotFound

MIN_AMOUNT = Decimal("1")
MAX_AMOUNT = Decimal("10000")
MAX_LIMIT = 200
_NOTHING = "00000000-0000-0000-0000-000000000000"  # the nil UUID: never an id here
SEVEN_PLACES = Decimal("0.0000001")


def _asset_code(asset: Asset) -> str:
    return "native" if asset.is_native else asset.code


def sep24_info(organization: Organization) -> dict[str, Any]:
    """SEP-24 ``/info``: every asset can be deposited (received), none
    withdrawn; no fee is charged (so ``fee_fixed`` and ``fee_percent`` are
    left out, as SEP-24 says) and the ``/fee`` endpoint is not offered."""
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
        "withdraw": {_asset_code(asset): {"enabled": False} for asset in assets},
        "fee": {"enabled": False},
        "features": {"account_creation": False, "claimable_balances": False},
    }


def _assets_named(organization: Organization, code: str, issuer: str = ""):
    assets = Asset.objects.filter(organization=organization, deleted_at__isnull=True)
    if code in {"native", "XLM"} and not issuer:
        return assets.filter(code="XLM", issuer="")
    # Asset codes are case-sensitive (SDP 6.0).
    assets = assets.filter(code=code)
    if issuer:
        assets = assets.filter(issuer=issuer)
    return assets


def _find_asset(organization: Organization, code: str, issuer: str) -> Asset:
    asset = _assets_named(organization, code, issuer).order_by("created_at").first()
    if asset is None:
        raise APIError(
            "asset_code is not an asset of this organization",
            extras={"asset_code": "unknown asset"},
        )
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
        raise APIError(
            "account must be the authenticated account",
            extras={"account": "must be the authenticated account"},
        )
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


# --- lookups -------------------------------------------------------------------


def _owned(organization: Organization, identity: WalletIdentity):
    """Only the token's account and memo: an account's other memos are other
    users (SEP-24, shared accounts)."""
    return Sep24Transaction.objects.select_related("receiver_wallet").filter(
        organization=organization, account=identity.account, memo=identity.memo
    )


def transaction_for(
    organization: Organization,
    identity: WalletIdentity,
    transaction_id: str = "",
    *,
    stellar_transaction_id: str = "",
    external_transaction_id: str = "",
) -> Sep24Transaction:
    """SEP-24 ``GET /transaction``: by ``id``, ``stellar_transaction_id`` or
    ``external_transaction_id``, only if the token's identity opened it (else
    404: the caller learns nothing about other accounts' transactions); 400
    when none is given."""
    if not (transaction_id or stellar_transaction_id or external_transaction_id):
        raise APIError(
            "one of id, stellar_transaction_id or external_transaction_id is required",
            extras={"id": "required"},
        )
    found = _owned(organization, identity)
    # An id that is not a UUID names nothing (and must not become IS NULL).
    if transaction_id:
        found = found.filter(pk=_uuid_or_none(transaction_id) or _NOTHING)
    if stellar_transaction_id:
        found = found.filter(stellar_transaction_id=stellar_transaction_id)
    if external_transaction_id:
        found = found.filter(
            payment_id=_uuid_or_none(external_transaction_id) or _NOTHING
        )
    found = found.order_by("-started_at").first()
    if found is None:
        raise NotFound("transaction not found")
    return found


@dataclass(frozen=True)
class HistoryQuery:
    asset_code: str = ""
    kind: str = ""
    limit: str = ""
    paging_id: str = ""
    no_older_than: str = ""


def transactions_for(
    organization: Organization, identity: WalletIdentity, query: HistoryQuery
) -> list[Sep24Transaction]:
    """SEP-24 ``GET /transactions``: the identity's transactions of one asset,
    newest first. Raises APIError naming the bad parameter."""
    if not query.asset_code:
        raise APIError("asset_code is required", extras={"asset_code": "required"})
    assets = list(_assets_named(organization, query.asset_code))
    if not assets:
        raise APIError(
            "asset_code is not an asset of this organization",
            extras={"asset_code": "unknown asset"},
        )
    if query.kind not in ("", "deposit", "withdrawal"):
        raise APIError(
            "kind must be deposit or withdrawal",
            extras={"kind": "must be deposit or withdrawal"},
        )
    limit = MAX_LIMIT
    if query.limit:
        try:
            limit = int(query.limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise APIError(
                f"limit must be a whole number from 1 to {MAX_LIMIT}",
                extras={"limit": f"must be from 1 to {MAX_LIMIT}"},
            )
    if query.kind == "withdrawal":
        return []  # withdrawals are not offered
    match = Q()
    for asset in assets:
        match |= Q(asset_code=asset.code, asset_issuer=asset.issuer)
    found: QuerySet[Sep24Transaction] = _owned(organization, identity).filter(match)
    if query.no_older_than:
        since = _datetime(query.no_older_than)
        if since is None:
            raise APIError(
                "no_older_than must be a UTC ISO 8601 date and time",
                extras={"no_older_than": "not an ISO 8601 date and time"},
            )
        found = found.filter(started_at__gte=since)
    if query.paging_id:
        anchor = _owned(organization, identity).filter(
            pk=_uuid_or_none(query.paging_id) or _NOTHING
        )
        anchor_row = anchor.values("started_at", "id").first()
        if anchor_row is None:
            raise APIError(
                "paging_id is not one of your transactions",
                extras={"paging_id": "unknown transaction"},
            )
        found = found.filter(
            Q(started_at__lt=anchor_row["started_at"])
            | Q(started_at=anchor_row["started_at"], id__lt=anchor_row["id"])
        )
    return list(found.order_by("-started_at", "-id")[:limit])


def _datetime(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


# --- the transaction object ----------------------------------------------------


def transaction_status(sep24_transaction: Sep24Transaction) -> str:
    if sep24_transaction.registered_at is None:
        return "incomplete"
    payment_status = sep24_transaction.payment_status
    if payment_status == Sep24Transaction.PaymentStatus.SUCCESS:
        return "completed"
    if payment_status in (
        Sep24Transaction.PaymentStatus.FAILED,
        Sep24Transaction.PaymentStatus.CANCELED,
    ):
        return "error"
    return "pending_anchor"


STATUS_MESSAGES = {
    "incomplete": "Waiting for the receiver to finish registration.",
    "pending_anchor": "Registered; the organization's payment is on its way.",
    "completed": "The payment was sent to your wallet.",
}


def sep38_asset(code: str, issuer: str) -> str:
    if not issuer and code in ("XLM", "native"):
        return "stellar:native"
    return f"stellar:{code}:{issuer}"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _amount(value: Decimal) -> str:
    return format(value.quantize(SEVEN_PLACES), "f")


def transaction_body(
    sep24_transaction: Sep24Transaction, *, more_info_url: str
) -> dict[str, Any]:
    """The SEP-24 transaction object: fields that do not apply are left out."""
    tx = sep24_transaction
    status = transaction_status(tx)
    body: dict[str, Any] = {
        "id": str(tx.id),
        "kind": "deposit",
        "status": status,
        "more_info_url": more_info_url,
        "started_at": _iso(tx.started_at),
        "updated_at": _iso(tx.updated_at),
        "to": tx.account,
        "message": tx.payment_message or STATUS_MESSAGES.get(status, ""),
    }
    if tx.memo:
        body["deposit_memo"] = tx.memo
        body["deposit_memo_type"] = "id"
    if tx.payment_id is not None:
        body["external_transaction_id"] = str(tx.payment_id)
    if status == "completed" and tx.amount is not None:
        amount = _amount(tx.amount)
        body.update(
            {
                "amount_in": amount,
                "amount_in_asset": tx.amount_asset,
                "amount_out": amount,
                "amount_out_asset": tx.amount_asset,
                "amount_fee": _amount(Decimal(0)),
                "amount_fee_asset": tx.amount_asset,
                "fee_details": {"total": _amount(Decimal(0)), "asset": tx.amount_asset},
                "stellar_transaction_id": tx.stellar_transaction_id,
                "completed_at": _iso(tx.completed_at or tx.updated_at),
            }
        )
        if tx.from_address:
            body["from"] = tx.from_address
    return body


# --- news of the payment (from disbursements) ------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    """What disbursements reports of one payment that reached a result."""

    receiver_wallet_id: Any
    payment_id: Any
    status: str  # SUCCESS, FAILED or CANCELED
    amount: Decimal
    asset_code: str
    asset_issuer: str
    stellar_transaction_id: str = ""
    from_address: str = ""
    message: str = ""


def record_payment_results(results: Iterable[PaymentResult]) -> int:
    """The one writer of a SEP-24 transaction's payment columns.

    A registered transaction of the payment's receiver wallet follows the first
    payment reported after its registration; later news of that same payment
    (a FAILED one retried and paid) updates it, news of other payments does
    not. A completed transaction never changes. Payments of one batch are
    taken oldest first (their ids are time-ordered). A transaction opened after
    its wallet's last payment waits (pending_anchor) for the next one. Runs in
    the caller's transaction; returns the number of transactions updated."""
    results = list(results)
    # One read for the batch: most payments (a CSV's addresses, wallets paid
    # before) have no SEP-24 transaction waiting, and cost no write here.
    waiting = set(
        Sep24Transaction.objects.filter(
            receiver_wallet_id__in={r.receiver_wallet_id for r in results},
            registered_at__isnull=False,
        )
        .exclude(payment_status=Sep24Transaction.PaymentStatus.SUCCESS)
        .values_list("receiver_wallet_id", flat=True)
    )
    updated = 0
    now = timezone.now()
    for result in sorted(results, key=lambda r: str(r.payment_id)):
        if result.receiver_wallet_id not in waiting:
            continue
        if result.status not in Sep24Transaction.PaymentStatus.values or not (
            result.status
        ):
            raise ValueError(f"unknown payment status {result.status!r}")
        success = result.status == Sep24Transaction.PaymentStatus.SUCCESS
        if result.status == Sep24Transaction.PaymentStatus.CANCELED:
            message = "The organization canceled this payment."
        elif result.status == Sep24Transaction.PaymentStatus.FAILED:
            message = "The payment failed" + (
                f": {result.message}"[:200] if result.message else "."
            )
        else:
            message = ""
        updated += (
            Sep24Transaction.objects.filter(
                receiver_wallet_id=result.receiver_wallet_id,
                registered_at__isnull=False,
            )
            .filter(Q(payment_id__isnull=True) | Q(payment_id=result.payment_id))
            .exclude(payment_status=Sep24Transaction.PaymentStatus.SUCCESS)
            .update(
                payment_id=result.payment_id,
                payment_status=result.status,
                payment_message=message,
                amount=result.amount,
                amount_asset=sep38_asset(result.asset_code, result.asset_issuer),
                stellar_transaction_id=result.stellar_transaction_id if success else "",
                from_address=result.from_address if success else "",
                completed_at=now if success else None,
                updated_at=now,
            )
        )
    return updated
