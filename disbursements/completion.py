"""A STARTED disbursement whose payments are all done becomes COMPLETED.

Checked wherever a payment becomes final (the TSS's result, a cancel, the READY
auto-cancel) and when a disbursement resumes, inside the caller's transaction;
``sweep_finished_disbursements`` (beat) catches any that slipped through.
As SDP, a FAILED payment can still be retried (which needs a STARTED
disbursement), so only SUCCESS and CANCELED count as done.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from core.fsm import InvalidTransition, transition
from disbursements.events import emit_disbursements
from disbursements.models import Disbursement, Payment

FINAL = (Payment.Status.SUCCESS, Payment.Status.CANCELED)


def complete_finished_disbursements(disbursement_ids: Iterable) -> list:
    """Move to COMPLETED those of ``disbursement_ids`` that are STARTED, have
    payments, and have none left unfinished. Returns the ids it moved."""
    ids = {pk for pk in disbursement_ids if pk is not None}
    if not ids:
        return []
    unfinished = Payment.objects.filter(disbursement=OuterRef("pk")).filter(
        ~Q(status__in=FINAL)
    )
    any_payment = Payment.objects.filter(disbursement=OuterRef("pk"))
    done = []
    with transaction.atomic():
        candidates = (
            Disbursement.objects.filter(pk__in=ids, status=Disbursement.Status.STARTED)
            .filter(Exists(any_payment), ~Exists(unfinished))
            .select_for_update(skip_locked=False)
            .order_by("pk")
        )
        for disbursement in candidates:
            # Completed (or paused) by someone else meanwhile: nothing to do.
            with suppress(InvalidTransition):
                transition(
                    disbursement,
                    to=Disbursement.Status.COMPLETED,
                    note="every payment is final",
                )
                done.append(disbursement.pk)
        emit_disbursements("disbursement.completed", done)
    return done


def complete_disbursements_of(payment_pks: Iterable) -> list:
    """The completion check for the disbursements of these payments."""
    pks = list(payment_pks)
    if not pks:
        return []
    return complete_finished_disbursements(
        Payment.objects.filter(pk__in=pks, disbursement__isnull=False)
        .values_list("disbursement_id", flat=True)
        .distinct()
    )


def sweep_finished_disbursements() -> int:
    """Every STARTED disbursement that should be COMPLETED and is not."""
    ids = list(
        Disbursement.objects.filter(status=Disbursement.Status.STARTED).values_list(
            "pk", flat=True
        )
    )
    return len(complete_finished_disbursements(ids))
