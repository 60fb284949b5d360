from celery import shared_task

from disbursements.payments import cancel_expired_ready_payments


@shared_task
def cancel_expired_ready_payments_task() -> int:
    return cancel_expired_ready_payments()
