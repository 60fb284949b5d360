"""Approval tiers, spending limits, duplicate warnings and the cooling period end
to end: the dashboard's requests, the localnet's balances, a real TSS worker
paying on the localnet."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from auth_org.controls import update_controls, update_tenant_settings
from auth_org.models import Role
from disbursements.models import Disbursement
from tests.api2_fixtures import client_for
from tests.disbursements.test_preflight import (  # noqa: F401 - fixtures
    new_accounts,
    tenant,
    trust,
)
from tests.disbursements.test_retry_wakeup import usdc_balance, wait_for
from tests.factories import DisbursementFactory, PaymentFactory, ReceiverWalletFactory
from tests.tss.conftest import (  # noqa: F401 - fixtures
    channel_accounts,
    network,
    tss_network,
    tss_worker,
)


def start(client, disbursement, **extra):
    return client.patch(
        f"/disbursements/{disbursement.pk}/status",
        {"status": "STARTED", **extra},
        format="json",
    )


def ready_to(organization, usdc, wallet, pair, amount, initiator=None):
    disbursement = DisbursementFactory(
        organization=organization,
        wallet=wallet,
        asset=usdc,
        status="READY",
        created_by=initiator,
    )
    payment = PaymentFactory(
        disbursement=disbursement,
        amount=Decimal(amount),
        receiver_wallet=ReceiverWalletFactory(
            receiver__organization=organization,
            wallet=wallet,
            status="REGISTERED",
            stellar_address=pair.public_key,
        ),
    )
    return disbursement, payment


@pytest.mark.django_db(transaction=True)
def test_tiers_limits_duplicates_and_cooling_on_the_localnet(
    network,  # noqa: F811
    tenant,  # noqa: F811
    tss_worker,  # noqa: F811
    channel_accounts,  # noqa: F811
):
    from tests.factories import UserFactory

    channel_accounts(2)
    organization, usdc, wallet, issuer = tenant
    first, second = new_accounts(2)
    trust(first, issuer)
    trust(second, issuer)
    initiator, *approvers = (
        UserFactory(organization=organization, roles=[role], is_owner=False)
        for role in (Role.FINANCIAL_CONTROLLER, Role.APPROVER, Role.APPROVER)
    )
    update_controls(
        organization,
        usdc,
        {"daily_max": "100", "approval_tiers": [{"above": "50", "approvals": 2}]},
        actor=None,
    )

    # Over a tier: two approvers, then the worker pays it on the localnet.
    big, big_payment = ready_to(organization, usdc, wallet, first, "60", initiator)
    assert start(client_for(initiator), big).status_code == 403
    assert (
        start(client_for(approvers[0]), big).json()["extras"]["approvals_missing"] == 1
    )
    assert start(client_for(approvers[1]), big).status_code == 200
    wait_for(big_payment, "SUCCESS")
    assert usdc_balance(first.public_key, issuer) == Decimal("60")

    # The daily limit counts it: 60 + 50 > 100, refused with the figures.
    over, _ = ready_to(organization, usdc, wallet, second, "50", initiator)
    refused = start(client_for(approvers[0]), over)
    assert refused.status_code == 400
    assert refused.json()["extras"]["used_today"] == "60.0000000"

    # A duplicate of the paid payment needs an acknowledgement; the receiver's
    # address is a day old at most and the tenant now has a cooling period: it
    # waits, staff release it, the worker pays it.
    update_tenant_settings(organization, {"cooling_period_hours": 24}, actor=None)
    update_controls(organization, usdc, {"daily_max": "200"}, actor=None)
    again = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    again_payment = PaymentFactory(
        disbursement=again,
        amount=Decimal("60"),
        receiver_wallet=big_payment.receiver_wallet,
    )
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    client = client_for(owner)
    # The owner's start is the first approval (403: one missing); the second
    # approver's start is refused for the duplicate until acknowledged.
    assert start(client, again).status_code == 403
    duplicate = start(client_for(approvers[0]), again)
    assert duplicate.status_code == 400
    assert "acknowledge_duplicates" in duplicate.json()["extras"]
    acknowledged = start(client_for(approvers[0]), again, acknowledge_duplicates=True)
    assert acknowledged.status_code == 200, acknowledged.json()
    time.sleep(1)
    again_payment.refresh_from_db()
    assert again_payment.status == "READY"  # cooling: the address is new
    release = client.post(
        f"/payments/{again_payment.pk}/release",
        {"reason": "verified by phone"},
        format="json",
    )
    assert release.status_code == 200, release.json()
    wait_for(again_payment, "SUCCESS")
    assert usdc_balance(first.public_key, issuer) == Decimal("120")
    assert (
        Disbursement.objects.get(pk=again.pk)
        .status_changes.filter(note__contains="duplicate warnings acknowledged")
        .exists()
    )
