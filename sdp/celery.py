import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")


app = Celery("sdp")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Named, not imported: importing celery.worker here would bind its tracer
# before sentry-sdk patches it (sdp.crashtracker).
app.conf.worker_consumer = "sdp.celeryworker:Consumer"
app.autodiscover_tasks()
