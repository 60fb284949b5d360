"""Forged and stale session tokens are refused with 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils import timezone

from auth_org.tokens import issue_token
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _claims(user, **overrides) -> dict:
    now = int(timezone.now().timestamp())
    claims = {
        "user": {
            "id": str(user.pk),
            "email": user.email,
            "roles": list(user.roles),
            "is_active": True,
        },
        "tenant_id": str(user.organization_id),
        "iat": now,
        "nbf": now,
        "exp": now + 900,
    }
    claims.update(overrides)
    return claims


def _private_key():
    return serialization.load_pem_private_key(
        settings.EC256_PRIVATE_KEY.encode(), password=None
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _get_profile(client, token: str):
    return client.get("/profile", headers={"Authorization": f"Bearer {token}"})


def assert_refused(response):
    assert response.status_code == 401
    assert response.json() == {"error": "Not authorized."}


def test_a_genuine_token_works(client, user):
    assert _get_profile(client, issue_token(user)).status_code == 200


def test_alg_none_is_refused(client, user):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(user)).encode())
    assert_refused(_get_profile(client, f"{header}.{payload}."))


def test_hs256_signed_with_the_public_key_is_refused(client, user):
    public_pem = (
        _private_key()
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(user)).encode())
    signature = hmac.new(
        public_pem, f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    assert_refused(_get_profile(client, f"{header}.{payload}.{_b64(signature)}"))


def test_token_signed_with_another_key_is_refused(client, user):
    other_key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(user), other_key, algorithm="ES256")
    assert_refused(_get_profile(client, token))


def test_expired_token_is_refused(client, user):
    token = issue_token(user, lifetime=timedelta(seconds=-1))
    assert_refused(_get_profile(client, token))


def test_not_yet_valid_token_is_refused(client, user):
    later = int(timezone.now().timestamp()) + 600
    token = jwt.encode(
        _claims(user, nbf=later, iat=later, exp=later + 900),
        _private_key(),
        algorithm="ES256",
    )
    assert_refused(_get_profile(client, token))


def test_tampered_payload_is_refused(client, organization):
    business = UserFactory(organization=organization, roles=["business"])
    header, _, signature = issue_token(business).split(".")
    claims = _claims(business)
    claims["user"]["roles"] = ["owner"]  # privilege escalation attempt
    payload = _b64(json.dumps(claims).encode())
    assert_refused(_get_profile(client, f"{header}.{payload}.{signature}"))


def test_another_tenants_id_in_a_signed_token_is_refused(client, user):
    # Even a validly signed token must name the user's own tenant.
    other = OrganizationFactory()
    token = jwt.encode(
        _claims(user, tenant_id=str(other.pk)), _private_key(), algorithm="ES256"
    )
    assert_refused(_get_profile(client, token))


def test_token_of_one_tenant_reads_only_that_tenant(client, user):
    other = OrganizationFactory(display_name="Victim Org")
    response = client.get(
        "/organization",
        headers={
            "Authorization": f"Bearer {issue_token(user)}",
            "SDP-Tenant-Name": other.name,
        },
    )
    assert response.status_code == 200
    assert response.json()["name"] == user.organization.display_name


def test_token_of_a_deleted_user_is_refused(client):
    user = UserFactory()
    token = issue_token(user)
    user.delete()
    assert_refused(_get_profile(client, token))


def test_token_missing_required_claims_is_refused(client, user):
    claims = _claims(user)
    del claims["tenant_id"]
    token = jwt.encode(claims, _private_key(), algorithm="ES256")
    assert_refused(_get_profile(client, token))
