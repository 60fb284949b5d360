"""Hand-off to the ledger through a real Celery worker and the localnet."""

import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from disbursements.handoff import hand_off_payments
from disbursements.models import Disbursement, Payment
from receivers.models import ReceiverWallet
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    OrganizationFactory,
    PaymentFactory,
)
from tests.tss.conftest import create_receivers, payments_on_ledger
from tss import accounts
from tss.models import DistributionAccount


@pytest.mark.django_db(transaction=True)
def test_started_disbursement_is_paid_by_the_worker_and_completed(
    network, tss_worker, channel_accounts
):
    channel_accounts(4)
    organization = OrganizationFactory()
    disbursement = DisbursementFactory(
        organization=organization,
        status=Disbursement.Status.STARTED,
        # Past DRAFT the asset is fixed (disbursements 0008): chosen at creation.
        asset=AssetFactory(organization=organization, code="XLM", issuer=""),
    )
    accounts.create_distribution_account(disbursement.organization_id)
    destinations = create_receivers(5)
    for destination in destinations:
        PaymentFactory(
            disbursement=disbursement,
            asset=disbursement.asset,
            status=Payment.Status.READY,
            amount=Decimal("1.25"),
            receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
            receiver_wallet__stellar_address=destination,
        )
    assert hand_off_payments(Payment.objects.filter(disbursement=disbursement)) == 5
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        disbursement.refresh_from_db()
        if disbursement.status == Disbursement.Status.COMPLETED:
            break
        time.sleep(0.2)
    assert disbursement.status == Disbursement.Status.COMPLETED
    source = accounts.distribution_account_for(disbursement.organization_id)
    for payment in Payment.objects.filter(disbursement=disbursement):
        assert payment.status == Payment.Status.SUCCESS
        assert payment.sender_address == source
        assert len(payment.stellar_transaction_id) == 64
    for destination in destinations:
        assert len(payments_on_ledger(network, destination, source)) == 1


@pytest.mark.django_db(transaction=True)
def test_failed_payment_carries_the_reason_and_retry_pays(
    network, tss_worker, channel_accounts
):
    from stellar_sdk import Keypair

    from core.fsm import transition

    channel_accounts(1)
    payment = PaymentFactory(
        status=Payment.Status.READY,
        disbursement__status=Disbursement.Status.STARTED,
        receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
        receiver_wallet__stellar_address=Keypair.random().public_key,
    )
    asset = payment.asset
    asset.code, asset.issuer = "XLM", ""
    asset.save()
    accounts.create_distribution_account(payment.organization_id)
    hand_off_payments(Payment.objects.filter(pk=payment.pk))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        payment.refresh_from_db()
        if payment.status == Payment.Status.FAILED:
            break
        time.sleep(0.2)
    assert payment.status == Payment.Status.FAILED
    assert "does not exist" in payment.status_changes.last().note
    network.friendbot(payment.receiver_wallet.stellar_address)
    transition(payment, to=Payment.Status.READY, note="retry")
    hand_off_payments(Payment.objects.filter(pk=payment.pk))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        payment.refresh_from_db()
        if payment.status == Payment.Status.SUCCESS:
            break
        time.sleep(0.2)
    assert payment.status == Payment.Status.SUCCESS


@pytest.mark.django_db
def test_distribution_account_command_creates_and_shows(network, organization):
    call_command("distribution_account", "create", "--tenant", organization.name)
    row = DistributionAccount.objects.get(tenant_id=organization.id)
    assert accounts.distribution_account_for(organization.id) == row.public_key
    organization.refresh_from_db()
    assert organization.distribution_account_address == row.public_key
    assert network.server().load_account(row.public_key)


@pytest.mark.django_db
def test_channel_accounts_command_ensure_and_list(network, capsys):
    call_command("channel_accounts", "ensure", "2")
    call_command("channel_accounts", "list")
    assert capsys.readouterr().out.count("leased_until=-") == 2
