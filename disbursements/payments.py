"""Payment use cases: cancel, retry, direct payments, the READY auto-cancel job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from auth_org import catalog
from auth_org.models import Asset, Organization, User, Wallet
from core.api import APIError, NotFound
from core.fsm import transition, transition_many
from core.validators import parse_amount, validate_wallet_address
from disbursements import controls
from disbursements.events import emit_payments
from disbursements.handoff import hand_off_payments
from disbursements.listeners import payments_became_final
from disbursements.models import Payment, PaymentStatusChange
from disbursements.services import check_balance, read_balances
from receivers.invitations import queue_invitations
from receivers.models import Receiver, ReceiverWallet


def cancel_payment(payment: Payment, *, actor: User | None) -> None:
    """READY -> CANCELED (the only cancel the dashboard offers), and a direct
    payment held in DRAFT for approvals; the last open payment of a STARTED
    disbursement completes it."""
    held = (
        payment.status == Payment.Status.DRAFT and payment.type == Payment.Type.DIRECT
    )
    if payment.status != Payment.Status.READY and not held:
        raise APIError(f"only READY payments can be canceled (status {payment.status})")
    with transaction.atomic():
        transition(payment, to=Payment.Status.CANCELED, note="canceled", actor=actor)
        payments_became_final([payment.pk])


def retry_payments(
    organization: Organization, payment_ids: list, *, actor: User | None
) -> int:
    """FAILED -> READY, the old transaction hash kept in the history, then the
    payments of registered wallets go straight back to the TSS."""
    ids = []
    for value in payment_ids:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            raise APIError(
                extras={"payment_ids": f"invalid id {value!s:.64}"}
            ) from None
    if not ids:
        raise APIError(extras={"payment_ids": "at least one payment id is required"})
    with transaction.atomic():
        payments = list(
            Payment.objects.filter(organization=organization, pk__in=ids)
            .select_for_update()
            .order_by("pk")
        )
        if len(payments) != len(set(ids)):
            raise NotFound("payment not found")
        not_failed = [str(p.pk) for p in payments if p.status != Payment.Status.FAILED]
        if not_failed:
            raise APIError(
                "only FAILED payments can be retried",
                extras={"payment_ids": "not FAILED: " + ", ".join(not_failed)},
            )
        who = actor.email if actor else "an operator"
        for payment in payments:
            transition(
                payment,
                to=Payment.Status.READY,
                note=(
                    f"User {who} has requested to retry the payment - Previous "
                    f"Stellar Transaction ID: {payment.stellar_transaction_id or '-'}"
                ),
                updates={"stellar_transaction_id": "", "failure_reason": ""},
                actor=actor,
            )
        emit_payments("payment.retried", [p.pk for p in payments])
        hand_off_payments(Payment.objects.filter(pk__in=[p.pk for p in payments]))
    return len(payments)


def cancel_expired_ready_payments(now=None) -> int:
    """READY payments whose last move to READY is older than their organization's
    ``payment_cancellation_period_days`` become CANCELED (SDP's job, every 5 min)."""
    now = now or timezone.now()
    canceled = 0
    organizations = Organization.objects.filter(
        payment_cancellation_period_days__gt=0, deleted_at__isnull=True
    )
    for organization in organizations:
        cutoff = now - timedelta(days=organization.payment_cancellation_period_days)
        last_ready = (
            PaymentStatusChange.objects.filter(
                payment=OuterRef("pk"), to_status=Payment.Status.READY
            )
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        expired = (
            Payment.objects.filter(
                organization=organization, status=Payment.Status.READY
            )
            .annotate(ready_since=Subquery(last_ready))
            .filter(
                Q(ready_since__lt=cutoff)
                | Q(ready_since__isnull=True, created_at__lt=cutoff)
            )
        )
        with transaction.atomic():
            moved = transition_many(
                Payment.objects.filter(
                    pk__in=list(expired.values_list("pk", flat=True))
                ),
                from_status=Payment.Status.READY,
                to=Payment.Status.CANCELED,
                note=(
                    "canceled automatically: READY for more than "
                    f"{organization.payment_cancellation_period_days} days"
                ),
            )
            payments_became_final(moved)
        canceled += len(moved)
    return canceled


# --- direct payments ---------------------------------------------------------


@dataclass
class DirectPaymentRequest:
    amount: str
    asset: dict
    receiver: dict
    wallet: dict | None = None
    external_payment_id: str = ""


def _resolve_asset(organization: Organization, spec: dict) -> Asset:
    if not isinstance(spec, dict):
        raise APIError(extras={"asset": "asset is required"})
    assets = catalog.assets_of(organization)
    if spec.get("id"):
        asset = assets.filter(pk=catalog._uuid_or_none(spec["id"])).first()
    else:
        kind = spec.get("type")
        if kind == "native":
            asset = assets.filter(code="XLM", issuer="").first()
        elif kind == "classic":
            asset = assets.filter(
                code=spec.get("code", ""), issuer=spec.get("issuer", "")
            ).first()
        elif kind in ("contract", "fiat"):
            raise APIError(extras={"asset.type": f"{kind} assets are not supported"})
        else:
            raise APIError(extras={"asset": "asset id or type is required"})
    if asset is None:
        raise NotFound("asset not found")
    return asset


def _resolve_receiver(organization: Organization, spec: dict) -> Receiver:
    if not isinstance(spec, dict):
        raise APIError(extras={"receiver": "receiver is required"})
    receivers = Receiver.objects.filter(organization=organization)
    given = [
        k for k in ("id", "email", "phone_number", "wallet_address") if spec.get(k)
    ]
    if len(given) != 1:
        raise APIError(
            extras={
                "receiver": "exactly one of id, email, phone_number or wallet_address"
            }
        )
    key, value = given[0], str(spec[given[0]]).strip()
    if key == "id":
        receiver = receivers.filter(pk=catalog._uuid_or_none(value)).first()
    elif key == "email":
        receiver = receivers.filter(email__iexact=value).first()
    elif key == "phone_number":
        receiver = receivers.filter(phone_number=value).first()
    else:
        receiver = receivers.filter(wallets__stellar_address=value.upper()).first()
    if receiver is None:
        raise NotFound("receiver not found")
    return receiver


def _resolve_wallet(
    organization: Organization, receiver: Receiver, spec: dict | None, asset: Asset
) -> tuple[Wallet, ReceiverWallet | None]:
    wallets = catalog.wallets_of(organization)
    receiver_wallets = ReceiverWallet.objects.filter(receiver=receiver)
    if spec and spec.get("id"):
        wallet = wallets.filter(pk=catalog._uuid_or_none(spec["id"])).first()
        if wallet is None:
            raise NotFound("wallet not found")
        return wallet, receiver_wallets.filter(wallet=wallet).first()
    if spec and spec.get("address"):
        receiver_wallet = (
            receiver_wallets.filter(stellar_address=str(spec["address"]).upper())
            .select_related("wallet")
            .first()
        )
        if receiver_wallet is None:
            raise NotFound("no wallet of this receiver has this address")
        return receiver_wallet.wallet, receiver_wallet
    # No wallet given: the receiver's registered wallet that takes this asset.
    receiver_wallet = (
        receiver_wallets.filter(status=ReceiverWallet.Status.REGISTERED)
        .filter(Q(wallet__user_managed=True) | Q(wallet__assets=asset))
        .select_related("wallet")
        .order_by("-updated_at")
        .first()
    )
    if receiver_wallet is None:
        raise APIError(
            extras={"wallet": "the receiver has no registered wallet for this asset"}
        )
    return receiver_wallet.wallet, receiver_wallet


def create_direct_payment(
    organization: Organization, request: DirectPaymentRequest, *, actor: User | None
) -> Payment:
    """A READY DIRECT payment, handed to the TSS at once when the receiver's wallet
    is registered. 404 for unknown references; 400 for a disabled wallet, an asset
    the wallet does not take, a wallet not ready; 409 for missing funds."""
    amount, error = parse_amount(str(request.amount).strip())
    if error:
        raise APIError(extras={"amount": error})
    if len(request.external_payment_id or "") > 64:
        raise APIError(extras={"external_payment_id": "at most 64 characters"})
    asset = _resolve_asset(organization, request.asset)
    receiver = _resolve_receiver(organization, request.receiver)
    wallet, receiver_wallet = _resolve_wallet(
        organization, receiver, request.wallet, asset
    )
    if not wallet.enabled:
        raise APIError("wallet is not enabled")
    if not wallet.user_managed and not wallet.assets.filter(pk=asset.pk).exists():
        raise APIError(f"asset {asset.code} is not supported by wallet {wallet.name}")

    def refuse(current: ReceiverWallet) -> None:
        if current.status not in (
            ReceiverWallet.Status.READY,
            ReceiverWallet.Status.REGISTERED,
        ):
            raise APIError(f"receiver wallet is not ready (status {current.status})")
        # An address that was valid when stored and is no more (rules change).
        if current.stellar_address and (
            error := validate_wallet_address(current.stellar_address)
        ):
            raise APIError(extras={"receiver_wallet.stellar_address": error})

    if receiver_wallet is not None:
        refuse(receiver_wallet)  # before the network read; again under the lock
    # Above a tier of 2 or more approvals it is created DRAFT and waits for
    # them (approve_direct_payment); the checks below run again then.
    required, threshold = controls.direct_payment_approvals(asset, amount)
    reading = read_balances(organization)  # network I/O, before the transaction
    with transaction.atomic():
        if receiver_wallet is None:
            receiver_wallet = _new_receiver_wallet(organization, receiver, wallet)
        receiver_wallet = ReceiverWallet.objects.select_for_update().get(
            pk=receiver_wallet.pk
        )
        refuse(receiver_wallet)
        check_balance(organization, asset, needed=amount, reading=reading)
        controls.check_direct_payment_limits(
            organization, asset, receiver_id=receiver.pk, amount=amount
        )
        status = Payment.Status.DRAFT if required else Payment.Status.READY
        payment = Payment.objects.create(
            organization=organization,
            receiver=receiver,
            receiver_wallet=receiver_wallet,
            asset=asset,
            amount=amount,
            type=Payment.Type.DIRECT,
            status=status,
            external_payment_id=request.external_payment_id or "",
        )
        note = "direct payment created"
        if required:
            note += (
                f"; above {threshold:.7f} {asset.code} it waits for {required} "
                "approvals from users who did not create it"
            )
        PaymentStatusChange.objects.create(
            payment=payment, to_status=status, note=note, actor=actor
        )
        if not required:
            hand_off_payments(Payment.objects.filter(pk=payment.pk))
    payment.refresh_from_db()
    return payment


def approve_direct_payment(payment: Payment, *, actor: User | None) -> None:
    """Record the actor's approval of a direct payment held by an approval tier;
    when it has enough, READY and handed to the TSS in this request, after the
    balance and spending limits are checked again as at its creation. 403 with
    the approvals so far while some are missing."""
    controls.record_payment_approval(payment, actor)  # committed on its own
    organization = payment.organization
    reading = read_balances(organization)  # network I/O, before the transaction
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update()
            .select_related("asset", "receiver_wallet")
            .get(pk=payment.pk)
        )
        if locked.status != Payment.Status.DRAFT:
            # Another approver's request handed it off first.
            raise APIError(
                "the payment is no longer waiting for approvals "
                f"(status {locked.status})"
            )
        controls.check_payment_approvals(locked)
        receiver_wallet = ReceiverWallet.objects.select_for_update().get(
            pk=locked.receiver_wallet_id
        )
        if receiver_wallet.status not in (
            ReceiverWallet.Status.READY,
            ReceiverWallet.Status.REGISTERED,
        ):
            raise APIError(
                f"receiver wallet is not ready (status {receiver_wallet.status})"
            )
        check_balance(organization, locked.asset, needed=locked.amount, reading=reading)
        controls.check_direct_payment_limits(
            organization,
            locked.asset,
            receiver_id=locked.receiver_id,
            amount=locked.amount,
        )
        count = locked.approvals.count()
        transition(
            locked,
            to=Payment.Status.READY,
            note=f"approved ({count} approvals)",
            actor=actor,
        )
        hand_off_payments(Payment.objects.filter(pk=locked.pk))


def _new_receiver_wallet(
    organization: Organization, receiver: Receiver, wallet: Wallet
) -> ReceiverWallet:
    """SDP auto-creates a READY receiver wallet for a SEP-24 wallet when the
    receiver has something to verify, and invites the receiver."""
    if wallet.user_managed or wallet.embedded or not receiver.verifications.exists():
        raise APIError("receiver wallet is not ready: the receiver is not registered")
    receiver_wallet = ReceiverWallet.objects.create(
        organization=organization, receiver=receiver, wallet=wallet
    )
    transition(
        receiver_wallet,
        to=ReceiverWallet.Status.READY,
        note="created for a direct payment",
    )
    queue_invitations(
        organization,
        ReceiverWallet.objects.filter(pk=receiver_wallet.pk).select_related("receiver"),
    )
    return receiver_wallet
