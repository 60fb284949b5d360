"""Issue 16 item 5: the Django admin's login has the API's lockout (per account
and per IP, Redis or not) and a TOTP second factor for staff (django-otp), which
is required with ADMIN_REQUIRE_OTP and always in production.

Codes are computed here by RFC 6238, as an authenticator app would, from the key
the enrolment page shows.
"""

from __future__ import annotations

import base64
import re
import socket
import time

import pytest
import time_machine
from django_otp.plugins.otp_totp.models import TOTPDevice

from auth_org.models import AuditEntry
from tests.auth_org.helpers import totp
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
WRONG = "Wrong-password-1!"


def admin_login(client, email, password=TEST_PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


@pytest.fixture
def otp_on(settings):
    settings.ADMIN_REQUIRE_OTP = True


# --- lockout ----------------------------------------------------------------------


def test_wrong_passwords_lock_the_operators_account(client, operator):
    for _ in range(5):
        assert admin_login(client, operator.email, WRONG).status_code == 200
    response = admin_login(client, operator.email)  # right password, still locked
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="login.failed", actor=operator).count() == 5


def test_wrong_passwords_lock_the_ip(client, operator, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    for n in range(3):
        admin_login(client, f"nobody{n}@example.org", WRONG)
    assert admin_login(client, operator.email).status_code == 429
    elsewhere = client.post(
        LOGIN,
        {"username": operator.email, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.9.9.9",
    )
    assert elsewhere.status_code == 302


def test_the_lockout_holds_while_redis_is_down(client, operator, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    for _ in range(5):
        admin_login(client, operator.email, WRONG)
    assert admin_login(client, operator.email).status_code == 429
    assert "_auth_user_id" not in client.session


# --- TOTP -------------------------------------------------------------------------


def test_an_operator_without_a_device_is_sent_to_enrol_then_gets_in(
    client, operator, otp_on
):
    response = admin_login(client, operator.email)
    assert response.status_code == 302
    assert response["Location"] == "/admin/otp/enrol/"
    # Password alone opens nothing.
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/operations/").status_code == 302
    assert client.get("/admin/auth_org/user/").status_code == 302

    page = client.get("/admin/otp/enrol/")
    assert page.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7=]+)<', page.content.decode())[1]
    key = base64.b32decode(secret)
    wrong = client.post("/admin/otp/enrol/", {"otp_token": "000000"})
    assert wrong.status_code == 400
    assert client.get("/admin/").status_code == 302

    with time_machine.travel(time.time() + 5):  # django-otp's pause after a miss
        done = client.post("/admin/otp/enrol/", {"otp_token": totp(key)})
    assert done.status_code == 302
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/operations/").status_code == 200
    assert TOTPDevice.objects.get(user=operator).confirmed
    assert AuditEntry.objects.filter(action="admin.totp_enrolled").count() == 1


def _device(user) -> bytes:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True).bin_key


def test_an_operator_with_a_device_needs_its_code(client, operator, otp_on):
    key = _device(operator)
    assert admin_login(client, operator.email).status_code == 200  # no code
    assert "_auth_user_id" not in client.session
    bad = admin_login(client, operator.email, otp_token="000000")
    assert bad.status_code == 200
    assert "_auth_user_id" not in client.session
    with time_machine.travel(time.time() + 5):  # django-otp's pause after a miss
        good = admin_login(client, operator.email, otp_token=totp(key))
    assert good.status_code == 302
    assert good["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_device_is_asked_for_even_where_the_factor_is_optional(client, operator):
    key = _device(operator)
    assert admin_login(client, operator.email).status_code == 200
    assert "_auth_user_id" not in client.session
    assert admin_login(client, operator.email, otp_token=totp(key)).status_code == 302


def test_wrong_codes_count_towards_the_lockout(client, operator, otp_on):
    key = _device(operator)
    for _ in range(5):
        admin_login(client, operator.email, otp_token="000000")
    assert admin_login(client, operator.email, otp_token=totp(key)).status_code == 429
    assert "_auth_user_id" not in client.session


def test_production_always_requires_the_second_factor(client, operator, settings):
    settings.PRODUCTION = True
    settings.ADMIN_REQUIRE_OTP = False
    client.force_login(operator)  # a password-only session
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/operations/").status_code == 302


def test_a_dashboard_user_cannot_enrol(client, user, otp_on):
    client.force_login(user)
    response = client.get("/admin/otp/enrol/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_the_admin_never_shows_a_devices_key(client, operator, user):
    operator_key = _device(operator)
    device = TOTPDevice.objects.get(user=operator)
    client.force_login(operator)
    pages = [
        client.get("/admin/otp_totp/totpdevice/"),
        client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert device.key not in text
        assert base64.b32encode(operator_key).decode() not in text
    qr = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/")
    assert qr.status_code in (403, 404)
