"""docs/webhooks.md's 10-line receiver, run as written (its secret and port
filled in), verifies our deliveries and refuses a forged one."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.redis_server import free_port
from webhooks import delivery, services
from webhooks.events import emit
from webhooks.models import Attempt

pytestmark = pytest.mark.django_db


def receiver_code() -> str:
    text = (ROOT / "docs" / "webhooks.md").read_text()
    section = text.split("## A receiver in ten-odd lines of Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 14
    return code


def test_the_documented_receiver_verifies_our_deliveries(organization):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    _, secret = services.create_endpoint(tenant_id=organization.pk, url=url)
    code = receiver_code().replace('"whsec_..."', repr(secret))
    code = code.replace('("", 8000)', f'("127.0.0.1", {port})')
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1)
            except urllib.error.HTTPError:
                break  # up (it answers GET with 501)
            except OSError:
                time.sleep(0.1)
        emit(organization.pk, "payment.failed", "p-1", {"id": "p-1"})
        delivery.deliver_batch()
        assert Attempt.objects.get().status_code == 204
        forged = urllib.request.Request(
            url,
            data=b'{"type":"payment.succeeded"}',
            headers={
                "webhook-id": "x",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAA",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 400
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert out.split()[0] == "payment.failed"
    assert out.split()[2] == "p-1"
