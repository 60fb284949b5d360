"""API keys: the dashboard's calls (§2.11) and authentication with a key."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from auth_org.models import APIKey, AuditEntry
from tests.auth_org.helpers import bearer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KEY_FIELDS = {
    "id",
    "name",
    "permissions",
    "allowed_ips",
    "enabled",
    "expiry_date",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "last_used_at",
}


def create(client, user, **body):
    body = {"name": "Payroll bot", "permissions": ["read:all"], **body}
    return client.post(
        "/api-keys",
        json.dumps(body),
        content_type="application/json",
        headers=bearer(user),
    )


def test_create_shows_the_key_once_and_stores_a_hash(client, user):
    response = create(
        client,
        user,
        permissions=["read:disbursements", "write:payments"],
        expiry_date=(timezone.now() + timedelta(days=30)).isoformat(),
        allowed_ips=["10.0.0.0/8", "192.168.1.7"],
    )
    assert response.status_code == 201
    body = response.json()
    assert KEY_FIELDS | {"key"} == set(body)
    assert body["key"].startswith(f"SDP_{body['id']}.")
    assert body["allowed_ips"] == ["10.0.0.0/8", "192.168.1.7/32"]
    assert body["enabled"] is True
    assert body["created_by"] == str(user.pk)
    secret = body["key"].partition(".")[2]
    stored = APIKey.objects.get(pk=body["id"])
    assert secret not in (stored.key_hash, stored.salt)

    listed = client.get("/api-keys", headers=bearer(user)).json()
    assert [row["id"] for row in listed] == [body["id"]]
    assert "key" not in listed[0]
    one = client.get(f"/api-keys/{body['id']}", headers=bearer(user)).json()
    assert set(one) == KEY_FIELDS
    assert AuditEntry.objects.filter(action="api_key.created", actor=user).exists()


def test_expiry_as_a_bare_date(client, user):
    day = (timezone.now() + timedelta(days=10)).date().isoformat()
    body = create(client, user, expiry_date=day).json()
    assert body["expiry_date"] == f"{day}T00:00:00.000000Z"


def test_update_is_200_and_delete_is_204(client, user):
    key_id = create(client, user).json()["id"]
    response = client.patch(
        f"/api-keys/{key_id}",
        json.dumps({"permissions": ["read:users"], "allowed_ips": None}),
        content_type="application/json",
        headers=bearer(user),
    )
    assert response.status_code == 200
    assert APIKey.objects.get(pk=key_id).permissions == ["read:users"]
    deleted = client.delete(f"/api-keys/{key_id}/", headers=bearer(user))
    assert deleted.status_code == 204
    assert not APIKey.objects.filter(pk=key_id).exists()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"api_key.updated", "api_key.deleted"} <= actions


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": ["read:everything"]}, "permissions"),
        ({"permissions": []}, "permissions"),
        ({"allowed_ips": ["999.1.1.1"]}, "allowed_ips"),
        ({"expiry_date": "2001-01-01T00:00:00Z"}, "expiry_date"),
        ({"expiry_date": "tomorrow"}, "expiry_date"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_key_requests_name_the_field(client, user, body, field):
    response = create(client, user, **body)
    assert response.status_code == 400
    assert field in response.json()["extras"]


def test_a_user_sees_only_their_own_keys(client, user):
    key_id = create(client, user).json()["id"]
    colleague = UserFactory(organization=user.organization, roles=["developer"])
    assert client.get("/api-keys", headers=bearer(colleague)).json() == []
    assert (
        client.get(f"/api-keys/{key_id}", headers=bearer(colleague)).status_code == 404
    )


@pytest.mark.parametrize("prefix", ["Bearer ", ""])
def test_key_authenticates_as_its_creator_in_its_tenant(client, user, prefix):
    key = create(client, user, permissions=["read:organization"]).json()["key"]
    response = client.get("/organization", headers={"Authorization": prefix + key})
    assert response.status_code == 200
    assert response.json()["name"] == user.organization.display_name
    assert APIKey.objects.get().last_used_at is not None
    # The key's scope, not the creator's roles, decides: no users:read here.
    assert client.get("/users", headers={"Authorization": key}).status_code == 403


def test_wrong_secret_expired_or_deleted_key_is_401(client, user):
    body = create(
        client, user, expiry_date=(timezone.now() + timedelta(days=1)).isoformat()
    ).json()
    key = body["key"]
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    assert client.get("/profile", headers={"Authorization": wrong}).status_code == 401
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert client.get("/profile", headers={"Authorization": key}).status_code == 401
    APIKey.objects.filter(pk=body["id"]).delete()
    assert client.get("/profile", headers={"Authorization": key}).status_code == 401
    malformed = client.get("/profile", headers={"Authorization": "SDP_nope.secret"})
    assert malformed.status_code == 401


def test_ip_allow_list(client, user, settings):
    key = create(client, user, allowed_ips="10.1.0.0/16").json()["key"]
    headers = {"Authorization": key}
    assert client.get("/profile", headers=headers).status_code == 401  # 127.0.0.1
    assert (
        client.get("/profile", headers=headers, REMOTE_ADDR="10.1.2.3").status_code
        == 200
    )
    # X-Forwarded-For is believed only behind a configured proxy.
    spoofed = client.get("/profile", headers=headers, HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert spoofed.status_code == 401
    settings.TRUSTED_PROXY_COUNT = 1
    proxied = client.get("/profile", headers=headers, HTTP_X_FORWARDED_FOR="10.1.9.9")
    assert proxied.status_code == 200


def test_key_of_a_deactivated_creator_stops_working(client, user):
    owner = UserFactory(organization=user.organization)
    key = create(client, user).json()["key"]
    user.is_active = False
    user.save()
    assert client.get("/profile", headers={"Authorization": key}).status_code == 401
    assert owner.is_active


def test_keys_cannot_refresh_sessions_or_change_passwords(client, user):
    key = create(client, user, permissions=["read:all", "write:all"]).json()["key"]
    headers = {"Authorization": key}
    assert client.post("/refresh-token", headers=headers).status_code == 403
    response = client.patch(
        "/profile/reset-password",
        json.dumps({"current_password": "x", "new_password": "y"}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 403


def test_a_deactivated_tenant_loses_its_sessions_keys_and_logins(client, user):
    from auth_org.models import Organization
    from tests.auth_org.helpers import DEVICE_ID
    from tests.factories import TEST_PASSWORD

    key = create(client, user).json()["key"]
    session = bearer(user)
    organization = user.organization
    organization.status = Organization.Status.DEACTIVATED
    organization.save(update_fields=["status"])

    assert client.get("/profile", headers=session).status_code == 401
    assert client.get("/profile", headers={"Authorization": key}).status_code == 401
    login = client.post(
        "/login",
        json.dumps({"email": user.email, "password": TEST_PASSWORD}),
        content_type="application/json",
        headers={"SDP-Tenant-Name": organization.name, "Device-ID": DEVICE_ID},
    )
    assert login.status_code in (400, 401, 404)
    assert "token" not in login.json()


# --- issue 16, items 1 and 3: a key never does more than its creator may --------


def _as_key(key: str) -> dict[str, str]:
    return {"Authorization": key}


def test_a_developer_cannot_make_a_key_that_creates_owners_or_reads_receivers(
    client, user
):
    developer = UserFactory(organization=user.organization, roles=["developer"])
    for permissions, refused in (
        (["write:users"], "write:users"),
        (["read:all"], "read:all"),
        (["read:receivers", "read:wallets"], "read:receivers"),
    ):
        response = create(client, developer, permissions=permissions)
        assert response.status_code == 403, response.content
        assert refused in response.json()["extras"]["permissions"]
    assert not APIKey.objects.filter(created_by=developer).exists()
    # What a developer's login may do, a developer's key may.
    assert create(client, developer, permissions=["write:wallets"]).status_code == 201


def test_a_demoted_creators_key_shrinks_at_once_and_a_deactivated_ones_stops(
    client, user
):
    key = create(client, user, permissions=["read:all", "write:users"]).json()["key"]
    new_user = {
        "first_name": "Eve",
        "last_name": "Mallory",
        "email": "eve@example.org",
        "roles": ["owner"],
    }
    assert client.get("/users", headers=_as_key(key)).status_code == 200
    assert client.get("/receivers", headers=_as_key(key)).status_code == 200

    user.roles = ["developer"]
    user.save(update_fields=["roles"])
    assert client.get("/users", headers=_as_key(key)).status_code == 403
    assert client.get("/receivers", headers=_as_key(key)).status_code == 403
    created = client.post(
        "/users",
        json.dumps(new_user),
        content_type="application/json",
        headers=_as_key(key),
    )
    assert created.status_code == 403
    # What the developer role still allows, the key still does.
    assert client.get("/organization", headers=_as_key(key)).status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/organization", headers=_as_key(key)).status_code == 401


def test_a_key_cannot_change_its_permissions_beyond_its_creators_roles(client, user):
    developer = UserFactory(organization=user.organization, roles=["developer"])
    key_id = create(client, developer, permissions=["read:wallets"]).json()["id"]
    response = client.patch(
        f"/api-keys/{key_id}",
        json.dumps({"permissions": ["write:users"]}),
        content_type="application/json",
        headers=bearer(developer),
    )
    assert response.status_code == 403
    assert "write:users" in response.json()["extras"]["permissions"]
    assert APIKey.objects.get(pk=key_id).permissions == ["read:wallets"]


def test_a_key_cannot_make_change_or_delete_keys(client, user):
    key = create(client, user, permissions=["read:all", "write:all"]).json()
    headers = _as_key(key["key"])
    minted = client.post(
        "/api-keys",
        json.dumps({"name": "more", "permissions": ["read:all"]}),
        content_type="application/json",
        headers=headers,
    )
    assert minted.status_code == 403
    changed = client.patch(
        f"/api-keys/{key['id']}",
        json.dumps({"permissions": ["read:all", "write:all"], "allowed_ips": None}),
        content_type="application/json",
        headers=headers,
    )
    assert changed.status_code == 403
    assert client.delete(f"/api-keys/{key['id']}", headers=headers).status_code == 403
    assert APIKey.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"email": "attacker@example.org"},
        {"first_name": "Ann", "email": "attacker@example.org"},
        {"password": "Correct-Horse-9-battery"},
        {"current_password": "x", "new_password": "Correct-Horse-9-battery"},
    ],
)
def test_a_key_cannot_change_its_creators_email_or_password(client, user, body):
    key = create(client, user, permissions=["write:all"]).json()["key"]
    password = user.password
    response = client.patch(
        "/profile",
        json.dumps(body),
        content_type="application/json",
        headers=_as_key(key),
    )
    assert response.status_code == 403, response.content
    assert set(body) - {"first_name"} <= set(response.json()["extras"])
    user.refresh_from_db()
    assert user.email != "attacker@example.org"
    assert user.password == password
    # The name is not a credential: a key may still change it.
    renamed = client.patch(
        "/profile",
        json.dumps({"first_name": "Grace"}),
        content_type="application/json",
        headers=_as_key(key),
    )
    assert renamed.status_code == 200
