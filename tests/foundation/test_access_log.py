"""Issue 18.6: the access log through real gunicorn, as deployed: one JSON line
a request with the request id and the tenant, a 4xx logged once."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from auth_org.models import Role
from auth_org.tokens import issue_token
from tests.factories import UserFactory
from tests.foundation.test_ports import get, gunicorn


def _lines(log_path) -> list[dict]:
    lines = []
    for raw in log_path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def _wait_for(log_path, predicate, timeout=10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in _lines(log_path) if predicate(line)]
        if found:
            time.sleep(0.3)  # anything logged twice would be there by now
            return [line for line in _lines(log_path) if predicate(line)]
        time.sleep(0.1)
    return []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flags", [("--access-logfile", "-"), ()])
def test_one_json_access_line_a_request_with_request_id_and_tenant(organization, flags):
    """Both the Dockerfile's command (--access-logfile -) and compose's."""
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    with gunicorn(*flags) as (ports, log_path):
        public = ports["PORT"]
        request = urllib.request.Request(
            f"http://127.0.0.1:{public}/statistics",
            headers={
                "Authorization": f"Bearer {issue_token(owner)}",
                "X-Request-ID": "req-access-1",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        lines = _wait_for(log_path, lambda line: line.get("path") == "/statistics")
        assert len(lines) == 1, lines
        line = lines[0]
        assert line["logger"] == "sdp.access"
        assert line["request_id"] == "req-access-1"
        assert line["tenant"] == organization.name
        assert line["status"] == 200
        assert line["method"] == "GET"
        assert line["duration_ms"] >= 0

        assert get(public, "/no-such-route?token=secret123")[0] == 404
        missing = [
            raw for raw in log_path.read_text().splitlines() if "no-such-route" in raw
        ]
        time.sleep(0.5)
        missing = [
            raw for raw in log_path.read_text().splitlines() if "no-such-route" in raw
        ]
        assert len(missing) == 1, missing
        entry = json.loads(missing[0])
        assert entry["status"] == 404
        assert entry["request_id"] not in ("", "-")
        assert "secret123" not in log_path.read_text()
