"""Every registered route against every role, API-key scopes, and tenant isolation.

Routes are registered in ``tests/<app>/api_routes.py`` (see tests/api_matrix.py).
"""

from __future__ import annotations

import secrets

import pytest

from auth_org.apikeys import PERMISSIONS, PREFIX, _hash, create_api_key
from auth_org.models import APIKey, Role
from auth_org.permissions import grants
from auth_org.tokens import issue_token
from tests.api_matrix import OBJECTS, call, load_routes, make_objects
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

ROUTES = load_routes()
DENIED = (401, 403)


def _user(role: str, organization=None):
    return UserFactory(
        organization=organization or OrganizationFactory(),
        roles=[role],
        is_owner=role == Role.OWNER,
    )


def _bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user)}"}


def _key_header(user, permissions: list[str]) -> dict[str, str]:
    _, plaintext = create_api_key(user, name="matrix", permissions=permissions)
    return {"HTTP_AUTHORIZATION": plaintext}


def _forced_key_header(user, permissions: list[str]) -> dict[str, str]:
    """A key stored as the service would, whatever its creator's roles: a key
    made before its creator was demoted (the service refuses it today)."""
    secret, salt = secrets.token_urlsafe(32), secrets.token_hex(16)
    key = APIKey.objects.create(
        organization=user.organization,
        name="forced",
        key_hash=_hash(salt, secret),
        salt=salt,
        permissions=permissions,
        created_by=user,
        updated_by=user,
    )
    return {"HTTP_AUTHORIZATION": f"{PREFIX}{key.pk}.{secret}"}


def _grantable(role: str, permission: str) -> bool:
    """From the matrix alone: ``role`` may hold ``permission`` when every route
    the permission opens to a key is open to the role."""
    return all(
        role in set(route.roles)
        for route in ROUTES
        if route.key_permission and grants([permission], route.key_permission)
    )


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_a_key_never_does_more_than_its_creators_role(client, route, role):
    """A key with the route's own permission, and one with every permission,
    made by a user of each role: allowed only where the creator's role is."""
    creator = _user(role)
    ids = make_objects(route, creator.organization, creator)
    needed = route.key_permission
    for permissions in ([needed] if needed else [], ["read:all", "write:all"]):
        if not permissions:
            continue
        response = call(client, route, ids, **_forced_key_header(creator, permissions))
        if needed and role in set(route.roles):
            assert response.status_code not in DENIED, (permissions, response.content)
        else:
            assert response.status_code == 403, (permissions, response.content)


@pytest.mark.parametrize("role", [Role.OWNER, Role.DEVELOPER])
def test_a_key_is_made_only_with_permissions_its_creators_role_grants(client, role):
    creator = _user(role)
    headers = _bearer(creator)
    for permission in sorted(PERMISSIONS):
        response = client.post(
            "/api-keys",
            {"name": permission, "permissions": [permission]},
            content_type="application/json",
            **headers,
        )
        if _grantable(role, permission):
            assert response.status_code == 201, (permission, response.content)
        else:
            assert response.status_code == 403, (permission, response.content)
            assert permission in response.json()["extras"]["permissions"]


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_role_is_allowed_or_denied_as_the_matrix_says(client, route, role):
    user = _user(role)
    ids = make_objects(route, user.organization, user)

    response = call(client, route, ids, **_bearer(user))

    if role in set(route.roles):
        assert response.status_code not in DENIED, response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_api_key_needs_the_routes_permission(client, route):
    creator = _user(Role.OWNER)
    ids = make_objects(route, creator.organization, creator)
    needed = route.key_permission
    if needed is None:
        response = call(
            client, route, ids, **_key_header(creator, ["read:all", "write:all"])
        )
        assert response.status_code == 403
        return
    other = sorted(p for p in PERMISSIONS if not grants([p], needed))[0]
    denied = call(client, route, ids, **_key_header(creator, [other]))
    assert denied.status_code == 403, denied.content
    allowed = call(client, route, ids, **_key_header(creator, [needed]))
    assert allowed.status_code not in DENIED, allowed.content
    verb = needed.partition(":")[0]
    covered = call(client, route, ids, **_key_header(creator, [f"{verb}:all"]))
    assert covered.status_code not in DENIED, covered.content


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_route_refuses_anonymous_and_forged_credentials(client, route):
    owner = _user(Role.OWNER)
    ids = make_objects(route, owner.organization, owner)
    assert call(client, route, ids).status_code == 401
    forged = call(client, route, ids, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert forged.status_code == 401
    assert forged.json() == {"error": "Not authorized."}


ISOLATED = [route for route in ROUTES if route.objects]


@pytest.mark.parametrize("route", ISOLATED, ids=lambda r: r.id)
def test_other_organizations_objects_are_not_found(client, route):
    role = next(iter(sorted(set(route.roles))))
    intruder = _user(role)
    victim_owner = _user(Role.OWNER)
    victim_ids = make_objects(route, victim_owner.organization, victim_owner)

    response = call(client, route, victim_ids, **_bearer(intruder))
    assert response.status_code == 404, response.content

    # Naming the victim's tenant in the header changes nothing: the token wins.
    response = call(
        client,
        route,
        victim_ids,
        HTTP_SDP_TENANT_NAME=victim_owner.organization.name,
        **_bearer(intruder),
    )
    assert response.status_code == 404, response.content

    if route.key_permission:
        key_owner = _user(Role.OWNER, intruder.organization)
        response = call(
            client, route, victim_ids, **_key_header(key_owner, [route.key_permission])
        )
        assert response.status_code == 404, response.content


LISTS = [route for route in ROUTES if route.lists]


@pytest.mark.parametrize("route", LISTS, ids=lambda r: r.id)
def test_lists_never_show_other_organizations_objects(client, route):
    role = sorted(set(route.roles))[0]
    reader = _user(role)
    own = {name: OBJECTS[name](reader.organization, reader) for name in route.lists}
    victim = _user(Role.OWNER)
    foreign = {name: OBJECTS[name](victim.organization, victim) for name in route.lists}

    response = call(client, route, {}, **_bearer(reader))
    assert response.status_code == 200, response.content
    for name in route.lists:
        # The reader's own object shows, so the list is the one under test...
        assert own[name] in response.content.decode()
        # ...and the other organization's does not.
        assert foreign[name] not in response.content.decode()
    if route.key_permission:
        keyed = call(client, route, {}, **_key_header(reader, [route.key_permission]))
        assert keyed.status_code == 200
        for name in route.lists:
            assert foreign[name] not in keyed.content.decode()
