"""reCAPTCHA against a local fake of Google's siteverify endpoint."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.auth_org.helpers import DEVICE_ID
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


class FakeSiteVerify(BaseHTTPRequestHandler):
    # token -> siteverify answer
    answers = {
        "good": {"success": True, "score": 0.9},
        "low-score": {"success": True, "score": 0.1},
        "bad": {"success": False, "error-codes": ["invalid-input-response"]},
    }
    requests: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        FakeSiteVerify.requests.append(fields)
        body = json.dumps(self.answers.get(fields.get("response"), {"success": False}))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def siteverify(settings):
    server = HTTPServer(("127.0.0.1", 0), FakeSiteVerify)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    FakeSiteVerify.requests = []
    settings.DISABLE_RECAPTCHA = False
    settings.RECAPTCHA_SITE_SECRET_KEY = "test-secret"
    settings.RECAPTCHA_VERIFY_URL = f"http://127.0.0.1:{server.server_port}/siteverify"
    yield FakeSiteVerify
    server.shutdown()
    server.server_close()


def login(client, user, token):
    return client.post(
        "/login",
        json.dumps(
            {"email": user.email, "password": TEST_PASSWORD, "recaptcha_token": token}
        ),
        content_type="application/json",
        headers={"SDP-Tenant-Name": user.organization.name, "Device-ID": DEVICE_ID},
    )


def test_valid_v2_token_passes_and_is_sent_with_the_secret(client, user, siteverify):
    assert login(client, user, "good").status_code == 200
    assert siteverify.requests == [
        {"secret": "test-secret", "response": "good", "remoteip": "127.0.0.1"}
    ]


@pytest.mark.parametrize("token", ["bad", ""])
def test_invalid_or_missing_token_is_400(client, user, siteverify, token):
    response = login(client, user, token)
    assert response.status_code == 400
    assert response.json()["error"] == "reCAPTCHA token invalid"


def test_v3_needs_the_minimum_score(client, user, siteverify, settings):
    settings.CAPTCHA_TYPE = "GOOGLE_RECAPTCHA_V3"
    assert login(client, user, "low-score").status_code == 400
    assert login(client, user, "good").status_code == 200


def test_organization_switch_turns_it_off(client, user, siteverify):
    user.organization.captcha_disabled = True
    user.organization.save()
    assert login(client, user, "").status_code == 200
    assert siteverify.requests == []
    config = client.get(
        "/app-config", headers={"SDP-Tenant-Name": user.organization.name}
    )
    assert config.json()["captcha_disabled"] is True


def test_forgot_password_and_mfa_check_the_captcha_too(client, user, siteverify):
    headers = {"SDP-Tenant-Name": user.organization.name, "Device-ID": DEVICE_ID}
    forgot = client.post(
        "/forgot-password",
        json.dumps({"email": user.email, "recaptcha_token": "bad"}),
        content_type="application/json",
        headers=headers,
    )
    assert forgot.status_code == 400
    mfa = client.post(
        "/mfa",
        json.dumps(
            {"mfa_code": "123456", "remember_me": False, "recaptcha_token": "bad"}
        ),
        content_type="application/json",
        headers=headers,
    )
    assert mfa.status_code == 400
    assert mfa.json()["error"] == "reCAPTCHA token invalid"


def test_unreachable_endpoint_is_503_not_a_pass(client, user, settings):
    settings.DISABLE_RECAPTCHA = False
    settings.RECAPTCHA_VERIFY_URL = "http://127.0.0.1:9/siteverify"
    response = login(client, user, "good")
    assert response.status_code == 503
    assert "error" in response.json()
