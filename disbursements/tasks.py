from celery import shared_task

from disbursements.payments import cancel_expired_ready_payments


@shared_task
def cancel_expired_ready_payments_task() -> int:
    return cancel_expired_ready_payments()


@shared_task
def compact_payment_tallies_task() -> int:
    from disbursements.tallies import compact_payment_tallies

    return compact_payment_tallies()


@shared_task
def complete_finished_disbursements_task() -> int:
    """Beat: STARTED disbursements whose payments are all final, that no payment
    event completed (a race between two finishing transactions, a crash)."""
    from disbursements.completion import sweep_finished_disbursements

    return sweep_finished_disbursements()


@shared_task
def watch_failed_destinations_task() -> int:
    """Beat: FAILED payments waiting on their receiver go back to the TSS when
    the network shows their destination fixed (disbursements.retries)."""
    from disbursements.retries import watch_failed_destinations

    return watch_failed_destinations()


@shared_task
def hand_off_cooled_payments_task() -> int:
    """Beat: payments whose receiver's address cooling period passed."""
    from disbursements.cooling import hand_off_cooled_payments

    return hand_off_cooled_payments()
