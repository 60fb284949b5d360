"""Issue 16.2: Redis restarted empty under a running worker holding
unacknowledged tasks; the worker survives and every payment is paid once."""

import os

import pytest
from django.conf import settings

from bench.broker_restart import one_run
from tests.redis_server import RedisServer


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.mark.django_db(transaction=True)
def test_worker_survives_a_redis_restart_and_pays_each_payment_once(
    network, channel_accounts, redis_server
):
    channel_accounts(4)
    env = dict(os.environ)
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["HORIZON_URL"] = network.url
    env["NETWORK_PASSPHRASE"] = network.passphrase
    from tests.conftest import CELERY_PREFIX

    env["CELERY_KEY_PREFIX"] = CELERY_PREFIX
    outcome = one_run(network, redis_server, env, payments=12, restarts=1)
    assert outcome["restarts_with_unacked"] == 1, outcome
    assert outcome["worker_alive"], outcome
    assert outcome["double"] == 0, outcome
    assert outcome["lost"] == 0, outcome
    assert outcome["unfinished"] == 0, outcome
