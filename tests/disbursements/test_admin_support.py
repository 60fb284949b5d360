"""Support tasks from the admin, without manage.py shell (issue 18, item 9):
real admin POSTs as a superuser, through the services the API uses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from auth_org.models import AuditEntry
from messaging.models import Message
from receivers.models import ReceiverVerification, ReceiverWallet
from tests.factories import (
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def act(staff, app_model: str, action: str, pks):
    response = staff.post(
        reverse(f"admin:{app_model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_reset_a_receivers_verification_attempts(staff, operator, organization):
    receiver = ReceiverFactory(organization=organization)
    locked = ReceiverVerification.objects.create(
        receiver=receiver, verification_field="PIN", hashed_value="x", attempts=15
    )
    page = act(staff, "receivers_receiver", "reset_verification_attempts",
               [receiver.pk])  # fmt: skip
    assert "1 verification value(s) unlocked" in page
    locked.refresh_from_db()
    assert locked.attempts == 0
    assert locked.failed_at is None
    entry = AuditEntry.objects.get(action="receiver_verification.reset_attempts")
    assert entry.actor_id == operator.pk
    # The same from the verification list.
    ReceiverVerification.objects.filter(pk=locked.pk).update(attempts=15)
    act(staff, "receivers_receiververification", "reset_attempts", [locked.pk])
    locked.refresh_from_db()
    assert locked.attempts == 0


def test_resend_an_invitation(staff, organization, wallet):
    rw = ReceiverWalletFactory(
        receiver__organization=organization,
        receiver__phone_number="+14155550177",
        wallet=wallet,
        status="READY",
    )
    page = act(staff, "receivers_receiverwallet", "resend_invitation", [rw.pk])
    assert "1 invitation(s) queued" in page
    message = Message.objects.get(tenant_id=organization.pk)
    assert message.kind == Message.Kind.RECEIVER_INVITATION
    assert message.recipient == "+14155550177"
    rw.refresh_from_db()
    assert rw.invitation_sent_at is not None
    # A registered wallet is not invited again: refused by name, nothing sent.
    done = ReceiverWalletFactory(
        receiver__organization=organization, wallet=wallet, status="REGISTERED",
        stellar_address="GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
    )  # fmt: skip
    page = act(staff, "receivers_receiverwallet", "resend_invitation", [done.pk])
    assert "only READY receiver wallets can be invited" in page
    assert Message.objects.count() == 1


def test_search_payments_by_receiver_phone_email_and_external_id(staff, organization):
    disbursement = DisbursementFactory(organization=organization)
    wanted = PaymentFactory(
        disbursement=disbursement,
        receiver_wallet__receiver__phone_number="+14155550142",
        receiver_wallet__receiver__email="maria@example.org",
        receiver_wallet__receiver__external_id="emp-4242",
    )
    PaymentFactory(disbursement=disbursement)
    url = reverse("admin:disbursements_payment_changelist")
    for q in ("+14155550142", "maria@example", "emp-4242"):
        result = staff.get(url, {"q": q}).context["cl"].result_list
        assert [p.pk for p in result] == [wanted.pk], q


def test_payments_and_receiver_wallets_are_titled_by_receiver_and_amount(
    staff, organization
):
    payment = PaymentFactory(
        disbursement=DisbursementFactory(organization=organization),
        amount=Decimal("12.5"),
        receiver_wallet__receiver__external_id="emp-7",
    )
    assert str(payment) == f"12.5 {payment.asset.code} to emp-7 (DRAFT)"
    rw = ReceiverWallet.objects.get(pk=payment.receiver_wallet_id)
    assert str(rw) == f"emp-7 on {rw.wallet.name} (DRAFT)"
    listing = staff.get(reverse("admin:disbursements_payment_changelist"))
    title = f'<a href="/admin/disbursements/payment/{payment.pk}/change/">'
    assert f"{title}12.5 {payment.asset.code} to emp-7 (DRAFT)</a>" in (
        listing.content.decode()
    )
    listing = staff.get(reverse("admin:receivers_receiverwallet_changelist"))
    assert "emp-7 on " in listing.content.decode()
