"""Reactions of disbursements to news from the layers below.

- the TSS finished submitter transactions: their payments become SUCCESS (with the
  transaction hash and the paying account) or FAILED (with the readable reason in
  the status history), and a STARTED disbursement whose payments are all done
  (SUCCESS or CANCELED; a FAILED one may be retried) becomes COMPLETED. Runs
  inside the TSS's transaction, so both commit together; a repeated notice
  moves nothing (only PENDING payments move).
- a receiver wallet became REGISTERED: its READY payments go to the TSS at once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from disbursements.completion import complete_disbursements_of
from disbursements.handoff import hand_off_payments
from disbursements.models import Payment
from sdp.fsm import transition_many


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
        touched.update(
            transition_many(
                Payment.objects.filter(pk__in=pks),
                from_status=Payment.Status.PENDING,
                to=Payment.Status.FAILED,
                note=reason,
            )
        )
    if touched:
        complete_disbursements_of(touched)


def on_receiver_wallet_registered(sender, receiver_wallet, **kwargs) -> None:
    hand_off_payments(Payment.objects.filter(receiver_wallet=receiver_wallet))


def connect() -> None:
    from receivers.signals import receiver_wallet_registered
    from tss.signals import transactions_finished

    transactions_finished.connect(
        on_transactions_finished, dispatch_uid="disbursements.tss_results"
    )
    receiver_wallet_registered.connect(
        on_receiver_wallet_registered, dispatch_uid="disbursements.handoff_on_register"
    )
