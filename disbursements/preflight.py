"""Pre-flight of a DRAFT or READY disbursement: per payment, will it be paid now,
wait (for the receiver to register), or fail (and why); the balance against
everything in flight; what it will cost (network fees at the network's fee
statistics, invitations by channel) and how long it will take at the ledger's
capacity; the duplicate warnings. Read-only: nothing here writes a row.

The network is asked outside any transaction: once for the distribution
account, once for /fee_stats and the latest ledger (both cached a few seconds),
and for the destinations not seen lately (ten minutes for one found ready, a
minute for one missing its account or trustline): through Stellar RPC's
getLedgerEntries, 200 account or trustline keys a request, a few at once
(``ledger_reads``); through Horizon, one /accounts request per destination, 16
at once, when RPC is not configured or fails.
The whole answer is cached until the disbursement, its receivers' wallets or
the distribution balance change, and at most ``ANSWER_TTL`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils import timezone

from auth_org.controls import limits_for
from auth_org.models import Asset, TenantControls
from core.api import APIError
from core.validators import base_account
from disbursements import controls, ledger_reads
from disbursements.duplicates import find_duplicates
from disbursements.models import Disbursement, Payment
from disbursements.services import amount_in_flight, read_balances
from messaging.models import Message
from messaging.selectors import PRICE_PER_UNIT, sms_segments
from messaging.texts import render_receiver_invitation
from receivers.models import ReceiverWallet
from tss import horizon
from tss.errors import HorizonError

logger = logging.getLogger(__name__)

ANSWER_TTL = 60
# A destination found ready is asked again after ten minutes (accounts and
# trustlines rarely go); one found missing something after a minute (it is what
# a receiver fixes).
ACCOUNT_TTL = 600
MISSING_TTL = 60
NETWORK_TTL = 5  # fee statistics and the latest ledger
MAX_FAILURES_LISTED = 1000
LOOKUP_THREADS = 16
STROOPS = Decimal("0.0000001")

# Plain words for each reason, on the API and in the admin.
REASONS = {
    "invitation_needed": "the receiver has not registered a wallet yet; an "
    "invitation will be sent when the disbursement starts",
    "invitation_sent": "the receiver was invited and has not registered yet",
    "no_account": "the receiver's Stellar account does not exist on the network",
    "no_trustline": "the receiver's account does not trust the asset",
    "trustline_not_authorized": "the asset's issuer has not authorized the "
    "receiver's trustline",
    "over_trustline_limit": "the amount would take the receiver's balance over "
    "their trustline's limit",
    "receiver_wallet_flagged": "the receiver's wallet is flagged",
    "wallet_disabled": "the wallet provider is disabled",
    "asset_not_supported": "the wallet provider does not take this asset",
    "over_receiver_limit": "over the per-receiver spending limit",
    "network_unavailable": "the network could not be asked; not checked",
}


@dataclass(frozen=True)
class Destination:
    exists: bool
    # (code, issuer) -> (balance, limit, authorized)
    lines: dict[tuple[str, str], tuple[Decimal, Decimal, bool]]


def _destination_json(body: dict | None) -> dict:
    if body is None:
        return {"exists": False, "lines": []}
    lines = [
        [
            line.get("asset_code", ""),
            line.get("asset_issuer", ""),
            line.get("balance", "0"),
            line.get("limit", "0"),
            bool(line.get("is_authorized", True)),
        ]
        for line in body.get("balances", [])
        if line.get("asset_type") != "native"
    ]
    return {"exists": True, "lines": lines}


def _destination(stored: dict) -> Destination:
    return Destination(
        exists=stored["exists"],
        lines={
            (code, issuer): (Decimal(balance), Decimal(limit), authorized)
            for code, issuer, balance, limit, authorized in stored["lines"]
        },
    )


def destinations(
    addresses: list[str], asset: Asset | None = None
) -> dict[str, Destination] | None:
    """Each account as the network shows it for ``asset`` (cached in Redis);
    None when the network cannot be asked. Read through RPC's
    getLedgerEntries, 200 keys a request; through Horizon's /accounts, one
    request per account, when RPC is not configured or fails."""
    wanted = None if asset is None or asset.is_native else (asset.code, asset.issuer)
    tag = "native" if wanted is None else ":".join(wanted)
    keys = {f"preflight:account:{tag}:{address}": address for address in addresses}
    found = {keys[k]: v for k, v in cache.get_many(list(keys)).items()}
    missing = [address for address in addresses if address not in found]
    if missing:
        fresh = _read_from_rpc(missing, wanted)
        if fresh is None:
            fresh = _read_from_horizon(missing)
        if fresh is None:
            return None
        for ttl, present in ((ACCOUNT_TTL, True), (MISSING_TTL, False)):
            cache.set_many(
                {
                    f"preflight:account:{tag}:{a}": v
                    for a, v in fresh.items()
                    if _is_ready(v, wanted) is present
                },
                timeout=ttl,
            )
        found.update(fresh)
    return {address: _destination(stored) for address, stored in found.items()}


def _is_ready(stored: dict, wanted: tuple[str, str] | None) -> bool:
    """Found with what a payment needs (kept ten minutes), or missing
    something a receiver may fix (kept a minute)."""
    if not stored["exists"]:
        return False
    return wanted is None or any(
        (code, issuer) == wanted for code, issuer, *_ in stored["lines"]
    )


def _read_from_rpc(
    addresses: list[str], wanted: tuple[str, str] | None
) -> dict[str, dict] | None:
    if not ledger_reads.configured():
        return None
    try:
        return ledger_reads.read_destinations(addresses, wanted)
    except ledger_reads.LedgerReadFailed as exc:
        logger.warning("pre-flight: RPC getLedgerEntries failed (%s); Horizon", exc)
        return None


def _read_from_horizon(addresses: list[str]) -> dict[str, dict] | None:
    try:
        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            bodies = list(pool.map(horizon.account, addresses))
    except (HorizonError, OSError):
        return None
    return {
        address: _destination_json(body)
        for address, body in zip(addresses, bodies, strict=True)
    }


def network_figures() -> dict | None:
    """Fee statistics and the ledger's capacity and pace, cached a few seconds."""
    figures = cache.get("preflight:network")
    if figures is not None:
        return figures
    try:
        fees = horizon.get("/fee_stats")
        ledgers = horizon.get("/ledgers", order="desc", limit=2)["_embedded"]["records"]
    except (HorizonError, OSError, KeyError):
        return None
    close_seconds = 5.0
    if len(ledgers) == 2:
        first, second = (
            timezone.datetime.fromisoformat(r["closed_at"].replace("Z", "+00:00"))
            for r in ledgers
        )
        close_seconds = max(0.1, (first - second).total_seconds()) or 5.0
    figures = {
        "base_fee": int(fees["last_ledger_base_fee"]),
        "fee_p50": int(fees["fee_charged"]["p50"]),
        "fee_p90": int(fees["fee_charged"]["p90"]),
        "capacity_usage": float(fees.get("ledger_capacity_usage") or 0),
        "max_operations": int(ledgers[0].get("max_tx_set_size") or 1000)
        if ledgers
        else 1000,
        "close_seconds": close_seconds,
    }
    cache.set("preflight:network", figures, timeout=NETWORK_TTL)
    return figures


def _version(disbursement: Disbursement, balance: Decimal | None) -> str:
    """What the answer depends on: the disbursement and its latest change, its
    payments and their receivers' wallets, the distribution balance, the
    controls of its asset and the tenant's."""
    figures = Payment.objects.filter(disbursement=disbursement).aggregate(
        count=Count("pk"),
        updated=Max("updated_at"),
        wallets_updated=Max("receiver_wallet__updated_at"),
        total=Sum("amount"),
    )
    payments = (
        figures["count"],
        figures["updated"],
        figures["wallets_updated"],
        figures["total"],
    )
    controls_row = (
        Asset.objects.filter(pk=disbursement.asset_id)
        .values_list("controls__updated_at", flat=True)
        .first()
    )
    tenant_row = (
        TenantControls.objects.filter(organization_id=disbursement.organization_id)
        .values_list("updated_at", flat=True)
        .first()
    )
    parts = [
        disbursement.pk,
        disbursement.status,
        disbursement.updated_at,
        *payments,
        balance,
        controls_row,
        tenant_row,
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def preflight(disbursement: Disbursement) -> dict[str, Any]:
    disbursement = Disbursement.objects.select_related(
        "organization", "asset", "wallet"
    ).get(pk=disbursement.pk)
    if disbursement.status not in (
        Disbursement.Status.DRAFT,
        Disbursement.Status.READY,
    ):
        raise APIError(
            "pre-flight is for DRAFT or READY disbursements "
            f"(status {disbursement.status})"
        )
    asset = disbursement.asset
    try:
        reading = read_balances(disbursement.organization)
    except (HorizonError, OSError, APIError):
        reading = None
    balance = reading.balances.get((asset.code, asset.issuer)) if reading else None
    key = f"preflight:{_version(disbursement, balance)}"
    if (answer := cache.get(key)) is not None:
        return {**answer, "cached": True}
    answer = _compute(disbursement, reading)
    cache.set(key, answer, timeout=ANSWER_TTL)
    return {**answer, "cached": False}


def _rows(disbursement: Disbursement) -> list[tuple]:
    return list(
        Payment.objects.filter(disbursement=disbursement)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "amount",
            "receiver_id",
            "receiver__external_id",
            "receiver__phone_number",
            "receiver__email",
            "receiver_wallet__status",
            "receiver_wallet__stellar_address",
            "receiver_wallet__invitation_sent_at",
        )
    )


def _classify(
    disbursement: Disbursement,
    rows: list[tuple],
    network: dict[str, Destination] | None,
    over_limit: set,
) -> tuple[dict[str, Any], list[dict], Counter, Counter, list[tuple]]:
    asset, wallet = disbursement.asset, disbursement.wallet
    wallet_problem = None
    if not wallet.enabled or wallet.deleted_at:
        wallet_problem = "wallet_disabled"
    elif not wallet.user_managed and not wallet.assets.filter(pk=asset.pk).exists():
        wallet_problem = "asset_not_supported"
    totals = {
        outcome: {"count": 0, "amount": Decimal("0")}
        for outcome in ("ready", "waiting", "failing")
    }
    failures: list[dict] = []
    failing, waiting = Counter(), Counter()
    to_invite: list[tuple] = []
    for row in rows:
        (pid, amount, receiver_id, external_id, phone, email) = row[:6]
        rw_status, address, invited_at = row[6:]
        reason = wallet_problem
        outcome = "failing"
        if reason is None and receiver_id in over_limit:
            reason = "over_receiver_limit"
        if reason is None:
            if rw_status == ReceiverWallet.Status.FLAGGED:
                reason = "receiver_wallet_flagged"
            elif rw_status != ReceiverWallet.Status.REGISTERED or not address:
                outcome = "waiting"
                reason = "invitation_sent" if invited_at else "invitation_needed"
                if not invited_at:
                    to_invite.append((phone, email))
            elif address.startswith("C"):
                # A contract account takes the asset through its Stellar Asset
                # Contract (tss.contract): no account or trustline to read.
                outcome = "ready"
            else:
                reason = _network_reason(network, address, asset, amount)
                if reason is None:
                    outcome = "ready"
        totals[outcome]["count"] += 1
        totals[outcome]["amount"] += amount
        if outcome == "waiting":
            waiting[reason] += 1
        elif outcome == "failing":
            failing[reason] += 1
            if len(failures) < MAX_FAILURES_LISTED:
                failures.append(
                    {
                        "payment_id": str(pid),
                        "receiver_id": str(receiver_id),
                        "receiver_external_id": external_id,
                        "stellar_address": address or "",
                        "amount": f"{amount:.7f}",
                        "reason": reason,
                        "message": REASONS[reason],
                    }
                )
    return totals, failures, failing, waiting, to_invite


def _network_reason(
    network: dict[str, Destination] | None, address: str, asset: Asset, amount
) -> str | None:
    if network is None:
        return "network_unavailable"
    destination = network.get(base_account(address))  # an M... pays its G
    if destination is None or not destination.exists:
        return "no_account"
    if asset.is_native:
        return None
    line = destination.lines.get((asset.code, asset.issuer))
    if line is None:
        return "no_trustline"
    balance, limit, authorized = line
    if not authorized:
        return "trustline_not_authorized"
    if balance + amount > limit:
        return "over_trustline_limit"
    return None


def _messages(disbursement: Disbursement, to_invite: list[tuple]) -> dict[str, Any]:
    organization = disbursement.organization
    by_channel: dict[str, dict[str, Any]] = {}
    if not organization.receiver_invitations_disabled and not (
        disbursement.wallet.user_managed
    ):
        sample = render_receiver_invitation(
            disbursement.receiver_registration_message_template
            or organization.receiver_registration_message_template,
            organization_name=organization.display_name,
            registration_link=(organization.base_url or "https://example.org")
            + "/r/0123456789",
        )
        segments = sms_segments(sample)
        for phone, email in to_invite:
            contacts = {
                Message.Channel.SMS: phone,
                Message.Channel.WHATSAPP: phone,
                Message.Channel.EMAIL: email,
            }
            channel = next(
                (c for c in organization.message_channel_priority if contacts.get(c)),
                None,
            )
            if channel is None:
                continue
            entry = by_channel.setdefault(
                channel, {"count": 0, "units": 0, "estimated_cost": Decimal("0")}
            )
            units = segments if channel == Message.Channel.SMS else 1
            entry["count"] += 1
            entry["units"] += units
            entry["estimated_cost"] += PRICE_PER_UNIT[channel] * units
    total = sum((e["estimated_cost"] for e in by_channel.values()), Decimal("0"))
    return {
        "count": sum(e["count"] for e in by_channel.values()),
        "by_channel": {
            channel: {**e, "estimated_cost": f"{e['estimated_cost']:.4f}"}
            for channel, e in sorted(by_channel.items())
        },
        "estimated_cost": f"{total:.4f}",
        "currency": "USD",
    }


def _forecast(ready: int, payable: int, figures: dict | None) -> dict[str, Any]:
    if figures is None:
        return {"network": "unavailable"}
    # One payment operation per payment; fees are charged per operation.
    free = max(1, int(figures["max_operations"] * (1 - figures["capacity_usage"])))
    ledgers = math.ceil(ready / free) if ready else 0
    return {
        "network_fees": {
            "operations": payable,
            "fee_per_operation_stroops": figures["fee_p50"],
            "base_fee_stroops": figures["base_fee"],
            "total_xlm": f"{Decimal(payable * figures['fee_p50']) * STROOPS:.7f}",
            "high_xlm": f"{Decimal(payable * figures['fee_p90']) * STROOPS:.7f}",
        },
        "operations_per_ledger": free,
        "ledger_close_seconds": figures["close_seconds"],
        "ledgers_to_pay": ledgers,
        "seconds_to_pay": round(ledgers * figures["close_seconds"], 1),
    }


def _compute(disbursement: Disbursement, reading) -> dict[str, Any]:
    organization, asset = disbursement.organization, disbursement.asset
    rows = _rows(disbursement)
    limits = limits_for(asset)
    over_limit = {row[0] for row in controls.receivers_over_limit(disbursement, limits)}
    addresses = sorted(
        {
            base_account(row[7])
            for row in rows
            if row[6] == ReceiverWallet.Status.REGISTERED
            and row[7]
            and not row[7].startswith("C")
        }
    )
    network = destinations(addresses, asset) if addresses else {}
    totals, failures, failing, waiting, to_invite = _classify(
        disbursement, rows, network, over_limit
    )
    needed = sum((row[1] for row in rows), Decimal("0"))
    checks = controls.disbursement_problems(disbursement, limits, needed)
    balance: dict[str, Any] = {"asset": asset.code, "needed": f"{needed:.7f}"}
    if reading is None:
        balance["network"] = "unavailable"
    elif (asset.code, asset.issuer) not in reading.balances:
        balance.update(sufficient=False, problem="no trustline for the asset")
    else:
        held = reading.balances[(asset.code, asset.issuer)]
        in_flight = amount_in_flight(organization, asset, reading=reading)
        available = held - in_flight
        balance.update(
            balance=f"{held:.7f}",
            in_flight=f"{in_flight:.7f}",
            available=f"{available:.7f}",
            sufficient=available >= needed,
            missing=f"{max(Decimal('0'), needed - available):.7f}",
        )
    required, threshold = limits.approvals_required(needed)
    return {
        "disbursement_id": str(disbursement.pk),
        "status": disbursement.status,
        "checked_at": timezone.now().isoformat(),
        "payments": {
            "total": len(rows),
            **{
                outcome: {"count": v["count"], "amount": f"{v['amount']:.7f}"}
                for outcome, v in totals.items()
            },
        },
        "reasons": {
            "waiting": _reason_counts(waiting),
            "failing": _reason_counts(failing),
        },
        "failures": failures,
        "failures_truncated": sum(failing.values()) > len(failures),
        "balance": balance,
        "limits": checks,
        "approvals": {
            "required": required,
            "tier_above": None if threshold is None else f"{threshold:.7f}",
        },
        "forecast": {
            **_forecast(
                totals["ready"]["count"],
                totals["ready"]["count"] + totals["waiting"]["count"],
                network_figures(),
            ),
            "messages": _messages(disbursement, to_invite),
        },
        "duplicates": find_duplicates(disbursement),
    }


def _reason_counts(counter: Counter) -> list[dict]:
    return [
        {"reason": reason, "count": count, "message": REASONS[reason]}
        for reason, count in counter.most_common()
    ]
