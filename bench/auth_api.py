"""Benchmark: authenticated dashboard requests in-process (no network), per
credential, and the cost of a password login.

    python -m bench.auth_api [--requests 500]

Needs DATABASE_URL / REDIS_URL (or the embedded defaults) with migrations applied.
Creates a throwaway organization, then deletes its rows. The last line is
key=value figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("RATE_LIMIT_ENABLED", "false")

import django

django.setup()

from django.test import Client  # noqa: E402

from auth_org.apikeys import create_api_key  # noqa: E402
from auth_org.models import AuditEntry, Organization, User  # noqa: E402
from auth_org.tokens import issue_token  # noqa: E402

PASSWORD = "Bench-Passw0rd-Long!"  # noqa: S105 - a throwaway account


def timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.content
    return samples


def figures(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    rate = len(samples) / sum(samples)
    return (
        f"{name}_rps={rate:.0f} {name}_p50_ms={statistics.median(samples) * 1000:.2f} "
        f"{name}_p95_ms={p95 * 1000:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    tag = "".join(c for c in uuid.uuid4().hex if c.isalpha())[:8] or "x"
    organization = Organization.objects.create(
        name=f"bench-auth-{tag}",
        display_name="Bench Org",
        status=Organization.Status.ACTIVATED,
        mfa_disabled=True,
        captcha_disabled=True,
    )
    user = User.objects.create_user(
        f"owner-{tag}@bench.example",
        PASSWORD,
        organization=organization,
        roles=["owner"],
        is_owner=True,
    )
    _, key = create_api_key(user, name="bench", permissions=["read:all"])
    client = Client()
    jwt_headers = {"Authorization": f"Bearer {issue_token(user)}"}
    key_headers = {"Authorization": key}
    login_body = json.dumps({"email": user.email, "password": PASSWORD})
    try:
        timed(lambda: client.get("/profile", headers=jwt_headers), 20)  # warm up
        jwt = timed(lambda: client.get("/profile", headers=jwt_headers), args.requests)
        api_key = timed(
            lambda: client.get("/profile", headers=key_headers), args.requests
        )
        login = timed(
            lambda: client.post(
                "/login",
                login_body,
                content_type="application/json",
                headers={"SDP-Tenant-Name": organization.name},
            ),
            max(args.requests // 50, 5),
        )
    finally:
        AuditEntry.objects.filter(organization=organization).delete()
        organization.api_keys.all().delete()
        User.objects.filter(organization=organization).delete()
        organization.delete()
    print(
        figures("jwt_profile", jwt),
        figures("api_key_profile", api_key),
        figures("password_login", login),
    )


if __name__ == "__main__":
    main()
