"""The SDP dashboard's requests, over real HTTP (dashboard-api.md §2 and §4):
the headers it sends, the multipart upload, the login with MFA."""

from __future__ import annotations

import json
import re
import time
import uuid

import requests

from messaging.models import Message

TIMEOUT = 15


def mfa_code_from_outbox(tenant_id, email: str, since) -> str:
    """The newest USER_MFA code to ``email`` (the dry-run email outbox)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = (
            Message.objects.filter(
                tenant_id=tenant_id,
                kind=Message.Kind.USER_MFA,
                recipient=email,
                created_at__gte=since,
            )
            .order_by("-created_at")
            .first()
        )
        if message is not None:
            return re.search(r"(?<!\d)(\d{6})(?!\d)", message.body).group(1)
        time.sleep(0.1)
    raise AssertionError("no MFA code was sent")


class Dashboard:
    """One signed-in dashboard session."""

    def __init__(self, base_url: str, tenant: str):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update(
            {"SDP-Tenant-Name": tenant, "Device-ID": str(uuid.uuid4())}
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs):
        response = self.http.request(method, self.url(path), timeout=TIMEOUT, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text[:500]}"
        )
        return response

    def get(self, path: str, **kwargs) -> dict | list:
        return self.call("GET", path, **kwargs).json()

    def log_in(self, email: str, password: str, read_code) -> str:
        """POST /login (MFA needed: a message, no token), the code from the
        outbox, POST /mfa -> the token, then Bearer on every call."""
        started = _now()
        body = self.call(
            "POST",
            "/login",
            json={"email": email, "password": password, "recaptcha_token": ""},
        ).json()
        assert "token" not in body, "MFA was skipped"
        assert body["message"]
        token = self.call(
            "POST",
            "/mfa",
            json={
                "mfa_code": read_code(email, started),
                "remember_me": False,
                "recaptcha_token": "",
            },
        ).json()["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return token

    def create_disbursement_with_csv(self, data: dict, csv_text: str) -> dict:
        """The "Submit" of a new disbursement: multipart `data` (a JSON string)
        and `file`."""
        return self.call(
            "POST",
            "/disbursements",
            expect=201,
            files={
                "data": (None, json.dumps(data)),
                "file": ("payroll.csv", csv_text.encode(), "text/csv"),
            },
        ).json()

    def start(self, disbursement_id: str) -> dict:
        return self.call(
            "PATCH",
            f"/disbursements/{disbursement_id}/status",
            json={"status": "STARTED"},
        ).json()


def _now():
    from django.utils import timezone

    return timezone.now()
