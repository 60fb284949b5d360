"""Every (from, to) pair of every status machine, and a race between two
connections on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from core.fsm import InvalidTransition, transition, transition_many
from disbursements.models import Disbursement, Payment
from messaging.models import Message
from receivers.models import ReceiverWallet
from tests.factories import (
    DisbursementFactory,
    MessageFactory,
    PaymentFactory,
    ReceiverWalletFactory,
    SubmitterTransactionFactory,
    UserFactory,
)
from tss.models import SubmitterTransaction

MACHINES = {
    Disbursement: DisbursementFactory,
    Payment: PaymentFactory,
    ReceiverWallet: ReceiverWalletFactory,
    Message: MessageFactory,
    SubmitterTransaction: SubmitterTransactionFactory,
}

# SDP's transitions (reference §3), written out again here on purpose: the test
# must fail if a model's table drifts from them.
EXPECTED = {
    Disbursement: {
        ("DRAFT", "READY"),
        ("READY", "READY"),
        ("READY", "STARTED"),
        ("STARTED", "PAUSED"),
        ("PAUSED", "STARTED"),
        ("STARTED", "COMPLETED"),
    },
    Payment: {
        ("DRAFT", "READY"),
        ("DRAFT", "CANCELED"),  # a direct payment held for approvals, withdrawn
        ("READY", "READY"),  # held by a cooling period (the history says why)
        ("READY", "PENDING"),
        ("READY", "PAUSED"),
        ("PAUSED", "READY"),
        ("READY", "CANCELED"),
        ("READY", "FAILED"),
        ("PENDING", "FAILED"),
        ("PENDING", "SUCCESS"),
        ("FAILED", "PENDING"),
        ("FAILED", "READY"),
    },
    ReceiverWallet: {
        ("DRAFT", "READY"),
        ("READY", "REGISTERED"),
        ("READY", "FLAGGED"),
        ("FLAGGED", "READY"),
        ("REGISTERED", "FLAGGED"),
        ("FLAGGED", "REGISTERED"),
        ("REGISTERED", "READY"),
    },
    Message: {("PENDING", "SUCCESS"), ("PENDING", "FAILURE"), ("FAILURE", "PENDING")},
    SubmitterTransaction: {
        ("PENDING", "PROCESSING"),
        ("PROCESSING", "SUCCESS"),
        ("PROCESSING", "ERROR"),
    },
}

CASES = [
    (model, from_status, to_status)
    for model in MACHINES
    for from_status in model.Status.values
    for to_status in model.Status.values
]


@pytest.mark.parametrize(
    ("model", "from_status", "to_status"),
    CASES,
    ids=[f"{m.__name__}-{f}-{t}" for m, f, t in CASES],
)
@pytest.mark.django_db
def test_transition_table_is_enforced(model, from_status, to_status):
    obj = MACHINES[model](status=from_status)
    allowed = (from_status, to_status) in EXPECTED[model]
    assert obj.can_transition_to(to_status) is allowed
    if allowed:
        transition(obj, to=to_status, note="because")
        obj.refresh_from_db()
        assert obj.status == to_status
        entry = getattr(obj, model.STATUS_HISTORY).get()
        assert (entry.from_status, entry.to_status, entry.note) == (
            from_status,
            to_status,
            "because",
        )
    else:
        with pytest.raises(InvalidTransition):
            transition(obj, to=to_status)
        obj.refresh_from_db()
        assert obj.status == from_status
        assert not getattr(obj, model.STATUS_HISTORY).exists()


@pytest.mark.django_db
def test_stale_instance_cannot_move_a_row_that_moved():
    payment = PaymentFactory(status=Payment.Status.READY)
    stale = Payment.objects.get(pk=payment.pk)
    transition(payment, to=Payment.Status.CANCELED)
    with pytest.raises(InvalidTransition, match="concurrently"):
        transition(stale, to=Payment.Status.PENDING)
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.CANCELED


@pytest.mark.django_db
def test_transition_many_moves_only_rows_in_the_source_status():
    disbursement = DisbursementFactory()
    drafts = PaymentFactory.create_batch(3, disbursement=disbursement)
    canceled = PaymentFactory(disbursement=disbursement, status=Payment.Status.CANCELED)
    moved = transition_many(
        Payment.objects.filter(disbursement=disbursement),
        from_status=Payment.Status.DRAFT,
        to=Payment.Status.READY,
        note="started",
    )
    assert sorted(moved) == sorted(p.pk for p in drafts)
    assert Payment.objects.filter(status=Payment.Status.READY).count() == 3
    canceled.refresh_from_db()
    assert canceled.status == Payment.Status.CANCELED
    assert Payment.history_model().objects.filter(note="started").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("model", list(MACHINES), ids=lambda m: m.__name__)
def test_transition_many_writes_whole_history_rows(model, django_user_model):
    """The history rows are written by COPY: every column, defaults included."""
    from_status, to_status = sorted(EXPECTED[model])[0]
    rows = MACHINES[model].create_batch(2, status=from_status)
    extra = {}
    history = model.history_model()
    if any(f.name == "actor" for f in history._meta.fields):
        extra["actor"] = UserFactory()
    moved = transition_many(
        model.objects.filter(pk__in=[r.pk for r in rows]),
        from_status=from_status,
        to=to_status,
        note="bulk",
        **extra,
    )
    assert sorted(moved) == sorted(r.pk for r in rows)
    written = history.objects.filter(note="bulk")
    assert written.count() == 2
    for entry in written:
        assert (entry.from_status, entry.to_status) == (from_status, to_status)
        assert entry.created_at is not None
        if extra:
            assert entry.actor == extra["actor"]


@pytest.mark.django_db
def test_any_lookup_matches_a_list_as_one_array():
    payments = PaymentFactory.create_batch(3)
    wanted = [payments[0].pk, payments[2].pk]
    assert set(
        Payment.objects.filter(pk__any=wanted).values_list("pk", flat=True)
    ) == set(wanted)
    assert not Payment.objects.filter(pk__any=[]).exists()


@pytest.mark.django_db
def test_transition_many_writes_each_rows_own_values_in_the_same_update():
    disbursement = DisbursementFactory()
    first, second, third = PaymentFactory.create_batch(
        3, disbursement=disbursement, status=Payment.Status.PENDING
    )
    moved = transition_many(
        Payment.objects.filter(disbursement=disbursement),
        from_status=Payment.Status.PENDING,
        to=Payment.Status.SUCCESS,
        note="on the ledger",
        updates={"sender_address": "G" * 56},
        # Only the rows named here move: the third stays PENDING.
        row_updates={
            first.pk: {"stellar_transaction_id": "a" * 64},
            second.pk: {"stellar_transaction_id": "b" * 64},
        },
    )
    assert sorted(moved) == sorted([first.pk, second.pk])
    rows = {p.pk: p for p in Payment.objects.filter(disbursement=disbursement)}
    assert rows[first.pk].stellar_transaction_id == "a" * 64
    assert rows[second.pk].stellar_transaction_id == "b" * 64
    assert {rows[first.pk].status, rows[second.pk].status} == {"SUCCESS"}
    assert rows[first.pk].sender_address == "G" * 56
    assert rows[third.pk].status == "PENDING"
    assert rows[third.pk].stellar_transaction_id == ""
    history = Payment.history_model().objects.filter(note="on the ledger")
    assert sorted(h.payment_id for h in history) == sorted([first.pk, second.pk])


@pytest.mark.django_db
def test_update_from_values_touches_only_rows_matching_where_and_match():
    from core.bulk import update_from_values

    rows = [
        SubmitterTransactionFactory(status="PROCESSING", stellar_transaction_hash=h)
        for h in ("1" * 64, "2" * 64, "3" * 64)
    ]
    updated = update_from_values(
        SubmitterTransaction,
        {
            rows[0].pk: {"stellar_transaction_hash": "1" * 64, "ledger": 7},
            # The row holds another hash now: not this result's.
            rows[1].pk: {"stellar_transaction_hash": "f" * 64, "ledger": 8},
            rows[2].pk: {"stellar_transaction_hash": "3" * 64, "ledger": None},
        },
        also={"result_xdr": "AAAA"},
        where={"status": "PROCESSING"},
        match=("stellar_transaction_hash",),
    )
    assert sorted(updated) == sorted([rows[0].pk, rows[2].pk])
    for row in rows:
        row.refresh_from_db()
    assert (rows[0].ledger, rows[0].result_xdr) == (7, "AAAA")
    assert (rows[1].ledger, rows[1].result_xdr) == (None, "")
    assert (rows[2].ledger, rows[2].result_xdr) == (None, "AAAA")


@pytest.mark.django_db
def test_transition_many_refuses_a_move_outside_the_table():
    with pytest.raises(InvalidTransition):
        transition_many(Payment.objects.all(), from_status="SUCCESS", to="READY")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", list(MACHINES), ids=lambda m: m.__name__)
def test_two_connections_moving_one_row_exactly_one_wins(model):
    from_status, to_status = sorted(EXPECTED[model])[0]
    obj = MACHINES[model](status=from_status)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move() -> None:
        try:
            mine = model.objects.get(pk=obj.pk)  # both read the old status
            barrier.wait(timeout=10)
            transition(mine, to=to_status)
            outcomes.append("won")
        except InvalidTransition:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=move) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["lost", "won"]
    obj.refresh_from_db()
    assert obj.status == to_status
    assert getattr(obj, model.STATUS_HISTORY).count() == 1
