"""Periodic jobs of receivers (thin wrappers over services)."""

from celery import shared_task

from receivers.sep.web_auth import delete_expired_nonces


@shared_task
def delete_expired_sep_nonces_task() -> int:
    return delete_expired_nonces()
