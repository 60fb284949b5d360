"""Login, MFA, refresh: the exact requests the dashboard sends (§2.1)."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.utils import timezone

from auth_org.models import AuditEntry, MFACode
from auth_org.tokens import issue_token
from messaging.models import Message
from tests.auth_org.helpers import DEVICE_ID, bearer, mfa_code_for
from tests.factories import TEST_PASSWORD, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(client, user, headers, password=TEST_PASSWORD, path="/login"):
    return client.post(
        path,
        json.dumps({"email": user.email, "password": password, "recaptcha_token": ""}),
        content_type="application/json",
        headers=headers,
    )


def mfa(client, code, headers, remember_me=False):
    return client.post(
        "/mfa",
        json.dumps(
            {"mfa_code": code, "remember_me": remember_me, "recaptcha_token": ""}
        ),
        content_type="application/json",
        headers=headers,
    )


def claims(token: str) -> dict:
    # The dashboard base64-decodes the payload without checking the signature.
    return jwt.decode(token, options={"verify_signature": False})


def test_app_config_answers_with_or_without_a_tenant(client, organization):
    organization.captcha_disabled = True
    organization.save()
    response = client.get("/app-config", headers={"SDP-Tenant-Name": ""})
    assert response.status_code == 200
    assert set(response.json()) == {
        "captcha_disabled",
        "captcha_type",
        "captcha_site_key",
    }
    tenant = client.get("/app-config/", headers={"SDP-Tenant-Name": organization.name})
    assert tenant.json()["captcha_disabled"] is True
    assert tenant.json()["captcha_type"] == "GOOGLE_RECAPTCHA_V2"


def test_login_with_mfa_then_remembered_device(client, user, tenant_headers):
    response = login(client, user, tenant_headers)
    assert response.status_code == 200
    assert response.json() == {
        "message": "MFA code sent to email. Check your inbox and spam folders."
    }
    email = Message.objects.get(user_id=user.pk, kind=Message.Kind.USER_MFA)
    assert email.channel == Message.Channel.EMAIL
    assert email.recipient == user.email
    assert MFACode.objects.get(user=user).code_hash  # stored hashed, not plain
    assert mfa_code_for(user) not in MFACode.objects.get(user=user).code_hash

    response = mfa(client, mfa_code_for(user), tenant_headers, remember_me=True)
    assert response.status_code == 200
    payload = claims(response.json()["token"])
    assert payload["user"]["id"] == str(user.pk)
    assert payload["user"]["email"] == user.email
    assert payload["user"]["roles"] == ["owner"]
    assert payload["tenant_id"] == str(user.organization_id)
    assert payload["exp"] - payload["iat"] == 15 * 60

    again = login(client, user, tenant_headers)
    assert "token" in again.json()  # device remembered: no second code
    assert Message.objects.filter(user_id=user.pk).count() == 1


def test_device_is_not_remembered_without_remember_me(client, user, tenant_headers):
    login(client, user, tenant_headers)
    mfa(client, mfa_code_for(user), tenant_headers, remember_me=False)
    assert "token" not in login(client, user, tenant_headers).json()


def test_remembered_device_expires_after_seven_days(client, user, tenant_headers):
    login(client, user, tenant_headers)
    mfa(client, mfa_code_for(user), tenant_headers, remember_me=True)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert "token" not in login(client, user, tenant_headers).json()


def test_wrong_password_is_401_with_details(client, user, tenant_headers):
    response = login(client, user, tenant_headers, password="Wrong-password-1!")
    assert response.status_code == 401
    assert response.json() == {
        "error": "Not authorized.",
        "extras": {"details": "Incorrect email or password"},
    }
    unknown = client.post(
        "/login",
        json.dumps({"email": "nobody@example.org", "password": "x"}),
        content_type="application/json",
        headers=tenant_headers,
    )
    assert unknown.status_code == 401
    assert unknown.json() == response.json()
    assert AuditEntry.objects.filter(action="login.failed").count() == 2


def test_inactive_user_cannot_log_in(client, user, tenant_headers):
    user.is_active = False
    user.save()
    assert login(client, user, tenant_headers).status_code == 401


def test_user_of_another_tenant_cannot_log_in_here(client, user):
    other = OrganizationFactory()
    headers = {"SDP-Tenant-Name": other.name, "Device-ID": DEVICE_ID}
    assert login(client, user, headers).status_code == 401


def test_unknown_tenant_is_an_error_body(client, user):
    response = login(client, user, {"SDP-Tenant-Name": "no-such-org"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Tenant not found in context.",
        "extras": {"SDP-Tenant-Name": "no active tenant named 'no-such-org'"},
    }


def test_tenant_from_the_host_first_label(client, user):
    response = client.post(
        "/login",
        json.dumps({"email": user.email, "password": TEST_PASSWORD}),
        content_type="application/json",
        headers={"Device-ID": DEVICE_ID},
        HTTP_HOST=f"{user.organization.name}.sdp.example.org",
    )
    assert response.status_code == 200


def test_single_tenant_mode_uses_the_default_tenant(client, settings, tenant_headers):
    organization = OrganizationFactory(is_default=True)
    user = UserFactory(organization=organization)
    settings.SINGLE_TENANT_MODE = True
    response = login(client, user, {"SDP-Tenant-Name": "localhost", "Device-ID": "d"})
    assert response.status_code == 200


def test_device_id_is_required_when_mfa_is_on(client, user, organization):
    response = login(client, user, {"SDP-Tenant-Name": organization.name})
    assert response.status_code == 400
    assert "Device-ID" in response.json()["extras"]


@pytest.mark.parametrize("where", ["organization", "environment"])
def test_mfa_can_be_switched_off(client, user, organization, settings, where):
    if where == "organization":
        organization.mfa_disabled = True
        organization.save()
    else:
        settings.DISABLE_MFA = True
    response = login(client, user, {"SDP-Tenant-Name": organization.name})
    assert claims(response.json()["token"])["user"]["id"] == str(user.pk)


def test_mfa_cannot_be_off_on_pubnet(
    client, user, organization, settings, tenant_headers
):
    organization.mfa_disabled = True
    organization.save()
    settings.IS_PUBNET = True
    assert "token" not in login(client, user, tenant_headers).json()


def test_pubnet_with_disable_mfa_refuses_to_start(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.update(
        NETWORK_PASSPHRASE="Public Global Stellar Network ; September 2015",
        DISABLE_MFA="true",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DISABLE_MFA cannot be set on pubnet" in result.stderr


def test_wrong_mfa_code_is_refused_and_dies_after_five_tries(
    client, user, tenant_headers
):
    login(client, user, tenant_headers)
    code = mfa_code_for(user)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = mfa(client, wrong, tenant_headers)
        assert response.status_code == 400
        assert response.json()["error"] == "Invalid MFA code."
    assert mfa(client, code, tenant_headers).status_code == 400
    assert AuditEntry.objects.filter(action="mfa.failed").count() == 5


def test_mfa_code_is_valid_five_minutes(client, user, tenant_headers):
    login(client, user, tenant_headers)
    code = mfa_code_for(user)
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        assert mfa(client, code, tenant_headers).status_code == 400


def test_mfa_code_is_bound_to_the_device(client, user, tenant_headers):
    login(client, user, tenant_headers)
    other_device = {**tenant_headers, "Device-ID": "another-device"}
    assert mfa(client, mfa_code_for(user), other_device).status_code == 400


def test_mfa_code_works_once(client, user, tenant_headers):
    login(client, user, tenant_headers)
    code = mfa_code_for(user)
    assert mfa(client, code, tenant_headers).status_code == 200
    assert mfa(client, code, tenant_headers).status_code == 400


def test_failed_logins_lock_the_account_with_back_off(client, user, tenant_headers):
    for _ in range(5):
        login(client, user, tenant_headers, password="Wrong-password-1!")
    response = login(client, user, tenant_headers)  # right password, still locked
    assert response.status_code == 429
    assert response.json()["error"].startswith("Too many failed login attempts")
    assert 0 < response.json()["extras"]["retry_after"] <= 30


def test_failed_logins_lock_the_ip(client, organization, settings, tenant_headers):
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    users = UserFactory.create_batch(3, organization=organization)
    for victim in users:
        login(client, victim, tenant_headers, password="Wrong-password-1!")
    fresh = UserFactory(organization=organization)
    assert login(client, fresh, tenant_headers).status_code == 429


def test_login_accepts_a_trailing_slash_and_text_plain(client, user, tenant_headers):
    response = client.post(
        "/login/",
        json.dumps({"email": user.email, "password": TEST_PASSWORD}),
        content_type="text/plain;charset=UTF-8",
        headers=tenant_headers,
    )
    assert response.status_code == 200
    assert "message" in response.json()


def test_malformed_body_is_an_error_body(client, tenant_headers):
    response = client.post(
        "/login", "{not json", content_type="application/json", headers=tenant_headers
    )
    assert response.status_code == 400
    assert response.json()["error"] == "The request was invalid in some way."


def test_refresh_returns_same_token_until_the_last_three_minutes(client, user):
    token = issue_token(user)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/refresh-token", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"token": token}
    with time_machine.travel(timezone.now() + timedelta(minutes=12, seconds=30)):
        refreshed = client.post("/refresh-token", headers=headers).json()["token"]
        assert refreshed != token
        assert claims(refreshed)["exp"] > claims(token)["exp"]
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert client.post("/refresh-token", headers=headers).status_code == 401


def test_deactivated_users_session_ends_at_once(client, user):
    headers = bearer(user)
    assert client.get("/profile", headers=headers).status_code == 200
    user.is_active = False
    user.save()
    response = client.get("/profile", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Not authorized."}


def test_login_writes_audit_rows(client, user, tenant_headers):
    login(client, user, tenant_headers)
    mfa(client, mfa_code_for(user), tenant_headers)
    actions = list(
        AuditEntry.objects.filter(actor=user)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["mfa.code_sent", "mfa.succeeded", "login.succeeded"]
    entry = AuditEntry.objects.get(action="login.succeeded")
    assert entry.ip_address == "127.0.0.1"
    assert entry.organization_id == user.organization_id
