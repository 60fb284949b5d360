"""A small sample of the crash harness (bench/crash.py): the engine, in a child
process, killed by SIGKILL at a named point, restarted; every payment is then on
the ledger exactly once and final.

The sample is drawn from a fixed seed, so every run tests the same points; the
seed is in the test ids (``[seed1-...]``) and ``TSS_CRASH_SEED=n`` draws another
sample (bench/crash.py runs them all).
"""

import os
import random

import pytest
from django.conf import settings

from bench.crash import one_run
from tss import crashpoints

SEED = int(os.environ.get("TSS_CRASH_SEED", "1"))
POINTS = random.Random(SEED).sample(crashpoints.POINTS, 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", POINTS, ids=lambda point: f"seed{SEED}-{point}")
def test_engine_killed_at_a_named_point_pays_each_payment_once(
    network, channel_accounts, point
):
    channel_accounts(4)
    env = dict(os.environ)
    env["DATABASE_NAME"] = settings.DATABASES["default"]["NAME"]
    env["HORIZON_URL"] = network.url
    env["NETWORK_PASSPHRASE"] = network.passphrase
    env["TSS_LEASE_LEDGERS"] = "5"

    class OnePoint(random.Random):
        def choice(self, seq):
            return point if seq is crashpoints.POINTS else super().choice(seq)

    outcome = one_run(network, OnePoint(), 4, env, contract_share=0.5)
    assert outcome["contracts"] == 2
    assert outcome["double"] == 0, outcome
    assert outcome["lost"] == 0, outcome
    assert outcome["unfinished"] == 0, outcome
