"""The Circle rail against the fake Circle: a Circle tenant's payment goes to
Circle with the idempotency key derived from the payment, is followed until
Circle reports it, and Circle's faults become retries (never a second transfer)
or plain reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest

from circle import services
from circle.models import TransferRequest, idempotency_key
from disbursements.handoff import hand_off_payments
from disbursements.models import Payment
from disbursements.payments import retry_payments
from tests.circle.conftest import ready_payment, run_rail

pytestmark = pytest.mark.django_db


def _hand_off(payment, expect=Payment.Status.PENDING) -> TransferRequest:
    assert hand_off_payments(Payment.objects.filter(pk=payment.pk)) == 1
    payment.refresh_from_db()
    assert payment.status == expect
    return TransferRequest.objects.get(external_id=str(payment.pk), attempt=1)


def _history(payment) -> list[str]:
    return list(payment.status_changes.values_list("note", flat=True))


def test_payment_goes_to_circle_with_the_key_derived_from_it(
    configured, offline_circle, circle_keys
):
    payment = ready_payment(configured, amount="2.5")
    request = _hand_off(payment)
    assert request.idempotency_key == idempotency_key(str(payment.pk), 1)
    assert request.memo.startswith("sdp-")  # the tracing memo, as addressTag
    run_rail()

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS, _history(payment)
    [transfer] = offline_circle.transfers_to(payment.receiver_wallet.stellar_address)
    assert transfer["status"] == "complete"
    assert transfer["amount"] == {"amount": "2.5", "currency": "USD"}
    assert payment.stellar_transaction_id == transfer["transactionHash"]
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.SUCCESS
    assert request.circle_id == transfer["id"]
    assert offline_circle.balance(circle_keys[1], "USD") == Decimal("97.5")


def test_no_submitter_transaction_for_a_circle_tenant(configured, offline_circle):
    from tss.models import SubmitterTransaction

    payment = ready_payment(configured)
    _hand_off(payment)
    assert not SubmitterTransaction.objects.filter(external_id=str(payment.pk)).exists()


@pytest.mark.parametrize("fault", ["error_after_accept", "timeout", "unavailable"])
def test_a_lost_answer_is_asked_again_with_the_same_key_and_pays_once(
    configured, offline_circle, settings, fault
):
    settings.CIRCLE_REQUEST_TIMEOUT_SECONDS = 0.5
    offline_circle.set_faults(**{fault: 1}, timeout_seconds=1.5)
    payment = ready_payment(configured, amount="3")
    request = _hand_off(payment)
    services.send_round()
    request.refresh_from_db()
    assert request.circle_id == ""
    assert request.status == TransferRequest.Status.PENDING
    assert request.status_message  # why it is waiting
    run_rail()

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS, _history(payment)
    assert offline_circle.posts("/v1/transfers") == 2
    address = payment.receiver_wallet.stellar_address
    assert len(offline_circle.transfers_to(address)) == 1


def test_rate_limit_waits_for_retry_after(configured, offline_circle):
    offline_circle.set_faults(rate_limit=1, retry_after=1)
    payment = ready_payment(configured)
    request = _hand_off(payment)
    services.send_round()
    request.refresh_from_db()
    assert "429" in request.status_message
    assert request.next_attempt_at is not None
    assert services.send_round() == 0  # not before Retry-After
    run_rail()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS


def test_a_rejected_api_key_keeps_the_payment_waiting(configured, offline_circle):
    offline_circle.set_faults(auth=1)
    payment = ready_payment(configured)
    request = _hand_off(payment)
    services.send_round()
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.PENDING
    assert "401" in request.status_message
    run_rail()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS


def test_circle_failure_fails_the_payment_with_a_plain_reason_and_retry_pays(
    configured, offline_circle, circle_keys
):
    payment = ready_payment(configured, amount="150")  # the wallet holds 100
    _hand_off(payment)
    run_rail()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert _history(payment)[-1] == (
        "Circle: the Circle wallet does not hold enough funds (insufficient_funds)"
    )
    offline_circle.add_wallet(circle_keys[0], circle_keys[1], USD="500")
    retry_payments(configured, [payment.pk], actor=None)
    second = TransferRequest.objects.get(external_id=str(payment.pk), attempt=2)
    assert second.idempotency_key == idempotency_key(str(payment.pk), 2)
    run_rail()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS
    transfers = offline_circle.transfers_to(payment.receiver_wallet.stellar_address)
    assert sorted(t["status"] for t in transfers) == ["complete", "failed"]


def test_what_circle_cannot_pay_fails_at_once_with_the_reason(
    configured, offline_circle
):
    payment = ready_payment(configured, amount="1.0000001")
    _hand_off(payment, expect=Payment.Status.FAILED)
    assert _history(payment)[-1] == "Circle takes amounts with at most 6 decimals"
    assert offline_circle.posts("/v1/transfers") == 0


def test_a_muxed_address_fails_at_once_with_the_reason(configured, offline_circle):
    from stellar_sdk import Keypair, MuxedAccount

    muxed = MuxedAccount(Keypair.random().public_key, 9).account_muxed
    payment = ready_payment(configured, address=muxed)
    _hand_off(payment, expect=Payment.Status.FAILED)
    assert _history(payment)[-1].startswith("Circle cannot pay a muxed address")
    assert offline_circle.posts("/v1/transfers") == 0


def test_a_tenant_without_circle_configuration_fails_plainly(circle_org):
    payment = ready_payment(circle_org)
    _hand_off(payment, expect=Payment.Status.FAILED)
    assert _history(payment)[-1] == "Circle is not configured"


def test_payouts_go_through_the_address_book(configured, offline_circle, settings):
    settings.CIRCLE_API_TYPE = "PAYOUTS"
    payment = ready_payment(configured, amount="4", code="EURC")
    request = _hand_off(payment)
    assert request.kind == TransferRequest.Kind.PAYOUT
    run_rail()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS, _history(payment)
    assert offline_circle.posts("/v1/addressBook/recipients") == 1
    [payout] = offline_circle.transfers_to(payment.receiver_wallet.stellar_address)
    assert payout["destination"]["type"] == "address_book"
    assert payout["amount"] == {"amount": "4.00", "currency": "EUR"}
    assert payment.stellar_transaction_id == payout["transactionHash"]


def test_a_refusal_after_an_unanswered_send_is_left_to_an_operator(
    configured, offline_circle, circle_keys
):
    """Circle made the transfer but answered 500; then the key lost access to
    the wallet (the tenant changed accounts): failing the payment would let a
    retry pay a second time, so it stays PENDING with the reason."""
    key, wallet_id = circle_keys
    offline_circle.set_faults(error_after_accept=1)
    payment = ready_payment(configured)
    request = _hand_off(payment)
    services.send_round()
    request.refresh_from_db()
    assert request.maybe_accepted
    offline_circle.state.api_keys[key].discard(wallet_id)
    request.next_attempt_at = None
    request.save(update_fields=["next_attempt_at"])
    services.send_round()
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.PENDING
    assert "check this idempotency key in Circle" in request.status_message
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_an_operator_fails_a_request_circle_did_not_make(
    configured, offline_circle, admin_client
):
    offline_circle.set_faults(unavailable=1)
    payment = ready_payment(configured)
    request = _hand_off(payment)
    services.send_round()
    request.refresh_from_db()
    assert request.maybe_accepted  # a 503: Circle may or may not have made it
    response = admin_client.post(
        "/admin/circle/transferrequest/",
        {"action": "fail_not_made_by_circle", "_selected_action": [request.pk]},
    )
    assert response.status_code in (200, 302)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert "checked Circle: no transfer was made" in _history(payment)[-1]
