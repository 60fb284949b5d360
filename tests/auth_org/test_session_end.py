"""Issue 16 item 4: sessions end on password change or reset and on logout, and a
session refreshes only up to its absolute lifetime.

Tokens come from the dashboard's own calls (POST /login with MFA off).
"""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.utils import timezone

from auth_org.apikeys import create_api_key
from auth_org.models import AuditEntry
from messaging.models import Message
from tests.auth_org.helpers import DEVICE_ID, link_token_for
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Passw0rd!"


@pytest.fixture(autouse=True)
def _mfa_off(settings):
    settings.DISABLE_MFA = True


def sign_in(client, user, password=TEST_PASSWORD) -> dict[str, str]:
    response = client.post(
        "/login",
        json.dumps({"email": user.email, "password": password, "recaptcha_token": ""}),
        content_type="application/json",
        headers={"SDP-Tenant-Name": user.organization.name, "Device-ID": DEVICE_ID},
    )
    assert response.status_code == 200, response.content
    return {"Authorization": f"Bearer {response.json()['token']}"}


def claims(headers) -> dict:
    token = headers["Authorization"].partition(" ")[2]
    return jwt.decode(token, options={"verify_signature": False})


def refresh(client, headers):
    return client.post("/refresh-token", headers=headers)


def test_a_password_change_ends_every_earlier_session(client, user):
    session, other_device = sign_in(client, user), sign_in(client, user)
    response = client.patch(
        "/profile/reset-password",
        json.dumps({"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}),
        content_type="application/json",
        headers=session,
    )
    assert response.status_code == 200
    for headers in (session, other_device):
        assert client.get("/profile", headers=headers).status_code == 401
        assert refresh(client, headers).status_code == 401
    # Near expiry too: an old token cannot refresh its way back.
    with time_machine.travel(timezone.now() + timedelta(minutes=13)):
        assert refresh(client, session).status_code == 401
    fresh = sign_in(client, user, NEW_PASSWORD)
    assert client.get("/profile", headers=fresh).status_code == 200


def test_a_password_reset_ends_every_earlier_session(client, user, organization):
    session = sign_in(client, user)
    client.post(
        "/forgot-password",
        json.dumps({"email": user.email, "recaptcha_token": ""}),
        content_type="application/json",
        headers={"SDP-Tenant-Name": organization.name},
    )
    token = link_token_for(user, Message.Kind.USER_FORGOT_PASSWORD)
    response = client.post(
        "/reset-password",
        json.dumps({"password": NEW_PASSWORD, "reset_token": token}),
        content_type="application/json",
        headers={"SDP-Tenant-Name": organization.name},
    )
    assert response.status_code == 200
    assert client.get("/profile", headers=session).status_code == 401
    assert refresh(client, session).status_code == 401
    fresh = sign_in(client, user, NEW_PASSWORD)
    assert client.get("/profile", headers=fresh).status_code == 200


def test_refresh_stops_at_the_sessions_absolute_lifetime(client, user):
    headers = sign_in(client, user)
    started, session_id = claims(headers)["auth_time"], claims(headers)["sid"]
    at = timezone.now()
    end = at + timedelta(hours=12)
    # The dashboard refreshes in the last minutes of each token, all day long.
    while True:
        at += timedelta(minutes=13)
        if at >= end:
            break
        with time_machine.travel(at, tick=False):
            response = refresh(client, headers)
            assert response.status_code == 200, (at, response.content)
            headers = {"Authorization": f"Bearer {response.json()['token']}"}
            assert claims(headers)["exp"] <= started + 12 * 3600
            assert claims(headers)["sid"] == session_id
    with time_machine.travel(end + timedelta(seconds=1), tick=False):
        assert refresh(client, headers).status_code == 401
        assert client.get("/profile", headers=headers).status_code == 401


def test_the_absolute_lifetime_is_a_setting(client, user, settings):
    settings.SESSION_ABSOLUTE_LIFETIME = timedelta(minutes=20)
    headers = sign_in(client, user)
    with time_machine.travel(timezone.now() + timedelta(minutes=13), tick=False):
        response = refresh(client, headers)
        assert response.status_code == 200
        refreshed = {"Authorization": f"Bearer {response.json()['token']}"}
        # Cut at the session's end, not 15 minutes on.
        assert claims(refreshed)["exp"] == claims(headers)["auth_time"] + 20 * 60
    with time_machine.travel(timezone.now() + timedelta(minutes=19), tick=False):
        # In the last minutes, yet no further than the session's end.
        again = refresh(client, refreshed).json()["token"]
        assert claims({"Authorization": f"Bearer {again}"})["exp"] == (
            claims(headers)["auth_time"] + 20 * 60
        )
    with time_machine.travel(timezone.now() + timedelta(minutes=21), tick=False):
        assert refresh(client, refreshed).status_code == 401


def test_logout_ends_this_session_only(client, user):
    session, other_device = sign_in(client, user), sign_in(client, user)
    with time_machine.travel(timezone.now() + timedelta(minutes=13)):
        refreshed = {
            "Authorization": f"Bearer {refresh(client, session).json()['token']}"
        }
    response = client.post("/logout", headers=session)
    assert response.status_code == 200
    assert response.json() == {"message": "Logged out."}
    for headers in (session, refreshed):
        assert client.get("/profile", headers=headers).status_code == 401
        assert refresh(client, headers).status_code == 401
        assert client.post("/logout", headers=headers).status_code == 401
    assert client.get("/profile", headers=other_device).status_code == 200
    assert AuditEntry.objects.filter(action="logout", actor=user).count() == 1


def test_an_api_key_cannot_log_out_or_refresh(client, user):
    _, key = create_api_key(user, name="bot", permissions=["read:all", "write:all"])
    assert client.post("/logout", headers={"Authorization": key}).status_code == 403
    assert client.get("/profile", headers={"Authorization": key}).status_code == 200


def test_sessions_do_not_come_back_when_a_user_is_reactivated(client, user):
    from tests.factories import UserFactory

    owner = UserFactory(organization=user.organization, roles=["owner"])
    session, boss = sign_in(client, user), sign_in(client, owner)
    for is_active in (False, True):
        response = client.patch(
            "/users/activation",
            json.dumps({"user_id": str(user.pk), "is_active": is_active}),
            content_type="application/json",
            headers=boss,
        )
        assert response.status_code == 200
    assert client.get("/profile", headers=session).status_code == 401
    assert client.get("/profile", headers=sign_in(client, user)).status_code == 200
