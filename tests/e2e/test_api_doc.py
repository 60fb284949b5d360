"""docs/api.md's script, run as written: its "A disbursement from a script" block
through bash, curl and jq against a live server and the localnet, after a real
login with MFA. The draft is created, its CSV uploaded, the disbursement started
(its balance read from the localnet), and the export downloaded."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest

from disbursements.models import Disbursement, Payment
from tests.e2e.dashboard import Dashboard, mfa_code_from_outbox

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
OWNER_EMAIL = "owner@journey.example.org"
OWNER_PASSWORD = "Journey-Owner-9-Password!"


def _script() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## A disbursement from a script", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S)[1]


def test_the_documented_script_runs_a_disbursement(
    journey_tenant, live_server, closing, tmp_path
):
    dashboard = Dashboard(live_server.url, journey_tenant.name)
    closing(dashboard.http)
    organization_id = journey_tenant.organization.id
    token = dashboard.log_in(
        OWNER_EMAIL,
        OWNER_PASSWORD,
        lambda email, since: mfa_code_from_outbox(organization_id, email, since),
    )

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _script()],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "SDP": live_server.url, "TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    disbursement = Disbursement.objects.get(
        organization=journey_tenant.organization, name="March stipends"
    )
    assert disbursement.status == Disbursement.Status.STARTED
    payment = Payment.objects.get(disbursement=disbursement)
    assert (str(payment.amount), payment.status) == ("15.5000000", "READY")
    # Step 4's figures, as jq printed them.
    assert '"status": "STARTED"' in result.stdout
    exported = (tmp_path / "payments.csv").read_text()
    assert list(csv.DictReader(io.StringIO(exported))) == []  # none SUCCESS yet
    assert exported.startswith("ID,")
