"""Thin Celery wrappers; routed to the ``messages`` queue (CELERY_TASK_ROUTES)."""

from celery import shared_task

from messaging import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_message_task(message_id: str) -> None:
    services.deliver_message(message_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages_task(message_ids: list[str]) -> None:
    for message_id in message_ids:
        services.deliver_message(message_id)


@shared_task(ignore_result=True)
def sweep_pending_messages_task() -> None:
    services.sweep_pending_messages()
