"""A sample of the Circle crash harness (bench/crash_circle.py): the rail, in a
child process, killed by SIGKILL around the Circle request while the fake Circle
fails after accepting or loses its answer; restarted; every payment is then on
the ledger exactly once, Circle made one transfer each, and all are SUCCESS."""

import os
import random

import pytest

from bench.crash_circle import CHILD_ENV, FAULTS, circle_tenant, one_run

CASES = [
    ("after_request", {"error_after_accept": 2}),
    ("after_lease", {"timeout": 2, "timeout_seconds": 1.5}),
    ("during_sync", {}),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("point", "faults"), CASES, ids=[f"{p}-{','.join(f) or 'none'}" for p, f in CASES]
)
def test_rail_killed_around_the_circle_request_pays_each_payment_once(
    network, fake_circle, point, faults, settings
):
    assert faults in FAULTS
    settings.CIRCLE_API_BASE_URL = fake_circle.url
    organization = circle_tenant(fake_circle)
    env = dict(os.environ, **CHILD_ENV)
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["HORIZON_URL"] = network.url
    env["CIRCLE_API_BASE_URL"] = fake_circle.url

    class Chosen(random.Random):
        def choice(self, seq):
            return faults if seq is FAULTS else point

        def randint(self, a, b):
            return 0

    outcome = one_run(network, fake_circle, organization, Chosen(), 3, env)
    assert outcome["killed"], outcome
    assert outcome["double"] == 0, outcome
    assert outcome["lost"] == 0, outcome
    assert outcome["circle_transfers_beyond_one"] == 0, outcome
    assert outcome["unfinished"] == 0, outcome
