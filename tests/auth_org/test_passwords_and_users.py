"""Forgot/reset password, password change, team members and roles (§2.1, §2.9)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from auth_org.models import AuditEntry, PasswordResetToken, Role, User
from messaging.models import Message
from tests.auth_org.helpers import DEVICE_ID, bearer, link_token_for
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Passw0rd!"
FORGOT = Message.Kind.USER_FORGOT_PASSWORD
INVITE = Message.Kind.USER_INVITATION


def post(client, path, body, headers):
    return client.post(
        path, json.dumps(body), content_type="application/json", headers=headers
    )


def patch(client, path, body, headers, content_type="application/json"):
    return client.patch(
        path, json.dumps(body), content_type=content_type, headers=headers
    )


def can_log_in(client, user, password) -> bool:
    response = post(
        client,
        "/login",
        {"email": user.email, "password": password, "recaptcha_token": ""},
        {"SDP-Tenant-Name": user.organization.name, "Device-ID": DEVICE_ID},
    )
    return response.status_code == 200


def forgot(client, organization, email):
    return post(
        client,
        "/forgot-password",
        {"email": email, "recaptcha_token": ""},
        {"SDP-Tenant-Name": organization.name},
    )


def reset(client, organization, token, password=NEW_PASSWORD):
    return post(
        client,
        "/reset-password",
        {"password": password, "reset_token": token},
        {"SDP-Tenant-Name": organization.name},
    )


def test_forgot_password_answers_the_same_whether_or_not_the_email_exists(
    client, user, organization
):
    known = forgot(client, organization, user.email.upper())
    unknown = forgot(client, organization, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert "reset link" in known.json()["message"]
    assert Message.objects.filter(kind=FORGOT).count() == 1


def test_reset_link_sets_the_password_once(client, user, organization):
    organization.sdp_ui_base_url = "https://dashboard.example.org"
    organization.save()
    forgot(client, organization, user.email)
    message = Message.objects.get(kind=FORGOT)
    assert "https://dashboard.example.org/reset-password?token=" in message.body
    token = link_token_for(user, FORGOT)
    assert not PasswordResetToken.objects.filter(token_hash__contains=token).exists()

    assert reset(client, organization, token).status_code == 200
    assert can_log_in(client, user, NEW_PASSWORD)
    assert not can_log_in(client, user, TEST_PASSWORD)
    again = reset(client, organization, token, "Another-Passw0rd!")
    assert again.status_code == 400
    assert again.json()["error"] == "Invalid reset password token."


def test_reset_token_expires_after_twenty_minutes(client, user, organization):
    forgot(client, organization, user.email)
    token = link_token_for(user, FORGOT)
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        response = reset(client, organization, token)
    assert response.status_code == 400
    assert response.json()["error"].startswith("Reset password token expired")


def test_a_second_request_inside_the_window_sends_nothing(client, user, organization):
    forgot(client, organization, user.email)
    forgot(client, organization, user.email)
    assert Message.objects.filter(kind=FORGOT).count() == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        forgot(client, organization, user.email)
    assert Message.objects.filter(kind=FORGOT).count() == 2
    assert PasswordResetToken.objects.filter(user=user, is_valid=True).count() == 1


def test_reset_token_of_another_tenant_is_invalid(client, user, organization):
    forgot(client, organization, user.email)
    token = link_token_for(user, FORGOT)
    other = UserFactory().organization
    assert reset(client, other, token).status_code == 400


@pytest.mark.parametrize(
    "weak",
    [
        "short-1A!",
        "alllowercase-123!",
        "ALLUPPERCASE-123!",
        "NoDigitsHere!!",
        "NoSpecial1234",
    ],
)
def test_reset_enforces_the_password_policy(client, user, organization, weak):
    forgot(client, organization, user.email)
    response = reset(client, organization, link_token_for(user, FORGOT), weak)
    assert response.status_code == 400
    assert "password" in response.json()["extras"]


def test_common_password_is_refused(client, user):
    response = patch(
        client,
        "/profile/reset-password",
        {"current_password": TEST_PASSWORD, "new_password": "John!20130605at1753"},
        bearer(user),
    )
    # On Django's list of common passwords (compared case-insensitively).
    assert response.status_code == 400


def test_change_password_from_the_profile(client, user):
    wrong = patch(
        client,
        "/profile/reset-password",
        {"current_password": "not-it", "new_password": NEW_PASSWORD},
        bearer(user),
    )
    assert wrong.status_code == 400
    same = patch(
        client,
        "/profile/reset-password",
        {"current_password": TEST_PASSWORD, "new_password": TEST_PASSWORD},
        bearer(user),
    )
    assert same.status_code == 400
    response = patch(
        client,
        "/profile/reset-password",
        {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        bearer(user),
    )
    assert response.status_code == 200
    assert response.json() == {"message": "user password updated successfully"}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="password.changed", actor=user).exists()


def test_profile_read_and_text_plain_update(client, user):
    profile = client.get("/profile", headers=bearer(user)).json()
    assert profile == {
        "id": str(user.pk),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "roles": ["owner"],
        "organization_name": user.organization.display_name,
    }
    # The dashboard sends this one without a Content-Type: text/plain.
    response = patch(
        client,
        "/profile",
        {"first_name": "Grace", "email": "Grace@Example.org"},
        bearer(user),
        content_type="text/plain;charset=UTF-8",
    )
    assert response.status_code == 200
    assert response.json() == {"message": "user profile updated successfully"}
    user.refresh_from_db()
    assert (user.first_name, user.email) == ("Grace", "grace@example.org")


def test_profile_update_needs_a_field_and_a_free_email(client, user):
    assert patch(client, "/profile", {}, bearer(user)).status_code == 400
    other = UserFactory(organization=user.organization)
    taken = patch(client, "/profile", {"email": other.email}, bearer(user))
    assert taken.status_code == 400


def test_owner_invites_a_user_who_sets_a_password(client, user, organization):
    response = post(
        client,
        "/users",
        {
            "first_name": "Ann",
            "last_name": "Bee",
            "email": "Ann@Example.org",
            "roles": ["business"],
        },
        bearer(user),
    )
    assert response.status_code == 201
    body = response.json()
    assert {
        k: body[k] for k in ("first_name", "last_name", "email", "roles", "is_active")
    } == {
        "first_name": "Ann",
        "last_name": "Bee",
        "email": "ann@example.org",
        "roles": ["business"],
        "is_active": True,
    }
    invited = User.objects.get(pk=body["id"])
    assert not invited.has_usable_password()
    token = link_token_for(invited, INVITE)
    # An invitation link lasts longer than a forgotten-password link.
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert reset(client, organization, token).status_code == 200
    assert can_log_in(client, invited, NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="user.invited")
    assert entry.actor == user
    assert entry.object_id == str(invited.pk)


def test_inviting_an_existing_email_is_400(client, user):
    response = post(
        client,
        "/users",
        {
            "first_name": "A",
            "last_name": "B",
            "email": user.email.upper(),
            "roles": ["owner"],
        },
        bearer(user),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "A user with this email already exists."


def test_invalid_role_is_400(client, user):
    response = post(
        client,
        "/users",
        {
            "first_name": "A",
            "last_name": "B",
            "email": "x@example.org",
            "roles": ["boss"],
        },
        bearer(user),
    )
    assert response.status_code == 400
    assert "roles" in response.json()["extras"]


def test_users_list_is_a_plain_array_sorted(client, user):
    UserFactory(
        organization=user.organization, email="aaa@example.org", roles=["business"]
    )
    UserFactory(email="other-tenant@example.org")
    response = client.get("/users", headers=bearer(user))
    assert response.status_code == 200
    emails = [row["email"] for row in response.json()]
    assert emails == sorted([user.email, "aaa@example.org"])
    assert set(response.json()[0]) == {
        "id",
        "first_name",
        "last_name",
        "email",
        "roles",
        "is_active",
    }
    desc = client.get("/users?sort=email&direction=desc", headers=bearer(user)).json()
    assert [row["email"] for row in desc] == emails[::-1]
    assert client.get("/users?sort=password", headers=bearer(user)).status_code == 400


def test_roles_list_and_change(client, user):
    assert client.get("/users/roles", headers=bearer(user)).json() == {
        "roles": list(Role.values)
    }
    member = UserFactory(organization=user.organization, roles=["business"])
    response = patch(
        client,
        "/users/roles",
        {"user_id": str(member.pk), "roles": ["approver"]},
        bearer(user),
    )
    assert response.status_code == 200
    assert response.json() == {"message": "User roles were updated successfully."}
    member.refresh_from_db()
    assert member.roles == ["approver"]
    entry = AuditEntry.objects.get(action="user.roles_changed")
    assert entry.changes == {"before": ["business"], "after": ["approver"]}
    both = patch(
        client,
        "/users/roles",
        {"user_id": str(member.pk), "roles": ["initiator", "approver"]},
        bearer(user),
    )
    assert both.status_code == 400


def test_activation_and_not_yourself(client, user):
    member = UserFactory(organization=user.organization, roles=["business"])
    member_headers = bearer(member)
    response = patch(
        client,
        "/users/activation",
        {"user_id": str(member.pk), "is_active": False},
        bearer(user),
    )
    assert response.status_code == 200
    assert response.json() == {"message": "User activation was updated successfully."}
    assert client.get("/profile", headers=member_headers).status_code == 401
    yourself = patch(
        client,
        "/users/activation",
        {"user_id": str(user.pk), "is_active": False},
        bearer(user),
    )
    assert yourself.status_code == 400
    assert AuditEntry.objects.filter(action="user.activation_changed").count() == 1


def test_unknown_user_id_is_404(client, user):
    response = patch(
        client,
        "/users/roles",
        {"user_id": "6d1f9f55-0000-4000-8000-000000000000", "roles": ["owner"]},
        bearer(user),
    )
    assert response.status_code == 404
