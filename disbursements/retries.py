"""Retries that wake up: a payment that failed because of something its receiver
controls (no account, no trustline, not authorized, a trustline too small)
waits as FAILED with a typed ``failure_reason``; ``watch_failed_destinations``
(beat) asks the network about each such destination once per run, concurrently,
and the payments whose destination is now fixed go back to READY and to the TSS,
once (a conditional FAILED -> READY move), with a line in their history.

Staff can also retry every FAILED payment of a disbursement with a given reason
in one call (``retry_failed_of_disbursement``).

The TSS knows tenants only by id and must not import us: the watcher lives here
and uses the TSS's Horizon client; the network is asked outside any
transaction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from auth_org.models import User
from core.api import APIError
from core.fsm import transition_many
from disbursements.handoff import hand_off_payments
from disbursements.models import Disbursement, Payment
from tss import horizon
from tss.errors import HorizonError

# The TSS's result codes (tss.results.RECEIVER_CODES) as our typed reasons.
CODE_REASONS = {
    "op_no_destination": "no_account",
    "op_no_trust": "no_trustline",
    "op_not_authorized": "not_authorized",
    "op_line_full": "line_full",
}
# In plain words, for the API's status_message, the dashboard and the admin.
REASON_TEXT = {
    "no_account": "the receiver's Stellar account does not exist (or was merged)",
    "no_trustline": "the receiver's account does not trust the asset",
    "not_authorized": "the asset's issuer has not authorized the receiver",
    "line_full": "the receiver's trustline limit is too low for the amount",
}
WAITING_NOTE = "; it is retried by itself when the receiver fixes it"
# A payment waits this long for its receiver; then only staff retry it.
WATCH_DAYS = 30
LOOKUP_THREADS = 16
CODES_RE = re.compile(r"\(([a-z_, ]+)\)\s*$")


def reason_of(message: str) -> str:
    """The typed reason of a TSS failure message (its codes in parentheses at
    the end), or "" when the receiver cannot fix it."""
    match = CODES_RE.search(message or "")
    if not match:
        return ""
    for code in (c.strip() for c in match.group(1).split(",")):
        if code in CODE_REASONS:
            return CODE_REASONS[code]
    return ""


def fixed(reason: str, account: dict | None, code: str, issuer: str, amount) -> bool:
    """Whether the network now shows the receiver's side as fixed."""
    if account is None:
        return False
    if not issuer:  # XLM: an account is all it takes
        return True
    for line in account.get("balances", []):
        if line.get("asset_code") == code and line.get("asset_issuer") == issuer:
            if not line.get("is_authorized", True):
                return False
            room = Decimal(line.get("limit", "0")) - Decimal(line.get("balance", "0"))
            return room >= amount
    return False


def waiting_payments():
    since = timezone.now() - timedelta(days=WATCH_DAYS)
    return (
        Payment.objects.filter(status=Payment.Status.FAILED, updated_at__gte=since)
        .exclude(failure_reason="")
        .exclude(disbursement__status=Disbursement.Status.PAUSED)
    )


def watch_failed_destinations() -> int:
    """One pass of the watcher; returns how many payments went back to the TSS."""
    rows = list(
        waiting_payments().values_list(
            "pk",
            "failure_reason",
            "amount",
            "asset__code",
            "asset__issuer",
            "receiver_wallet__stellar_address",
        )
    )
    by_destination = defaultdict(list)
    for row in rows:
        if row[5]:
            by_destination[row[5]].append(row)
    if not by_destination:
        return 0
    destinations = sorted(by_destination)
    try:
        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            accounts = dict(
                zip(
                    destinations,
                    pool.map(horizon.account, destinations),
                    strict=True,
                )
            )
    except (HorizonError, OSError):
        return 0  # the next pass asks again
    ready = defaultdict(list)
    for destination, payments in by_destination.items():
        for pk, reason, amount, code, issuer, _ in payments:
            if fixed(reason, accounts[destination], code, issuer, amount):
                ready[reason].append(pk)
    return sum(
        _retry(
            Payment.objects.filter(pk__in=pks),
            note=(
                f"retried by itself: the network shows the receiver fixed it "
                f"(was: {REASON_TEXT[reason]})"
            ),
            actor=None,
        )
        for reason, pks in ready.items()
    )


def _retry(payments, *, note: str, actor: User | None) -> int:
    """FAILED -> READY (only rows still FAILED: a retry that raced another moves
    nothing twice), then the hand-off, in one transaction."""
    with transaction.atomic():
        moved = transition_many(
            payments,
            from_status=Payment.Status.FAILED,
            to=Payment.Status.READY,
            note=note,
            updates={"failure_reason": "", "stellar_transaction_id": ""},
            actor=actor,
        )
        if moved:
            hand_off_payments(Payment.objects.filter(pk__in=moved))
    return len(moved)


def retry_failed_of_disbursement(
    disbursement: Disbursement, *, reason: str | None, actor: User | None
) -> int:
    """Staff: every FAILED payment of the disbursement (with ``reason``, when
    given: one of REASON_TEXT, or "other" for those the receiver cannot fix)."""
    if reason is not None and reason not in (*REASON_TEXT, "other"):
        raise APIError(
            extras={"reason": f"one of {', '.join([*REASON_TEXT, 'other'])}"}
        )
    if disbursement.status != Disbursement.Status.STARTED:
        raise APIError(
            f"only a STARTED disbursement's payments can be retried "
            f"(status {disbursement.status})"
        )
    payments = Payment.objects.filter(
        disbursement=disbursement, status=Payment.Status.FAILED
    )
    if reason == "other":
        payments = payments.filter(failure_reason="")
    elif reason is not None:
        payments = payments.filter(failure_reason=reason)
    who = actor.email if actor else "an operator"
    what = f" ({reason})" if reason else ""
    return _retry(
        payments,
        note=f"User {who} retried the disbursement's failed payments{what}",
        actor=actor,
    )
