"""The reconciliation and the statement with a TSS batch: several payments in
one transaction, the network's side synthetic (shaped as Horizon's operations),
ours in the database. Within a transaction, operations are paired with payments
by operation index, then destination and amount, destination, amount."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from stellar_sdk import Keypair

from disbursements.models import Payment, PaymentStatusChange
from reports import ledger, matching, statements
from reports.models import Difference
from reports.reconciliation import _compare, day_bounds
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    PaymentFactory,
    SubmitterTransactionFactory,
)

pytestmark = pytest.mark.django_db

ME = "G" + "D" * 55
BATCH = "ba" * 32
AMOUNTS = [Decimal("2.5"), Decimal("2.5"), Decimal("3"), Decimal("4"),
           Decimal("5"), Decimal("6")]  # fmt: skip
LEDGER = 4242


def toid(index: int) -> str:
    """Horizon's id of operation ``index`` (0-based) of the ledger's 3rd transaction."""
    return str(LEDGER << 32 | 3 << 12 | (index + 1))


def test_operation_index_is_read_from_horizons_operation_id():
    assert [matching.operation_index(toid(i)) for i in (0, 1, 99)] == [0, 1, 99]
    assert matching.operation_index("not-a-number") is None
    assert matching.operation_index(str(LEDGER << 32 | 3 << 12)) is None


def test_pairing_never_reuses_an_operation_or_a_payment():
    ops = [
        matching.Op("1", "h", "A", Decimal(1)),
        matching.Op("2", "h", "A", Decimal(1)),
        matching.Op("3", "h", "B", Decimal(2)),
        matching.Op("4", "other", "A", Decimal(1)),
    ]
    ours = [
        matching.Ours("p", "h", "A", Decimal(1)),
        matching.Ours("q", "h", "A", Decimal(1)),
        matching.Ours("r", "h", "C", Decimal(9)),  # the one left: op 3
    ]
    assert matching.pair(ops, ours) == {"1": "p", "2": "q", "3": "r"}
    # two left on either side: no guess
    ours.append(matching.Ours("s", "h", "D", Decimal(8)))
    assert matching.pair(ops, ours) == {"1": "p", "2": "q"}


@pytest.fixture
def batch(organization):
    """Six SUCCESS payments and a FAILED one, all paid in one transaction;
    the network's operations of it and an extra one no payment of ours made."""
    asset = AssetFactory(organization=organization, code="XLM", issuer="")
    disbursement = DisbursementFactory(
        organization=organization, asset=asset, name="March"
    )
    start, _end = day_bounds(organization, dt.date(2026, 3, 2))
    at = start + dt.timedelta(hours=10)
    # What the network paid (destination, amount); our rows are then edited
    # as they are made: the second of the two paid 2.5 is given another
    # destination, the fourth another amount, and the last is FAILED here.
    paid = [(Keypair.random().public_key, a) for a in [*AMOUNTS, Decimal("7")]]
    ours = list(paid)
    ours[1] = (Keypair.random().public_key, ours[1][1])
    ours[3] = (ours[3][0], Decimal("40"))
    payments = []
    for n, (destination, amount) in enumerate(ours):
        status = Payment.Status.FAILED if n == 6 else Payment.Status.SUCCESS
        payment = PaymentFactory(
            disbursement=disbursement,
            amount=amount,
            status=status,
            stellar_transaction_id=BATCH,
            receiver_wallet__stellar_address=destination,
        )
        if status == Payment.Status.SUCCESS:
            PaymentStatusChange.objects.create(
                payment=payment, to_status=status, created_at=at
            )
        payments.append(payment)
    network = [
        ledger.NetworkPayment(toid(i), at, BATCH, destination, amount, "", "none")
        for i, (destination, amount) in enumerate(paid)
    ]
    outsider = Keypair.random().public_key
    network.insert(
        3,
        ledger.NetworkPayment(toid(len(paid)), at, BATCH, outsider,
                              Decimal("0.7"), "", "none"),
    )  # fmt: skip
    return asset, start, payments, network, outsider


def _found(organization, asset, start, network):
    found = _compare(organization, asset, start, start + dt.timedelta(days=1), network)
    return found, sorted(
        (d.kind, str(d.payment_id or ""), d.operation_id, d.network_amount)
        for d in found.differences
    )


@pytest.mark.parametrize("indexed", [False, True], ids=["by-fields", "by-index"])
def test_reconciliation_pairs_each_operation_of_a_batch(organization, batch, indexed):
    asset, start, payments, network, _outsider = batch
    if indexed:
        for index, payment in enumerate(payments):
            SubmitterTransactionFactory(
                tenant_id=organization.pk,
                external_id=str(payment.pk),
                stellar_transaction_hash=BATCH,
                operation_index=index,
            )
    found, differences = _found(organization, asset, start, network)
    assert found.payments_checked == 6
    assert found.operations_checked == 8
    _same, edited_destination, _three, edited_amount, _five, _six, failed = payments
    assert differences == sorted(
        [
            (Difference.Kind.DESTINATION_DIFFERS, str(edited_destination.pk),
             toid(1), Decimal("2.5")),
            (Difference.Kind.AMOUNT_DIFFERS, str(edited_amount.pk), toid(3),
             Decimal("4")),
            (Difference.Kind.NOT_SUCCESS_HERE, str(failed.pk), toid(6), Decimal("7")),
            (Difference.Kind.UNKNOWN_PAYMENT, "", toid(7), Decimal("0.7")),
        ]
    )  # fmt: skip


def test_a_payment_left_without_operation_is_missing(organization, batch):
    asset, start, payments, network, _outsider = batch
    # no operation of the third payment, nor the extra one (one left on each
    # side would be paired)
    network = [n for n in network if n.operation_id not in (toid(2), toid(7))]
    _, differences = _found(organization, asset, start, network)
    assert (Difference.Kind.MISSING_ON_NETWORK, str(payments[2].pk), "", None) in (
        differences
    )
    assert not [d for d in differences if d[0] == Difference.Kind.UNKNOWN_PAYMENT]


def test_statement_names_each_operations_own_receiver(organization, batch):
    asset, _start, payments, network, outsider = batch
    moves = [
        ledger.Movement(n.operation_id, n.at, "payment_out", n.transaction_hash,
                        n.destination, -n.amount)
        for n in network
    ]  # fmt: skip
    day = dt.date(2026, 3, 2)
    s = statements.assemble(organization, asset, ME, day, day, Decimal(0), moves)
    by_counterparty = {line.counterparty: line for line in s.lines}
    assert by_counterparty[outsider].receiver_external_id == ""
    assert by_counterparty[outsider].payment_id == ""
    ours = [line for line in s.lines if line.counterparty != outsider]
    # every other line is its own payment, edited or not
    assert sorted(line.payment_id for line in ours) == sorted(
        str(p.pk) for p in payments
    )
    assert [line.receiver_external_id for line in ours] == [
        p.receiver.external_id for p in payments
    ]
    assert {line.disbursement for line in ours} == {"March"}
