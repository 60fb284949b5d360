"""The cooling period of new or changed wallet addresses (per tenant, default
off: ``auth_org.TenantControls.cooling_period_hours``).

A payment to a receiver wallet whose address was set or changed within the
period waits in READY (the hand-off skips it: ``handoff.cooling``); when the
period passes, ``hand_off_cooled_payments`` (beat) hands it off. Staff can
release one earlier with a reason, recorded in the audit log and the payment's
release time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from auth_org import audit
from auth_org.controls import TENANT_FIELDS, tenant_settings
from auth_org.models import TenantControls, User
from core.api import APIError
from disbursements.handoff import cooling, hand_off_payments
from disbursements.models import Payment

MAX_PERIOD = timedelta(hours=TENANT_FIELDS["cooling_period_hours"][1])


def cooling_until(payment: Payment) -> datetime | None:
    """When the payment's cooling period ends, if it is held by one now."""
    if payment.status != Payment.Status.READY or payment.cooling_released_at:
        return None
    hours = tenant_settings(payment.organization).cooling_period_hours
    changed = payment.receiver_wallet.address_changed_at
    if not hours or changed is None:
        return None
    until = changed + timedelta(hours=hours)
    return until if until > timezone.now() else None


def hand_off_cooled_payments() -> int:
    """Beat: READY payments whose receiver's address changed lately, of tenants
    with a cooling period: those whose period passed go to the TSS."""
    organizations = TenantControls.objects.filter(cooling_period_hours__gt=0).values(
        "organization_id"
    )
    candidates = Payment.objects.filter(
        organization_id__in=organizations,
        status=Payment.Status.READY,
        receiver_wallet__address_changed_at__gt=timezone.now() - MAX_PERIOD,
    )
    return hand_off_payments(candidates)


def release_payment(
    payment: Payment, *, actor: User | None, reason: str, ip_address: str | None = None
) -> None:
    """Staff: hand a payment held by the cooling period to the TSS now."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise APIError(extras={"reason": "a reason (1 to 500 characters) is required"})
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        held = Payment.objects.filter(pk=locked.pk, status=Payment.Status.READY)
        if not held.filter(cooling()).exists():
            raise APIError(
                f"the payment is not held by a cooling period (status {locked.status})"
            )
        Payment.objects.filter(pk=locked.pk).update(cooling_released_at=timezone.now())
        audit.record(
            audit.Action.PAYMENT_RELEASED,
            organization=locked.organization,
            actor=actor,
            ip_address=ip_address,
            target=locked,
            changes={"reason": reason},
        )
        hand_off_payments(Payment.objects.filter(pk=locked.pk))
