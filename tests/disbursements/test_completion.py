"""A disbursement completes wherever its last payment becomes final, not only
when the TSS finishes a transaction (issue 16, item 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from disbursements.models import Disbursement, PaymentStatusChange
from disbursements.payments import cancel_expired_ready_payments
from disbursements.tasks import complete_finished_disbursements_task
from tests.factories import DisbursementFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(organization, wallet, usdc):
    return DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )


def payment(disbursement, status):
    return PaymentFactory(
        disbursement=disbursement,
        status=status,
        asset=disbursement.asset,
        receiver_wallet__wallet=disbursement.wallet,
    )


def status_of(disbursement) -> str:
    return Disbursement.objects.get(pk=disbursement.pk).status


def test_cancelling_the_last_open_payment_completes_the_disbursement(api, started):
    payment(started, "SUCCESS")
    first = payment(started, "READY")
    last = payment(started, "READY")
    response = api.patch(
        f"/payments/{first.pk}/status", {"status": "CANCELED"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert status_of(started) == "STARTED"  # one payment is still open
    response = api.patch(
        f"/payments/{last.pk}/status", {"status": "CANCELED"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert status_of(started) == "COMPLETED"
    change = started.status_changes.order_by("created_at", "pk").last()
    assert (change.from_status, change.to_status) == ("STARTED", "COMPLETED")


def test_a_failed_payment_keeps_it_started_for_a_retry(api, started):
    payment(started, "FAILED")
    last = payment(started, "READY")
    response = api.patch(
        f"/payments/{last.pk}/status", {"status": "CANCELED"}, format="json"
    )
    assert response.status_code == 200
    assert status_of(started) == "STARTED"


def test_resuming_a_paused_disbursement_whose_payments_are_final(
    api, organization, wallet, usdc
):
    paused = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="PAUSED"
    )
    payment(paused, "SUCCESS")
    payment(paused, "CANCELED")
    response = api.patch(
        f"/disbursements/{paused.pk}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert status_of(paused) == "COMPLETED"
    moves = list(
        paused.status_changes.order_by("created_at", "pk").values_list(
            "to_status", flat=True
        )
    )
    assert moves[-2:] == ["STARTED", "COMPLETED"]


def test_resuming_with_paused_payments_left_stays_started(
    api, organization, wallet, usdc
):
    paused = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="PAUSED"
    )
    payment(paused, "SUCCESS")
    payment(paused, "PAUSED")
    response = api.patch(
        f"/disbursements/{paused.pk}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert status_of(paused) == "STARTED"


def test_auto_cancel_of_the_last_ready_payment_completes_it(organization, started):
    organization.payment_cancellation_period_days = 3
    organization.save()
    payment(started, "SUCCESS")
    old = payment(started, "READY")
    with time_machine.travel(timezone.now() - timedelta(days=4)):
        PaymentStatusChange.objects.create(payment=old, to_status="READY")
    assert cancel_expired_ready_payments() == 1
    assert status_of(started) == "COMPLETED"


def test_the_sweeper_completes_what_slipped_and_is_scheduled(
    started, organization, wallet, usdc
):
    payment(started, "SUCCESS")
    payment(started, "CANCELED")
    open_one = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED",
        name="still open",
    )  # fmt: skip
    payment(open_one, "PENDING")
    empty = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED",
        name="no payments",
    )  # fmt: skip
    assert complete_finished_disbursements_task() == 1
    assert status_of(started) == "COMPLETED"
    assert status_of(open_one) == "STARTED"
    assert status_of(empty) == "STARTED"
    assert complete_finished_disbursements_task() == 0
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "disbursements.tasks.complete_finished_disbursements_task" in tasks
