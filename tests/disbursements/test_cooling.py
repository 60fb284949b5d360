"""The cooling period of new or changed wallet addresses (docs/controls.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auth_org.controls import update_tenant_settings
from auth_org.models import AuditEntry
from disbursements.cooling import cooling_until, hand_off_cooled_payments
from disbursements.models import Payment
from receivers.models import ReceiverWallet
from tests.disbursements.test_controls import ADDRESS, ready_disbursement, start
from tests.factories import ReceiverWalletFactory
from tss.models import SubmitterTransaction

pytestmark = pytest.mark.django_db

OTHER = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"


def registered(organization, wallet, address=ADDRESS):
    return ReceiverWalletFactory(
        receiver__organization=organization,
        wallet=wallet,
        status="REGISTERED",
        stellar_address=address,
    )


def test_the_database_stamps_when_an_address_is_set_or_changed(organization, wallet):
    receiver_wallet = registered(organization, wallet)
    receiver_wallet.refresh_from_db()
    first = receiver_wallet.address_changed_at
    assert first is not None
    ReceiverWallet.objects.filter(pk=receiver_wallet.pk).update(stellar_memo="42")
    receiver_wallet.refresh_from_db()
    assert receiver_wallet.address_changed_at == first
    ReceiverWallet.objects.filter(pk=receiver_wallet.pk).update(stellar_address=OTHER)
    receiver_wallet.refresh_from_db()
    assert receiver_wallet.address_changed_at > first
    assert (
        ReceiverWalletFactory(receiver__organization=organization).address_changed_at
        is None
    )


def test_payments_to_a_new_address_wait_until_the_period_passes(
    api, organization, wallet, usdc
):
    update_tenant_settings(organization, {"cooling_period_hours": 24}, actor=None)
    receiver_wallet = registered(organization, wallet)
    disbursement = ready_disbursement(
        organization, wallet, usdc, "10", receiver_wallet=receiver_wallet
    )
    assert start(api, disbursement.pk).status_code == 200
    payment = Payment.objects.get(disbursement=disbursement)
    assert payment.status == "READY"
    assert not SubmitterTransaction.objects.exists()
    (held,) = payment.status_changes.filter(note__startswith="waiting:")
    assert "cooling period of 24 h" in held.note
    until = cooling_until(payment)
    assert until is not None
    assert until > timezone.now() + timedelta(hours=23)
    # The beat before the period passes: still held, and said only once.
    assert hand_off_cooled_payments() == 0
    assert payment.status_changes.filter(note__startswith="waiting:").count() == 1
    ReceiverWallet.objects.filter(pk=receiver_wallet.pk).update(
        address_changed_at=timezone.now() - timedelta(hours=25)
    )
    assert hand_off_cooled_payments() == 1
    payment.refresh_from_db()
    assert payment.status == "PENDING"
    assert SubmitterTransaction.objects.filter(external_id=str(payment.pk)).exists()


def test_default_off_pays_at_once(api, organization, wallet, usdc):
    receiver_wallet = registered(organization, wallet)
    disbursement = ready_disbursement(
        organization, wallet, usdc, "10", receiver_wallet=receiver_wallet
    )
    assert start(api, disbursement.pk).status_code == 200
    assert Payment.objects.get(disbursement=disbursement).status == "PENDING"


def test_staff_release_one_with_a_recorded_reason(
    api, owner, organization, wallet, usdc
):
    update_tenant_settings(organization, {"cooling_period_hours": 24}, actor=None)
    disbursement = ready_disbursement(
        organization,
        wallet,
        usdc,
        "10",
        receiver_wallet=registered(organization, wallet),
    )
    assert start(api, disbursement.pk).status_code == 200
    payment = Payment.objects.get(disbursement=disbursement)
    url = f"/payments/{payment.pk}/release"
    missing = api.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()["extras"]
    answer = api.post(url, {"reason": "called the receiver"}, format="json")
    assert answer.status_code == 200, answer.json()
    payment.refresh_from_db()
    assert payment.status == "PENDING"
    assert payment.cooling_released_at is not None
    entry = AuditEntry.objects.get(action="payment.cooling_released")
    assert entry.actor_id == owner.pk
    assert entry.changes == {"reason": "called the receiver"}
    assert entry.object_id == str(payment.pk)
    # Not held any more: a second release is refused.
    assert api.post(url, {"reason": "again"}, format="json").status_code == 400
    assert Decimal(payment.amount) == Decimal("10")
