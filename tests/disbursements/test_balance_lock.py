"""The balance check of a start runs under a lock of the asset's row: a second
start of the same asset waits for the first and counts what it committed."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Q

from core.api import Conflict
from disbursements import services
from disbursements.models import Disbursement, Payment
from tests.factories import DisbursementFactory, PaymentFactory


@pytest.mark.django_db(transaction=True)
def test_two_starts_of_one_asset_never_count_the_same_funds(
    organization, wallet, usdc, ledger
):
    ledger.balances[("USDC", usdc.issuer)] = Decimal("30")  # covers one of the two
    first, second = (
        DisbursementFactory(
            organization=organization, wallet=wallet, asset=usdc, status="READY"
        )
        for _ in range(2)
    )
    for disbursement in (first, second):
        PaymentFactory(disbursement=disbursement, amount=Decimal("20"))
    checked, release = threading.Event(), threading.Event()

    def first_start():
        # The first start, stopped between its balance check and its commit.
        try:
            with transaction.atomic():
                services.check_balance(
                    organization,
                    usdc,
                    needed=Decimal("20"),
                    reading=services.read_balances(organization),
                    exclude=Q(disbursement=first),
                )
                Payment.objects.filter(disbursement=first).update(status="READY")
                checked.set()
                release.wait(10)
        finally:
            connection.close()

    outcome = {}

    def second_start():
        try:
            services.start_disbursement(second, actor=None)
            outcome["second"] = "started"
        except Conflict as exc:
            outcome["second"] = str(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first_start)
    one.start()
    assert checked.wait(10)
    two = threading.Thread(target=second_start)
    two.start()
    two.join(1.5)
    assert two.is_alive(), outcome  # waiting for the asset's row
    release.set()
    one.join(10)
    two.join(10)
    # Refused: the first start's 20 counted as in flight.
    assert "of which 20.0000000 is already committed" in outcome["second"]
    assert Disbursement.objects.get(pk=second.pk).status == "READY"
