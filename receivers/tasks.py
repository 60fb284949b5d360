from celery import shared_task

from receivers import invitations


@shared_task(ignore_result=True)
def resend_receiver_invitations_task() -> None:
    invitations.resend_invitations()
