"""GET /health in SDP's shape: 200 with status pass, or 503 naming what is down."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


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


def health(request: HttpRequest) -> JsonResponse:
    services = {
        "database": "pass" if _database_ok() else "fail",
        "redis": "pass" if _redis_ok() else "fail",
    }
    ok = all(value == "pass" for value in services.values())
    body = {
        "status": "pass" if ok else "fail",
        "version": settings.VERSION,
        "service_id": "serve",
        "release_id": settings.VERSION,
        "services": services,
    }
    return JsonResponse(body, status=200 if ok else 503)
