"""The Circle rail's entry points: a tenant's Circle account, and paying
payments through Circle, once.

Paying is two rounds, each leasing rows with SKIP LOCKED, calling Circle outside
any database transaction, then recording the answer in one transaction:

- ``send_round``: requests without a Circle id are (re)sent with their stored
  idempotency key. The key is derived from the payment and the attempt number
  and written in the hand-off's transaction, before any call; so a worker that
  dies after Circle accepted, or a 5xx or a timeout after Circle accepted, is
  followed by the same request with the same key, and Circle answers with the
  transfer it already made: never a second payment.
- ``sync_round``: requests Circle knows are polled until Circle reports them
  complete (with the Stellar transaction hash) or failed (SDP's reconciliation
  job).

Final requests are announced with ``signals.transfers_finished`` inside the
transaction that made them final.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from circle import crashpoints, signals
from circle.client import ASSETS, CURRENCIES, CircleClient, CircleError, Transfer
from circle.models import (
    IDEMPOTENCY_NAMESPACE,
    CircleAccount,
    TransferRequest,
    idempotency_key,
)
from core.fsm import InvalidTransition, transition
from tss import crypto

logger = logging.getLogger(__name__)
ROUND_SIZE = 20
MAX_BACKOFF_SECONDS = 60
SLOW_POLL_AFTER = 20  # polls of one transfer before they slow to one a minute


class CircleNotConfigured(Exception):
    """The tenant has no Circle wallet and API key."""


class CircleConfigurationRejected(Exception):
    """Circle refused the wallet id or the API key (the message says which)."""


# ---- a tenant's Circle account --------------------------------------------------


def _passphrase() -> str:
    return settings.DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE


def _seal(tenant_id, api_key: str) -> str:
    return crypto.encrypt(
        api_key, passphrase=_passphrase(), associated_data=f"circle:{tenant_id}"
    )


def _open(account: CircleAccount) -> str:
    return crypto.decrypt(
        account.encrypted_api_key,
        passphrase=_passphrase(),
        associated_data=f"circle:{account.tenant_id}",
    )


def account(tenant_id) -> CircleAccount | None:
    return CircleAccount.objects.filter(pk=tenant_id).first()


def client_for(tenant_id) -> tuple[CircleClient, str]:
    """The tenant's client and wallet id; raises CircleNotConfigured."""
    found = account(tenant_id)
    if found is None:
        raise CircleNotConfigured("Circle is not configured for this organization")
    return CircleClient(_open(found)), found.wallet_id


def configure(tenant_id, *, wallet_id: str = "", api_key: str = "") -> CircleAccount:
    """Check the wallet and key with Circle (GET /v1/wallets/{id}), then store
    them, the key encrypted. Either may be left out to keep the stored one.
    Network I/O: never inside a database transaction. Raises
    CircleConfigurationRejected (nothing stored) or CircleError (transient)."""
    current = account(tenant_id)
    wallet_id = wallet_id or (current.wallet_id if current else "")
    api_key = api_key or (_open(current) if current else "")
    if not wallet_id or not api_key:
        raise CircleConfigurationRejected(
            "wallet_id and api_key are both required the first time"
        )
    try:
        CircleClient(api_key).wallet(wallet_id)
    except CircleError as exc:
        if exc.transient:
            raise
        reason = (
            "Circle rejected the API key"
            if exc.unauthorized
            else f"Circle does not know wallet {wallet_id} for this API key"
            if exc.status == 404
            else str(exc)
        )
        raise CircleConfigurationRejected(reason) from exc
    stored, _ = CircleAccount.objects.update_or_create(
        tenant_id=tenant_id,
        defaults={
            "wallet_id": wallet_id,
            "encrypted_api_key": _seal(tenant_id, api_key),
        },
    )
    return stored


@dataclass(frozen=True)
class Balance:
    asset_code: str
    amount: Decimal


def balances(tenant_id) -> list[Balance]:
    """The Circle wallet's balances in the assets the rail pays (network I/O).
    Raises CircleNotConfigured or CircleError."""
    client, wallet_id = client_for(tenant_id)
    wallet = client.wallet(wallet_id)
    return [
        Balance(ASSETS[item["currency"]], Decimal(str(item["amount"])))
        for item in wallet.get("balances") or []
        if item.get("currency") in ASSETS
    ]


def amount_in_flight(tenant_id, asset_code: str) -> Decimal:
    """What is handed to the rail and not yet debited by Circle: requests not yet
    accepted by Circle (Circle debits the wallet when it accepts one)."""
    total = TransferRequest.objects.filter(
        tenant_id=tenant_id,
        asset_code=asset_code,
        status=TransferRequest.Status.PENDING,
        circle_id="",
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0")


# ---- paying ---------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentOrder:
    """What the rail needs to pay: no knowledge of disbursements or receivers."""

    tenant_id: uuid.UUID
    external_id: str
    destination: str
    asset_code: str
    asset_issuer: str
    amount: Decimal
    memo: str = ""


def refusal(order: PaymentOrder) -> str:
    """Why Circle cannot take this order ("" when it can)."""
    if order.asset_code not in CURRENCIES:
        return f"Circle pays USDC and EURC only, not {order.asset_code}"
    if order.amount != order.amount.quantize(Decimal("0.000001")):
        return "Circle takes amounts with at most 6 decimals"
    if order.destination.startswith("C"):
        return "Circle cannot pay a contract address"
    if order.destination.startswith("M"):
        return "Circle cannot pay a muxed address (M...); give the account and a memo"
    return ""


def queue_transfers(orders: list[PaymentOrder]) -> list[TransferRequest]:
    """One PENDING request per order, in the caller's transaction (the rail is
    woken when it commits). Each gets the next attempt number of its payment
    and the idempotency key derived from both. The partial unique index makes a
    second live request for one payment impossible (IntegrityError)."""
    if not orders:
        return []
    from circle import tasks

    wallets = dict(
        CircleAccount.objects.filter(
            pk__in={order.tenant_id for order in orders}
        ).values_list("tenant_id", "wallet_id")
    )
    previous: dict[str, int] = {}
    for external_id, attempt in TransferRequest.objects.filter(
        external_id__in=[order.external_id for order in orders]
    ).values_list("external_id", "attempt"):
        previous[external_id] = max(previous.get(external_id, 0), attempt)
    kind = (
        TransferRequest.Kind.PAYOUT
        if settings.CIRCLE_API_TYPE == "PAYOUTS"
        else TransferRequest.Kind.TRANSFER
    )
    rows = []
    for order in orders:
        attempt = previous.get(order.external_id, 0) + 1
        reason = refusal(order) or (
            "" if order.tenant_id in wallets else "Circle is not configured"
        )
        rows.append(
            TransferRequest(
                idempotency_key=idempotency_key(order.external_id, attempt),
                tenant_id=order.tenant_id,
                external_id=order.external_id,
                attempt=attempt,
                kind=kind,
                wallet_id=wallets.get(order.tenant_id, ""),
                destination=order.destination,
                memo=order.memo,
                asset_code=order.asset_code,
                asset_issuer=order.asset_issuer,
                amount=order.amount,
                status_message=reason,
            )
        )
    created = TransferRequest.objects.bulk_create(rows, batch_size=2000)
    refused = [row for row in created if row.status_message]
    if refused:
        _finish([(row, TransferRequest.Status.FAILED, {}) for row in refused])
    transaction.on_commit(tasks.dispatch.delay)
    return created


def _lease_seconds() -> float:
    return settings.CIRCLE_REQUEST_TIMEOUT_SECONDS * 2 + 5


def _lease(query: Q, limit: int) -> list[TransferRequest]:
    now = timezone.now()
    stale = now - timedelta(seconds=_lease_seconds())
    with transaction.atomic():
        rows = list(
            TransferRequest.objects.filter(query, status=TransferRequest.Status.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(locked_at__isnull=True) | Q(locked_at__lt=stale))
            .select_for_update(skip_locked=True)
            .order_by("created_at")[:limit]
        )
        if rows:
            TransferRequest.objects.filter(pk__in=[r.pk for r in rows]).update(
                locked_at=now
            )
    return rows


def _backoff(attempts: int, error: CircleError) -> datetime:
    seconds = error.retry_after or min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 6))
    return timezone.now() + timedelta(seconds=seconds)


def _recipient_key(row: TransferRequest) -> str:
    return str(
        uuid.uuid5(
            IDEMPOTENCY_NAMESPACE,
            f"recipient/{row.tenant_id}/{row.destination}/{row.memo}",
        )
    )


def _send(client: CircleClient, row: TransferRequest) -> Transfer | None:
    """The create request (and, for payouts, the address-book recipient first);
    None while a payout's recipient is not active yet."""
    currency = CURRENCIES[row.asset_code]
    key = str(row.idempotency_key)
    if row.kind == TransferRequest.Kind.TRANSFER:
        return client.create_transfer(
            idempotency_key=key,
            wallet_id=row.wallet_id,
            address=row.destination,
            memo=row.memo,
            amount=row.amount,
            currency=currency,
        )
    recipient = client.create_recipient(
        idempotency_key=_recipient_key(row),
        address=row.destination,
        memo=row.memo,
        nickname=row.destination[:8],
    )
    status = recipient.get("status")
    row.circle_recipient_id = str(recipient.get("id") or "")
    if status in ("denied", "inactive", "failed"):
        raise CircleError(
            f"Circle's address book refused the recipient ({status})", status=400
        )
    if status != "active":
        return None
    return client.create_payout(
        idempotency_key=key,
        wallet_id=row.wallet_id,
        recipient_id=row.circle_recipient_id,
        amount=row.amount,
        currency=currency,
    )


def _clients(rows: list[TransferRequest]) -> dict:
    clients: dict = {}
    for row in rows:
        if row.tenant_id not in clients:
            try:
                clients[row.tenant_id] = client_for(row.tenant_id)[0]
            except CircleNotConfigured:
                clients[row.tenant_id] = None
    return clients


def send_round(limit: int = ROUND_SIZE) -> int:
    """Send the due requests Circle has not accepted yet; returns how many."""
    rows = _lease(Q(circle_id=""), limit)
    if not rows:
        return 0
    crashpoints.reached("after_lease")
    clients = _clients(rows)
    finished: list[tuple[TransferRequest, str, dict]] = []
    for row in rows:
        client = clients[row.tenant_id]
        updates: dict = {"locked_at": None, "send_attempts": row.send_attempts + 1}
        try:
            if client is None:
                raise CircleError("Circle is not configured", status=400)
            answer = _send(client, row)
        except CircleError as exc:
            logger.warning("Circle request %s: %s", row.pk, exc)
            if exc.transient and exc.status != 429:
                updates["maybe_accepted"] = True
            if (
                exc.transient
                or exc.unauthorized
                or exc.status == 409
                or row.maybe_accepted
            ):
                # Try again later with the same key: Circle may have made it
                # (5xx, timeout), the tenant may fix its key (401); a refusal
                # after an unanswered send is left to an operator.
                note = (
                    " (an earlier send went unanswered: check this idempotency "
                    "key in Circle before failing the payment)"
                    if row.maybe_accepted and not exc.transient
                    else ""
                )
                updates.update(
                    status_message=f"{exc}{note}",
                    next_attempt_at=_backoff(row.send_attempts, exc),
                )
            else:
                finished.append(
                    (
                        row,
                        TransferRequest.Status.FAILED,
                        {
                            "status_message": f"Circle refused the payment: {exc}",
                            **updates,
                        },
                    )
                )
                continue
        else:
            crashpoints.reached("after_request")
            if answer is None:  # a payout's recipient is still pending at Circle
                updates.update(
                    circle_recipient_id=row.circle_recipient_id,
                    next_attempt_at=timezone.now() + timedelta(seconds=2),
                )
            else:
                updates.update(
                    circle_id=answer.id,
                    circle_recipient_id=row.circle_recipient_id,
                    circle_status=answer.status,
                    response_body=answer.body,
                    sent_at=timezone.now(),
                    status_message="",
                    next_attempt_at=timezone.now()
                    + timedelta(seconds=settings.CIRCLE_POLL_SECONDS),
                )
                final = _final(answer)
                if final:
                    finished.append((row, final[0], {**updates, **final[1]}))
                    continue
        TransferRequest.objects.filter(pk=row.pk).update(**updates)
    if finished:
        with transaction.atomic():
            _finish(finished)
    crashpoints.reached("after_store")
    return len(rows)


def _final(answer: Transfer) -> tuple[str, dict] | None:
    if answer.status == "complete":
        return TransferRequest.Status.SUCCESS, {
            "stellar_transaction_hash": answer.transaction_hash,
            "status_message": "",
        }
    if answer.status == "failed":
        return TransferRequest.Status.FAILED, {
            "stellar_transaction_hash": answer.transaction_hash,
            "status_message": failure_reason(answer.error_code),
        }
    return None


FAILURE_REASONS = {
    "insufficient_funds": "the Circle wallet does not hold enough funds",
    "transfer_denied": "Circle denied the transfer",
    "blockchain_error": "the Stellar network refused the payment (does the "
    "receiver's account exist and trust the asset?)",
    "transfer_failed": "Circle could not complete the transfer",
}


def failure_reason(error_code: str) -> str:
    reason = FAILURE_REASONS.get(error_code, "Circle reported the transfer failed")
    return f"Circle: {reason}" + (f" ({error_code})" if error_code else "")


def _poll_interval(sync_attempts: int) -> timedelta:
    """CIRCLE_POLL_SECONDS for the first polls; a transfer Circle keeps pending
    longer is asked about once a minute."""
    if sync_attempts < SLOW_POLL_AFTER:
        return timedelta(seconds=settings.CIRCLE_POLL_SECONDS)
    return timedelta(seconds=max(settings.CIRCLE_POLL_SECONDS, MAX_BACKOFF_SECONDS))


def sync_round(limit: int = ROUND_SIZE) -> int:
    """Poll Circle for the due requests it has accepted; returns how many."""
    rows = _lease(~Q(circle_id=""), limit)
    if not rows:
        return 0
    clients = _clients(rows)
    finished: list[tuple[TransferRequest, str, dict]] = []
    for row in rows:
        client = clients[row.tenant_id]
        updates: dict = {
            "locked_at": None,
            "sync_attempts": row.sync_attempts + 1,
            "next_attempt_at": timezone.now() + _poll_interval(row.sync_attempts),
        }
        try:
            if client is None:
                raise CircleError("Circle is not configured", status=400)
            answer = (
                client.transfer(row.circle_id)
                if row.kind == TransferRequest.Kind.TRANSFER
                else client.payout(row.circle_id)
            )
        except CircleError as exc:
            # Circle made it; only Circle can say how it ended: keep asking.
            updates.update(
                status_message=str(exc),
                next_attempt_at=_backoff(row.sync_attempts, exc),
            )
            TransferRequest.objects.filter(pk=row.pk).update(**updates)
            continue
        crashpoints.reached("during_sync")
        updates.update(circle_status=answer.status, response_body=answer.body)
        final = _final(answer)
        if final:
            finished.append((row, final[0], {**updates, **final[1]}))
        else:
            TransferRequest.objects.filter(pk=row.pk).update(**updates)
    if finished:
        with transaction.atomic():
            _finish(finished)
    return len(rows)


def _finish(rows: list[tuple[TransferRequest, str, dict]]) -> None:
    """Make these requests final and announce them (caller's transaction)."""
    done = []
    for row, status, updates in rows:
        updates = {**updates, "completed_at": timezone.now(), "locked_at": None}
        message = updates.get("status_message", row.status_message)
        try:
            transition(row, to=status, note=message, updates=updates)
        except InvalidTransition:
            continue  # finished by another worker meanwhile
        done.append(row)
    if done:
        signals.transfers_finished.send(sender=TransferRequest, transfer_requests=done)


def live_count() -> int:
    return TransferRequest.objects.filter(status=TransferRequest.Status.PENDING).count()


def fail_not_made(pks, *, operator: str) -> int:
    """An operator checked Circle: no transfer was made for these PENDING
    requests that Circle has not answered with an id; fail them (their payments
    become FAILED and may be retried, with a new key)."""
    with transaction.atomic():
        rows = list(
            TransferRequest.objects.filter(
                pk__in=pks, status=TransferRequest.Status.PENDING, circle_id=""
            ).select_for_update()
        )
        note = f"{operator} checked Circle: no transfer was made for this request"
        _finish(
            [
                (row, TransferRequest.Status.FAILED, {"status_message": note})
                for row in rows
            ]
        )
    return len(rows)
