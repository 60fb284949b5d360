"""A view and a task that fail with personal data in hand, for the Sentry test
(tests/foundation/test_sentry.py); loaded only by that test's processes."""

from celery import shared_task
from django.http import HttpRequest
from django.urls import path

PHONE = "+14155550199"
EMAIL = "jane.receiver@example.org"


def boom_view(request: HttpRequest):
    phone = request.POST.get("phone")
    raise ValueError(f"cannot invite {request.POST.get('email')} at {phone}")


urlpatterns = [path("boom", boom_view)]


@shared_task(name="tests.sentry_boom")
def boom_task(phone: str, email: str) -> None:
    raise ValueError(f"cannot reach {email} at {phone}")
