"""The Django admin drives the same services as the API (issue 6)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from stellar_sdk import Keypair

from disbursements.models import Disbursement, Payment
from receivers.models import ReceiverVerification, ReceiverWallet
from tests.factories import (
    DisbursementFactory,
    PaymentFactory,
    ReceiverWalletFactory,
)

pytestmark = pytest.mark.django_db

G1 = Keypair.from_raw_ed25519_seed(bytes([1]) * 32).public_key


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def act(staff, model: str, action: str, pks) -> None:
    app = {"disbursement": "disbursements", "payment": "disbursements",
           "receiverwallet": "receivers"}[model]  # fmt: skip
    response = staff.post(
        reverse(f"admin:{app}_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )
    assert response.status_code == 200
    return response


@pytest.fixture
def ready(organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    PaymentFactory(disbursement=disbursement, status="DRAFT")
    return disbursement


@pytest.mark.parametrize(
    "name",
    [
        "disbursements_disbursement",
        "disbursements_payment",
        "receivers_receiver",
        "receivers_receiverwallet",
        "receivers_receiververification",
        "core_idempotencykey",
    ],
)
def test_changelists_and_search_render(staff, ready, name):
    ReceiverVerification.objects.create(
        receiver=Payment.objects.get().receiver,
        verification_field="PIN",
        hashed_value="hmac_sha256$x$y",
    )
    url = reverse(f"admin:{name}_changelist")
    assert staff.get(url).status_code == 200
    assert staff.get(url, {"q": "x"}).status_code == 200


def test_change_pages_show_money_with_asset_and_no_hashes(staff, ready):
    payment = Payment.objects.get()
    response = staff.get(
        reverse("admin:disbursements_payment_change", args=[payment.pk])
    )
    assert response.status_code == 200
    assert "12.5000000 USDC" in response.content.decode()
    assert (
        staff.get(
            reverse("admin:disbursements_disbursement_change", args=[ready.pk])
        ).status_code
        == 200
    )
    ReceiverVerification.objects.create(
        receiver=payment.receiver,
        verification_field="PIN",
        hashed_value="hmac_sha256$s$secret",
    )
    response = staff.get(
        reverse("admin:receivers_receiver_change", args=[payment.receiver_id])
    )
    assert response.status_code == 200
    assert "hmac_sha256" not in response.content.decode()


def test_start_pause_resume_actions(staff, ready, operator):
    act(staff, "disbursement", "start", [ready.pk])
    ready.refresh_from_db()
    assert ready.status == "STARTED"
    assert ready.status_changes.last().actor_id == operator.pk
    assert Payment.objects.get().status == "READY"
    act(staff, "disbursement", "pause", [ready.pk])
    ready.refresh_from_db()
    assert ready.status == "PAUSED"
    act(staff, "disbursement", "resume", [ready.pk])
    ready.refresh_from_db()
    assert ready.status == "STARTED"


def test_refused_action_is_reported_and_changes_nothing(staff, organization):
    draft = DisbursementFactory(organization=organization, status="DRAFT")
    response = act(staff, "disbursement", "start", [draft.pk])
    assert "not ready to be started" in response.content.decode()
    assert Disbursement.objects.get(pk=draft.pk).status == "DRAFT"


def test_cancel_and_retry_payment_actions(staff, organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )
    ready_payment = PaymentFactory(disbursement=disbursement, status="READY")
    failed = PaymentFactory(
        disbursement=disbursement, status="FAILED", stellar_transaction_id="abc"
    )
    act(staff, "payment", "cancel", [ready_payment.pk])
    act(staff, "payment", "retry", [failed.pk])
    ready_payment.refresh_from_db()
    failed.refresh_from_db()
    assert ready_payment.status == "CANCELED"
    assert failed.status == "READY"
    assert "abc" in failed.status_changes.last().note


def test_flag_and_unflag_actions(staff, organization, wallet):
    rw = ReceiverWalletFactory(
        receiver__organization=organization,
        wallet=wallet,
        status="REGISTERED",
        stellar_address=G1,
    )
    act(staff, "receiverwallet", "flag", [rw.pk])
    rw.refresh_from_db()
    assert rw.status == "FLAGGED"
    act(staff, "receiverwallet", "unflag", [rw.pk])
    rw.refresh_from_db()
    assert rw.status == "REGISTERED"
    assert list(rw.status_changes.values_list("to_status", flat=True)) == [
        "FLAGGED",
        "REGISTERED",
    ]


def test_status_is_read_only_in_the_admin(staff, ready):
    rw = ReceiverWalletFactory(receiver__organization=ready.organization)
    response = staff.get(reverse("admin:receivers_receiverwallet_change", args=[rw.pk]))
    assert 'name="status"' not in response.content.decode()
    assert ReceiverWallet.objects.get(pk=rw.pk).status == "DRAFT"


def test_disbursement_page_shows_its_messages_and_their_estimated_cost(staff, ready):
    from messaging.models import Message
    from tests.factories import MessageFactory

    MessageFactory(tenant_id=ready.organization_id, disbursement_id=ready.pk)
    MessageFactory(
        tenant_id=ready.organization_id,
        disbursement_id=ready.pk,
        status=Message.Status.FAILURE,
    )
    page = staff.get(
        reverse("admin:disbursements_disbursement_change", args=[ready.pk])
    ).content.decode()
    assert "Messages and estimated cost" in page
    assert "2 messages (1 failure, 1 pending)" in page
    assert "USD" in page
