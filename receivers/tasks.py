"""Periodic jobs of receivers (thin wrappers over services)."""

from celery import shared_task

from receivers import invitations, registration
from receivers.sep.web_auth import delete_expired_nonces


@shared_task(ignore_result=True)
def resend_receiver_invitations_task() -> None:
    invitations.resend_invitations()


@shared_task(ignore_result=True)
def delete_expired_sep_nonces_task() -> int:
    return delete_expired_nonces()


@shared_task(ignore_result=True)
def delete_stale_stranger_codes_task() -> int:
    return registration.delete_stale_stranger_codes()
