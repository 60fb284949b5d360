"""auth_org's dashboard routes in the role matrix and isolation suites."""

from __future__ import annotations

import json

from auth_org.apikeys import create_api_key
from auth_org.models import Role
from auth_org.permissions import ALL, OWNER, OWNER_FC
from tests.api_matrix import Route, register, register_object
from tests.factories import UserFactory

OWNER_DEV = {Role.OWNER, Role.DEVELOPER}


@register_object("api_key")
def make_api_key(organization, user) -> str:
    # A permission every role grants, so the maker works for any creator.
    key, _ = create_api_key(user, name="registered", permissions=["read:organization"])
    return str(key.pk)


@register_object("member")
def make_member(organization, user) -> str:
    return str(UserFactory(organization=organization, roles=[Role.BUSINESS]).pk)


register(
    Route("POST", "refresh-token", ALL, None),
    Route("POST", "logout", ALL, None),
    Route("GET", "profile", ALL, "read:all"),
    Route("PATCH", "profile", ALL, "write:all", body={"first_name": "Grace"}),
    Route(
        "PATCH",
        "profile/reset-password",
        ALL,
        None,
        body={"current_password": "wrong", "new_password": "x"},
    ),
    Route("GET", "organization", ALL, "read:organization"),
    Route(
        "PATCH",
        "organization",
        OWNER_FC,
        "write:organization",
        body={"data": json.dumps({"is_approval_required": True})},
        multipart=True,
    ),
    Route("GET", "bridge-integration", ALL, "read:organization"),
    Route("GET", "balances", ALL, "read:all"),
    Route(
        "PATCH",
        "organization/circle-config",
        OWNER,
        "write:organization",
        body={"wallet_id": "1000000001", "api_key": "key"},
    ),
    Route("GET", "users", OWNER, "read:users", lists=("member",)),
    Route(
        "POST",
        "users",
        OWNER,
        "write:users",
        body={
            "first_name": "Ann",
            "last_name": "Bee",
            "email": "new.member@example.org",
            "roles": ["business"],
        },
    ),
    Route("GET", "users/roles", OWNER, "read:users"),
    Route(
        "PATCH",
        "users/roles",
        OWNER,
        "write:users",
        body=lambda ids: {"user_id": ids["member"], "roles": ["approver"]},
        body_objects=("member",),
    ),
    Route(
        "PATCH",
        "users/activation",
        OWNER,
        "write:users",
        body=lambda ids: {"user_id": ids["member"], "is_active": False},
        body_objects=("member",),
    ),
    # Keys never reach the key routes (issue 16 item 3).
    Route("GET", "api-keys", OWNER_DEV, None, lists=("api_key",)),
    Route(
        "POST",
        "api-keys",
        OWNER_DEV,
        None,
        body={"name": "CI", "permissions": ["read:organization"]},
    ),
    Route("GET", "api-keys/{api_key}", OWNER_DEV, None),
    Route(
        "PATCH",
        "api-keys/{api_key}",
        OWNER_DEV,
        None,
        body={"permissions": ["read:statistics"], "allowed_ips": None},
    ),
    Route("DELETE", "api-keys/{api_key}", OWNER_DEV, None),
)
