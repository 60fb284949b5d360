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
