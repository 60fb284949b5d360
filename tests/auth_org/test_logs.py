"""No email, phone, code, password or token in the logs of the auth flows."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from auth_org.logfilters import RequestIDFilter
from core.logfilters import RedactingFilter
from messaging.models import Message
from tests.auth_org.helpers import DEVICE_ID, bearer, link_token_for, mfa_code_for
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Passw0rd!"


def _post(client, path, body, headers):
    return client.post(
        path, json.dumps(body), content_type="application/json", headers=headers
    )


def test_auth_flows_log_no_personal_data_or_secrets(client, user, caplog):
    caplog.set_level(logging.DEBUG)
    headers = {"SDP-Tenant-Name": user.organization.name, "Device-ID": DEVICE_ID}
    secrets: list[str] = [user.email, TEST_PASSWORD, NEW_PASSWORD]

    _post(client, "/login", {"email": user.email, "password": "Wrong-pw-1!xx"}, headers)
    secrets.append("Wrong-pw-1!xx")
    _post(client, "/login", {"email": user.email, "password": TEST_PASSWORD}, headers)
    code = mfa_code_for(user)
    _post(client, "/mfa", {"mfa_code": "000001", "remember_me": True}, headers)
    token = _post(
        client, "/mfa", {"mfa_code": code, "remember_me": True}, headers
    ).json()["token"]
    secrets += [code, token]
    _post(client, "/forgot-password", {"email": user.email}, headers)
    reset_token = link_token_for(user, Message.Kind.USER_FORGOT_PASSWORD)
    secrets.append(reset_token)
    _post(
        client,
        "/reset-password",
        {"password": NEW_PASSWORD, "reset_token": reset_token},
        headers,
    )
    user.refresh_from_db()  # the reset ended the earlier sessions: a new one
    invite = _post(
        client,
        "/users",
        {
            "first_name": "Ann",
            "last_name": "Bee",
            "email": "ann.bee@example.org",
            "roles": ["business"],
        },
        bearer(user),
    )
    secrets.append("ann.bee@example.org")
    key = _post(
        client, "/api-keys", {"name": "k", "permissions": ["read:all"]}, bearer(user)
    ).json()["key"]
    secrets.append(key)
    client.get("/profile", headers={"Authorization": key})
    client.get("/profile", headers={"Authorization": "Bearer " + token + "x"})

    assert invite.status_code == 201
    assert caplog.records, "the flows should have logged something (4xx at least)"
    text = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__}"
        for record in caplog.records
    )
    for secret in secrets:
        assert secret not in text
    assert not re.search(r"[\w.+-]+@example\.org", text)


def _formatted(message: str, *args) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIDFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("[%(request_id)s] %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        ("sent to %s", ("ann.bee@example.org",), "ann.bee@example.org"),
        ("sms to %s", ("+14155550123",), "+14155550123"),
        ("your code is %s", ("482913",), "482913"),
        (
            "auth %s",
            ("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",),
            "eyJhbGciOiJFUzI1NiJ9",
        ),
        (
            "key %s",
            ("SDP_6d1f9f55-0000-4000-8000-000000000000.s3cr3t-Value",),
            "s3cr3t-Value",
        ),
        ("password=%s", ("hunter2-Hunter2",), "hunter2-Hunter2"),
    ],
)
def test_redacting_filter_hides_what_slipped_through(message, args, secret):
    output = _formatted(message, *args)
    assert secret not in output
    assert output.startswith("[-] ")
