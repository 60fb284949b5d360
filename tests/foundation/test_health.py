import pytest


@pytest.mark.django_db
def test_health_passes_when_database_and_redis_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pass"
    assert body["services"] == {"database": "pass", "redis": "pass"}
    assert {"version", "service_id", "release_id"} <= body.keys()


@pytest.mark.django_db
def test_health_fails_with_503_when_redis_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["services"]["redis"] == "fail"
    assert response.json()["status"] == "fail"


def _sample(body: str, prefix: str) -> float:
    """The value of the /metrics line starting with ``prefix`` (0 if absent)."""
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.django_db
def test_metrics_count_each_request_by_view_method_and_status(client):
    latency = (
        "django_http_requests_latency_seconds_by_view_method_count"
        '{method="GET",view="health"}'
    )
    ok = (
        "django_http_responses_total_by_status_view_method_total"
        '{method="GET",status="200",view="health"}'
    )
    missing = (
        "django_http_responses_total_by_status_view_method_total"
        '{method="GET",status="404",view="<unnamed view>"}'
    )
    before = client.get("/metrics").content.decode()
    client.get("/health")
    client.get("/health")
    client.get("/no-such-page")
    after = client.get("/metrics").content.decode()
    assert _sample(after, latency) == _sample(before, latency) + 2
    assert _sample(after, ok) == _sample(before, ok) + 2
    assert _sample(after, missing) == _sample(before, missing) + 1
    assert 'le="0.1",method="GET",view="health"}' in after
