from celery import shared_task

from disbursements.payments import cancel_expired_ready_payments


@shared_task
def cancel_expired_ready_payments_task() -> int:
    return cancel_expired_ready_payments()


@shared_task
def compact_payment_tallies_task() -> int:
    from disbursements.tallies import compact_payment_tallies

    return compact_payment_tallies()
