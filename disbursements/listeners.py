"""Reactions of disbursements to news from the layers below.

- the TSS finished submitter transactions (or the Circle rail its transfer
  requests, ``on_circle_transfers_finished``): their payments become SUCCESS (with the
  transaction hash and the paying account) or FAILED (with the readable reason in
  the status history), and a STARTED disbursement whose payments are all done
  (SUCCESS or CANCELED; a FAILED one may be retried) becomes COMPLETED. Runs
  inside the TSS's transaction, so both commit together; a repeated notice
  moves nothing (only PENDING payments move).
- a receiver wallet became REGISTERED: its READY payments go to the TSS at once.
- questions from below, answered by refusing (APIError) what our rows forbid: a
  tenant is not deactivated while payments are READY or PENDING, a receiver
  wallet is not unregistered while payments to it are PENDING.

Payment results (SUCCESS, FAILED, CANCELED) are passed down to receivers'
SEP-24 service (``report_to_sep24``), so a wallet's SEP-24 transaction follows
the money; receivers is below us, so this is a call, not a signal.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from types import SimpleNamespace

from core.api import APIError
from core.fsm import transition_many
from disbursements.completion import complete_disbursements_of
from disbursements.handoff import hand_off_payments
from disbursements.models import Payment, PaymentStatusChange
from disbursements.retries import WAITING_NOTE, reason_of
from receivers.sep.interactive import PaymentResult, record_payment_results


def _is_payment_id(external_id: str) -> bool:
    try:
        uuid.UUID(external_id)
    except ValueError:
        return False
    return True


def on_transactions_finished(sender, submitter_transactions, **kwargs) -> None:
    # Other TSS users (none yet) would use external ids that are not payments.
    ours = [t for t in submitter_transactions if _is_payment_id(t.external_id)]
    succeeded = [t for t in ours if t.status == "SUCCESS"]
    failed = [t for t in ours if t.status == "ERROR"]
    touched: set = set()
    if succeeded:
        # Keyed by the payments' own primary keys (external ids are their text).
        values = {
            uuid.UUID(t.external_id): {
                "stellar_transaction_id": t.stellar_transaction_hash or "",
                "sender_address": t.distribution_account,
            }
            for t in succeeded
        }
        moved = transition_many(
            Payment.objects.filter(pk__in=list(values)),
            from_status=Payment.Status.PENDING,
            to=Payment.Status.SUCCESS,
            note="",
            row_updates=values,
        )
        touched.update(moved)
    by_reason = defaultdict(list)
    for tx in failed:
        by_reason[tx.status_message or "the payment failed"].append(tx.external_id)
    for reason, pks in by_reason.items():
        # A failure its receiver can fix waits with its typed reason, for the
        # watcher (disbursements.retries).
        typed = reason_of(reason)
        touched.update(
            transition_many(
                Payment.objects.filter(pk__in=pks),
                from_status=Payment.Status.PENDING,
                to=Payment.Status.FAILED,
                note=reason + WAITING_NOTE if typed else reason,
                updates={"failure_reason": typed},
            )
        )
    if touched:
        payments_became_final(touched)


def on_circle_transfers_finished(sender, transfer_requests, **kwargs) -> None:
    """The Circle rail's results, as the TSS's: SUCCESS with the Stellar hash
    Circle gave, FAILED with Circle's reason."""
    on_transactions_finished(
        sender,
        [
            SimpleNamespace(
                external_id=r.external_id,
                status="SUCCESS" if r.status == "SUCCESS" else "ERROR",
                stellar_transaction_hash=r.stellar_transaction_hash,
                distribution_account="",
                status_message=r.status_message,
            )
            for r in transfer_requests
        ],
    )


def payments_became_final(payment_pks) -> None:
    """What follows wherever payments reach a result (the TSS's, a cancel, the
    READY auto-cancel), in the caller's transaction: their disbursements
    complete if nothing is left open, and their SEP-24 transactions learn it."""
    complete_disbursements_of(payment_pks)
    report_to_sep24(payment_pks)


def report_to_sep24(payment_pks) -> int:
    """Tell receivers' SEP-24 transactions the results of these payments (in the
    caller's transaction). Only final results are told: SUCCESS, FAILED,
    CANCELED."""
    final = (Payment.Status.SUCCESS, Payment.Status.FAILED, Payment.Status.CANCELED)
    rows = list(
        Payment.objects.filter(pk__in=list(payment_pks), status__in=final).values(
            "pk",
            "receiver_wallet_id",
            "status",
            "amount",
            "asset__code",
            "asset__issuer",
            "stellar_transaction_id",
            "sender_address",
        )
    )
    if not rows:
        return 0
    notes = {}
    for change in PaymentStatusChange.objects.filter(
        payment_id__in=[row["pk"] for row in rows], to_status=Payment.Status.FAILED
    ).order_by("created_at"):
        notes[change.payment_id] = change.note
    return record_payment_results(
        PaymentResult(
            receiver_wallet_id=row["receiver_wallet_id"],
            payment_id=row["pk"],
            status=row["status"],
            amount=row["amount"],
            asset_code=row["asset__code"],
            asset_issuer=row["asset__issuer"],
            stellar_transaction_id=row["stellar_transaction_id"],
            from_address=row["sender_address"],
            message=notes.get(row["pk"], "")
            if row["status"] == Payment.Status.FAILED
            else "",
        )
        for row in rows
    )


def on_receiver_wallet_registered(sender, receiver_wallet, **kwargs) -> None:
    hand_off_payments(Payment.objects.filter(receiver_wallet=receiver_wallet))


def refuse_deactivation_in_flight(sender, organization, **kwargs) -> None:
    if Payment.objects.filter(
        organization=organization,
        status__in=[Payment.Status.READY, Payment.Status.PENDING],
    ).exists():
        raise APIError("Cannot deactivate a tenant with payments READY or PENDING.")


def refuse_unregistering_in_flight(sender, receiver_wallet, **kwargs) -> None:
    if Payment.objects.filter(
        receiver_wallet_id=receiver_wallet.pk, status=Payment.Status.PENDING
    ).exists():
        raise APIError(
            "the receiver wallet has payments in progress; it cannot be "
            "unregistered until they finish"
        )


def connect() -> None:
    from auth_org.signals import tenant_deactivating
    from circle.signals import transfers_finished
    from receivers.signals import (
        receiver_wallet_registered,
        receiver_wallet_unregistering,
    )
    from tss.signals import transactions_finished

    transactions_finished.connect(
        on_transactions_finished, dispatch_uid="disbursements.tss_results"
    )
    transfers_finished.connect(
        on_circle_transfers_finished, dispatch_uid="disbursements.circle_results"
    )
    receiver_wallet_registered.connect(
        on_receiver_wallet_registered, dispatch_uid="disbursements.handoff_on_register"
    )
    tenant_deactivating.connect(
        refuse_deactivation_in_flight, dispatch_uid="disbursements.deactivation"
    )
    receiver_wallet_unregistering.connect(
        refuse_unregistering_in_flight, dispatch_uid="disbursements.unregistering"
    )
