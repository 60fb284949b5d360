"""Thin Celery wrappers; routed to the ``webhooks`` queue (CELERY_TASK_ROUTES)."""

from celery import shared_task

from webhooks import delivery


@shared_task(acks_late=True, ignore_result=True)
def deliver_due_task() -> None:
    outcome = delivery.deliver_due()
    if outcome["more"]:
        deliver_due_task.delay()
    elif outcome["retry_in"] is not None:
        deliver_due_task.apply_async(countdown=outcome["retry_in"])


@shared_task(ignore_result=True)
def sweep_due_deliveries_task() -> None:
    """Queue a run when deliveries are due and maybe no task is coming (a task
    lost with Redis, a worker killed, a retry time reached)."""
    if delivery.any_due():
        deliver_due_task.delay()
