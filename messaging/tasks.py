from celery import shared_task

from messaging import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_message_task(message_id: str) -> None:
    services.deliver_message(message_id)
