"""GET /health in SDP's shape: 200 with status pass, or 503 naming what is down.

GET /health/ready (the internal port, see docs/ports.md) adds the work
queues: it fails while a submitter transaction or a message has waited
PENDING longer than READINESS_MAX_PENDING_SECONDS, i.e. while no worker takes
work from a non-empty queue (a dead or wedged worker, a lost broker). /health
stays a liveness check of the web process itself.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True


def _redis_ok() -> bool:
    try:
        cache.get("health-check")
    except Exception:
        return False
    return True


def _body(services: dict, **extra) -> JsonResponse:
    ok = all(value == "pass" for value in services.values())
    body = {
        "status": "pass" if ok else "fail",
        "version": settings.VERSION,
        "service_id": "serve",
        "release_id": settings.VERSION,
        "services": services,
        **extra,
    }
    return JsonResponse(body, status=200 if ok else 503)


def health(request: HttpRequest) -> JsonResponse:
    return _body(
        {
            "database": "pass" if _database_ok() else "fail",
            "redis": "pass" if _redis_ok() else "fail",
        }
    )


def _queue_ages() -> dict[str, float | None]:
    from messaging.selectors import oldest_pending_created_at as oldest_message
    from tss.services import oldest_pending_created_at as oldest_transaction

    now = timezone.now()
    ages = {}
    for name, oldest in (
        ("payments", oldest_transaction),
        ("messages", oldest_message),
    ):
        created = oldest()
        ages[name] = None if created is None else (now - created).total_seconds()
    return ages


def ready(request: HttpRequest) -> JsonResponse:
    """Liveness plus "a worker takes work": the oldest PENDING submitter
    transaction and message are younger than READINESS_MAX_PENDING_SECONDS."""
    database = _database_ok()
    services = {
        "database": "pass" if database else "fail",
        "redis": "pass" if _redis_ok() else "fail",
    }
    bound = settings.READINESS_MAX_PENDING_SECONDS
    ages: dict[str, float | None] = {}
    if database:
        ages = _queue_ages()
        for name, age in ages.items():
            services[f"{name}_queue"] = (
                "fail" if age is not None and age > bound else "pass"
            )
    return _body(
        services,
        oldest_pending_seconds={
            k: None if v is None else round(v, 1) for k, v in ages.items()
        },
        max_pending_seconds=bound,
    )
