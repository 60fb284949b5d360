"""Payment tallies (kept by triggers) agree with the payments themselves after
every kind of write, before and after folding."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Count, Sum

from disbursements.models import Payment, PaymentTally
from disbursements.selectors import disbursement_stats
from disbursements.tallies import compact_payment_tallies
from tests.factories import DisbursementFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def _grouped(queryset, count) -> dict:
    """{(organization, disbursement, asset, status): (count, amount)}, no zeros."""
    rows = (
        queryset.values("organization_id", "disbursement_id", "asset_id", "status")
        .annotate(n=count, total=Sum("amount"))
        .order_by()
    )
    return {
        (r["organization_id"], r["disbursement_id"], r["asset_id"], r["status"]): (
            r["n"],
            r["total"],
        )
        for r in rows
        if r["n"] or r["total"]
    }


def from_payments() -> dict:
    return _grouped(Payment.objects, Count("pk"))


def from_tallies() -> dict:
    return _grouped(PaymentTally.objects, Sum("count"))


def test_tallies_follow_inserts_updates_and_deletes():
    first, second = DisbursementFactory(), DisbursementFactory()
    payments = [
        PaymentFactory(disbursement=d, amount=Decimal(amount))
        for d, amount in [(first, "1.5"), (first, "2"), (first, "3"), (second, "7")]
    ]
    assert from_tallies() == from_payments()
    # One row, then a bulk update moving several rows and statuses at once.
    Payment.objects.filter(pk=payments[0].pk).update(status="READY")
    # Status and amount at once (a DRAFT row: past DRAFT the amount is fixed).
    Payment.objects.filter(pk=payments[1].pk).update(
        status="READY", amount=Decimal("2.5")
    )
    Payment.objects.filter(disbursement=first).update(status="PENDING")
    Payment.objects.filter(pk=payments[1].pk).update(status="SUCCESS")
    # An update that moves neither status nor amount appends nothing.
    before = PaymentTally.objects.count()
    Payment.objects.filter(disbursement=first).update(stellar_transaction_id="ab")
    assert PaymentTally.objects.count() == before
    assert from_tallies() == from_payments()
    stats = disbursement_stats([first.pk, second.pk])
    assert stats[first.pk]["total_payments"] == 3
    assert stats[first.pk]["total_payments_sent"] == 1
    assert stats[first.pk]["amount_disbursed"] == "2.5000000"
    assert stats[first.pk]["total_amount"] == "7.0000000"
    assert stats[second.pk]["total_payments_remaining"] == 1

    # Deleting a disbursement deletes its payments: its tally sums to nothing,
    # and folding leaves no row for it.
    second.delete()
    assert from_tallies() == from_payments()
    assert disbursement_stats([second.pk])[second.pk]["total_payments"] == 0
    compact_payment_tallies()
    assert not PaymentTally.objects.filter(disbursement_id=second.pk).exists()
    assert not PaymentTally.objects.filter(folded=False).exists()
    assert from_tallies() == from_payments()
    # One folded row per key that still has payments.
    assert PaymentTally.objects.count() == len(from_payments())

    # Appends after a fold are summed with the folded rows.
    Payment.objects.filter(pk=payments[2].pk).update(status="FAILED")
    assert from_tallies() == from_payments()
    compact_payment_tallies()
    assert from_tallies() == from_payments()


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_disbursement_do_not_wait_on_each_other():
    """Tallies are appended, never updated in place: two open transactions moving
    payments of the same disbursement both proceed."""
    disbursement = DisbursementFactory()
    a, b = (PaymentFactory(disbursement=disbursement) for _ in range(2))
    holding = threading.Event()
    release = threading.Event()

    def first_writer():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    "UPDATE disbursements_payment SET status = 'READY' WHERE id = %s",
                    [a.pk],
                )
                holding.set()
                release.wait(10)
                cursor.execute("COMMIT")
        finally:
            connections["default"].close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            cursor.execute(
                "UPDATE disbursements_payment SET status = 'READY' WHERE id = %s",
                [b.pk],
            )
            cursor.execute("SET lock_timeout = 0")
    finally:
        release.set()
        thread.join(10)
    assert from_tallies() == from_payments()
    assert (
        disbursement_stats([disbursement.pk])[disbursement.pk][
            "total_payments_remaining"
        ]
        == 2
    )


def test_payments_total_from_tallies_matches_the_list():
    from django.http import QueryDict

    from disbursements.selectors import (
        disbursement_payments_total,
        payments_for,
        payments_total,
    )

    disbursement = DisbursementFactory()
    organization = disbursement.organization
    for status in ("DRAFT", "READY", "READY", "SUCCESS"):
        PaymentFactory(disbursement=disbursement, status=status)
    PaymentFactory()  # another organization
    for query in ("", "status=READY", "status=ready,success", "type=DISBURSEMENT",
                  "type=direct", "status=DRAFT&type=disbursement&page=2"):  # fmt: skip
        params = QueryDict(query)
        total = payments_total(organization, params)
        assert total == payments_for(organization, params).count(), query
    assert disbursement_payments_total(disbursement.pk) == 4
    assert disbursement_payments_total(DisbursementFactory().pk) == 0
    # Filters the tallies do not know are counted on the payments.
    receiver = Payment.objects.filter(organization=organization).first().receiver_id
    assert payments_total(organization, QueryDict(f"receiver_id={receiver}")) is None
    assert payments_total(organization, QueryDict("q=abc")) is None
