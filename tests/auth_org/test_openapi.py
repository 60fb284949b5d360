"""The OpenAPI schema, and a bounded schemathesis run against it: no 5xx."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import close_old_connections
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.generation import GenerationMode

from tests.api2_fixtures import ledger  # noqa: F401 - the distribution account
from tests.auth_org.helpers import DEVICE_ID, bearer
from tests.openapi_check import OpenAPI

pytestmark = pytest.mark.django_db


def test_schema_lists_the_dashboard_routes(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/login",
        "/mfa",
        "/profile",
        "/organization",
        "/users",
        "/api-keys/{id}",
    ):
        assert path in schema["paths"], path
    schemes = schema["components"]["securitySchemes"]
    assert schemes["sessionToken"]["scheme"] == "bearer"
    assert schemes["adminBasic"]["scheme"] == "basic"


def test_schema_generates_without_a_warning(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn`: no view whose body
    drf-spectacular had to guess, no name collision, valid OpenAPI 3."""
    out = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.stat().st_size > 10_000


def test_browsable_page(client):
    response = client.get("/openapi")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_docs_page_loads_only_our_own_static_files(settings, tmp_path):
    """As in production: the image's collectstatic, whitenoise under gunicorn.
    The page names no other host (it was blank offline: Swagger UI came from a
    CDN), and every file it names answers."""
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    security = settings.MIDDLEWARE.index(
        "django.middleware.security.SecurityMiddleware"
    )
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: security + 1],
        "whitenoise.middleware.WhiteNoiseMiddleware",
        *settings.MIDDLEWARE[security + 1 :],
    ]
    client = Client()  # its handler loads the middleware above

    page = client.get("/openapi")
    html = page.content.decode()

    assert page.status_code == 200
    assert not re.findall(r"https?://|//[a-z]", html, re.IGNORECASE), html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert len(urls) >= 4, urls  # css, favicon, bundle, preset
    assert '"validatorUrl": null' in html
    for url in urls:
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(b"".join(response.streaming_content)) > 100, url
    # The schema the page loads is ours too.
    assert "'/openapi.json'" in html or '"/openapi.json"' in html, html
    assert client.get("/openapi.json").status_code == 200


@pytest.fixture
def api_schema(db):
    from sdp.wsgi import application

    # As Django's test client does: the WSGI handler would otherwise close the
    # test's connection (and its transaction) at the end of every request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/openapi.json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def owner_headers(user, settings):
    settings.ADMIN_ACCOUNT = "sdp-admin"
    settings.ADMIN_API_KEY = "admin-key"
    return {
        **bearer(user),
        "SDP-Tenant-Name": user.organization.name,
        "Device-ID": DEVICE_ID,
    }


ADMIN_BASIC = "Basic " + base64.b64encode(b"sdp-admin:admin-key").decode()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_for_generated_requests(
    api_schema,
    owner_headers,
    ledger,  # noqa: F811 - /assets?enabled=true reads the account's trustlines
    settings,
    mode,
):
    """Up to 8 generated requests per operation, authenticated as an owner (Basic
    for the admin API): valid ones, then ones breaking the schema (the declared
    query parameters' types and enums, the bodies'). schemathesis's pytest plugin
    does not run on pytest 9, so each operation's strategy is driven by
    hypothesis directly."""
    settings.DISABLE_RECAPTCHA = True  # Google is not reachable: its 503 is right
    operations = [result.ok() for result in api_schema.get_all_operations()]
    openapi = OpenAPI(api_schema.raw_schema)
    assert len(operations) > 20

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to break

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case):
            headers = dict(owner_headers)
            if case.path.startswith("/admin-api"):
                headers["Authorization"] = ADMIN_BASIC
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                case.method,
                case.path,
                response.text[:500],
            )
            if response.status_code >= 400:
                body = response.json()
                # SEP-24's own form for a missing or wrong token (the spec's).
                sep_auth = body == {"type": "authentication_required"}
                assert "error" in body or sep_auth, (case.method, case.path, body)
            # And whatever it answered, it answered as documented.
            openapi.check_response(case.method, case.path, _Answer(response))

        check()


def _has_input(operation) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


class _Answer:
    """A schemathesis response as OpenAPI.check_response reads a Django one."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.content = response.content
        self.headers = {k.lower(): v for k, v in response.headers.items()}

    def __getitem__(self, name: str) -> str:
        value = self.headers[name.lower()]
        return value[0] if isinstance(value, list) else value


# --- the published schema against what the routes answer -------------------------

WRITES = {"post", "put", "patch"}
# Writes that take no body: the refresh reads the token from the header, a retried
# invitation needs nothing but the receiver wallet's id.
NO_BODY = {
    ("post", "/refresh-token"),
    ("post", "/logout"),
    ("patch", "/receivers/wallets/{id}"),
    ("post", "/webhooks/{id}/secret"),  # a roll takes nothing
    ("post", "/payments/{id}/approve"),  # the approver is the caller
}


@pytest.fixture
def openapi(client):
    return OpenAPI(client.get("/openapi.json").json())


def test_every_operation_documents_its_answers_and_bodies(openapi):
    operations = [
        (method, path, operation)
        for path, item in openapi.document["paths"].items()
        for method, operation in item.items()
    ]
    undocumented = [
        f"{method} {path}"
        for method, path, operation in operations
        if not any(
            code.startswith("2") and (code == "204" or answer.get("content"))
            for code, answer in operation["responses"].items()
        )
        or "4XX" not in operation["responses"]
    ]
    without_body = {
        (method, path)
        for method, path, operation in operations
        if method in WRITES and not operation.get("requestBody", {}).get("content")
    }
    assert len(operations) >= 74
    assert undocumented == []
    assert without_body == NO_BODY
    # Every JSON answer is a declared component, not a free-form object.
    for method, path, operation in operations:
        for code, answer in operation["responses"].items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                assert "$ref" in schema or schema.get("type") == "array", (
                    method,
                    path,
                    code,
                )


def test_request_bodies_by_the_dashboards_content_types(openapi):
    def media(method, path):
        return set(openapi.operation(method, path)["requestBody"]["content"])

    assert {"application/json", "text/plain"} <= media("PATCH", "/profile")
    assert {"application/json", "text/plain"} <= media("PATCH", "/receivers/x")
    assert {"application/json", "multipart/form-data"} <= media(
        "POST", "/disbursements"
    )
    assert "multipart/form-data" in media("POST", "/disbursements/x/instructions")
    assert "multipart/form-data" in media("PATCH", "/organization")
    upload = openapi.operation("POST", "/disbursements")["requestBody"]["content"]
    ref = upload["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = openapi.components["schemas"][ref]
    assert set(fields["properties"]) == {"data", "file"}
    assert fields["properties"]["file"]["format"] == "binary"


def test_the_check_fails_on_drift(openapi):
    """The checker used below refuses a missing or extra field, a wrong type and
    an unexpected null (else the tests below could not fail)."""
    schema = {"$ref": "#/components/schemas/APIKey"}
    good = {
        "id": "0b8e8f4e-5d1c-4d4e-9f3e-0e7e1c2b3a4d",
        "name": "ci",
        "permissions": ["read:all"],
        "allowed_ips": [],
        "enabled": True,
        "expiry_date": None,
        "created_at": "2026-01-01T00:00:00Z",
        "created_by": None,
        "updated_at": "2026-01-01T00:00:00Z",
        "updated_by": None,
        "last_used_at": None,
    }
    openapi.check_body(schema, good, "good")
    for bad in (
        {k: v for k, v in good.items() if k != "name"},
        {**good, "secret": "x"},
        {**good, "enabled": "yes"},
        {**good, "created_at": None},
        {**good, "created_at": "2026-01-01 00:00:00"},
        {**good, "id": "42"},
    ):
        with pytest.raises(AssertionError):
            openapi.check_body(schema, bad, "bad")


def _world(organization, owner):
    """Rows of every kind, with the optional parts filled in: a started
    disbursement, a registered receiver wallet confirmed by OTP, payments that
    succeeded, a direct payment, a verification confirmed."""
    from django.utils import timezone

    from receivers.models import ReceiverVerification
    from tests.factories import (
        AssetFactory,
        DisbursementFactory,
        PaymentFactory,
        ReceiverWalletFactory,
        WalletFactory,
    )

    asset = AssetFactory(organization=organization, code="USDC")
    wallet = WalletFactory(organization=organization, name="Demo Wallet")
    wallet.assets.add(asset)
    disbursement = DisbursementFactory(
        organization=organization,
        asset=asset,
        wallet=wallet,
        status="STARTED",
        created_by=owner,
        file_name="payroll.csv",
    )
    now = timezone.now()
    registered = ReceiverWalletFactory(
        receiver__organization=organization,
        receiver__email="ana@example.org",
        wallet=wallet,
        status="REGISTERED",
        stellar_address="GDQP2KPQGKIHYJGXNUIYOMHARUARCA7DJT5FO2FFOOKY3B2WSQHG4W37",
        stellar_memo="42",
        stellar_memo_type="id",
        invitation_sent_at=now,
        otp_confirmed_at=now,
        otp_confirmed_with="ana@example.org",
    )
    ReceiverVerification.objects.create(
        receiver=registered.receiver,
        verification_field="DATE_OF_BIRTH",
        hashed_value="x" * 64,
        confirmed_at=now,
        verification_channel="EMAIL",
    )
    PaymentFactory(
        disbursement=disbursement,
        receiver_wallet=registered,
        status="SUCCESS",
        stellar_transaction_id="a" * 64,
        stellar_operation_id="123",
    )
    PaymentFactory(disbursement=disbursement, receiver_wallet=registered)
    PaymentFactory(disbursement=DisbursementFactory(organization=organization))
    PaymentFactory(
        disbursement=None,
        organization=organization,
        asset=asset,
        receiver_wallet=registered,
        type="DIRECT",
        external_payment_id="ext-1",
    )
    return disbursement, registered


@pytest.mark.usefixtures("ledger")
def test_real_answers_match_the_schema(
    client, openapi, organization, request, settings
):
    """The dashboard's own requests (JSON, text/plain JSON, multipart) through the
    real routes, over rows of every kind, then every route of the role matrix as
    an owner: each answer, success or error, is what /openapi.json says."""
    from auth_org.models import Role
    from tests.api_matrix import call, load_routes, make_objects
    from tests.factories import (
        TEST_PASSWORD,
        ReceiverWalletFactory,
        UserFactory,
        WalletFactory,
    )

    owner = UserFactory(organization=organization, roles=[Role.OWNER], is_owner=True)
    disbursement, registered = _world(organization, owner)
    headers = {
        "HTTP_AUTHORIZATION": bearer(owner)["Authorization"],
        "HTTP_SDP_TENANT_NAME": organization.name,
        "HTTP_DEVICE_ID": DEVICE_ID,
    }

    def send(method, path, body=None, media="application/json", **extra):
        kwargs = {**headers, **extra}
        if body is not None and media != "multipart/form-data":
            openapi.check_request(method, path, media, body)
            body = json.dumps(body)
        if body is None:
            response = getattr(client, method.lower())(path, **kwargs)
        elif media == "multipart/form-data" and method == "POST":
            response = client.post(path, body, **kwargs)
        elif media == "multipart/form-data":
            response = client.generic(
                method,
                path,
                encode_multipart(BOUNDARY, body),
                content_type=MULTIPART_CONTENT,
                **kwargs,
            )
        else:
            response = client.generic(method, path, body, content_type=media, **kwargs)
        openapi.check_response(method, path, response)
        return response

    wallet_id, asset_id = str(disbursement.wallet_id), str(disbursement.asset_id)
    draft = {
        "name": "April payroll",
        "wallet_id": wallet_id,
        "asset_id": asset_id,
        "registration_contact_type": "PHONE_NUMBER",
        "verification_field": "DATE_OF_BIRTH",
        "receiver_registration_message_template": "",
    }
    openapi.check_request(
        "POST", "/disbursements", "multipart/form-data", {"data": "{}", "file": "x"}
    )
    csv = b"phone,id,amount,verification\n+14155550101,r-1,10.5,1990-01-30\n"
    created = send(
        "POST",
        "/disbursements",
        {
            "data": json.dumps(draft),
            "file": SimpleUploadedFile("april.csv", csv, "text/csv"),
        },
        media="multipart/form-data",
    )
    assert created.status_code == 201, created.content
    new_id = created.json()["id"]
    send(
        "POST",
        f"/disbursements/{new_id}/instructions",
        {"file": SimpleUploadedFile("april.csv", csv, "text/csv")},
        media="multipart/form-data",
    )
    assert send("POST", "/disbursements", {**draft, "name": "May"}).status_code == 201
    send("PATCH", f"/disbursements/{new_id}/status", {"status": "STARTED"})
    receiver = send(
        "POST",
        "/receivers",
        {
            "email": "bo@example.org",
            "phone_number": "+12065550199",  # outside the factories' +1415555nnnn
            "external_id": "bo-1",
            "verifications": [{"type": "DATE_OF_BIRTH", "value": "1990-01-30"}],
            "wallets": [],
        },
    )
    assert receiver.status_code == 201, receiver.content
    receiver_id = registered.receiver_id
    assert (
        send(
            "PATCH", f"/receivers/{receiver_id}", {"external_id": "ana-2"}, "text/plain"
        ).status_code
        == 200
    )
    assert (
        send("PATCH", "/profile", {"first_name": "Ana"}, "text/plain").status_code
        == 200
    )
    organization_data = {
        "data": json.dumps(
            {"receiver_registration_message_template": "Hi {{.OrganizationName}}"}
        )
    }
    assert (
        send(
            "PATCH", "/organization", organization_data, media="multipart/form-data"
        ).status_code
        == 200
    )
    key = send(
        "POST",
        "/api-keys",
        {"name": "ci", "permissions": ["read:all"], "allowed_ips": []},
    )
    assert key.status_code == 201, key.content
    assert key.json()["key"]
    distribution = request.getfixturevalue("ledger")
    distribution.balances[("USDC", disbursement.asset.issuer)] = Decimal("1000000")
    direct = send(
        "POST",
        "/payments",
        {
            "amount": "5",
            "asset": {"id": asset_id},
            "receiver": {"id": str(receiver_id)},
            "wallet": {"id": wallet_id},
            "external_payment_id": "ext-2",
        },
    )
    assert direct.status_code == 201, direct.content
    assert "disbursement" not in direct.json()
    managed = ReceiverWalletFactory(
        receiver=registered.receiver,
        wallet=WalletFactory(organization=organization, user_managed=True),
        status="READY",
    )
    retried = send("PATCH", f"/receivers/wallets/{managed.pk}")
    assert retried.status_code == 200, retried.content
    moved = send(
        "PATCH",
        f"/receivers/{receiver_id}/wallets/{managed.pk}",
        {"stellar_address": "GBZXN7PIRZGNMHGA7MUUUF4GWPY5AYPV6LY4UV2GL6VJGIQRXFDNMADI"},
    )
    assert moved.status_code == 200, moved.content
    login = send("POST", "/login", {"email": owner.email, "password": TEST_PASSWORD})
    assert login.status_code == 200, login.content
    # The dashboard's catalog and team bodies (dashboard-api.md 2.7, 2.9).
    new_wallet = send(
        "POST",
        "/wallets",
        {
            "name": "Other Wallet",
            "homepage": "https://other.example.org",
            "sep_10_client_domain": "other.example.org",
            "deep_link_schema": "other://sdp",
            "enabled": True,
            "assets": [{"id": asset_id}],
        },
    )
    assert new_wallet.status_code == 201, new_wallet.content
    toggled = send("PATCH", f"/wallets/{new_wallet.json()['id']}", {"enabled": False})
    assert toggled.status_code == 200, toggled.content
    new_asset = send(
        "POST",
        "/assets",
        {
            "code": "EURC",
            "issuer": "GB3Q6QDZYTHWT7E5PVS3W7FUT5GVAFC5KSZFFLPU25GO7VTC3NM2ZTVO",
        },
    )
    assert new_asset.status_code == 201, new_asset.content
    member = send(
        "POST",
        "/users",
        {
            "first_name": "Bo",
            "last_name": "Li",
            "roles": ["business"],
            "email": "bo@example.org",
        },
    )
    assert member.status_code == 201, member.content
    member_id = member.json()["id"]
    assert (
        send(
            "PATCH",
            "/users/roles",
            {"user_id": member_id, "roles": ["financial_controller"]},
        ).status_code
        == 200
    )
    assert (
        send(
            "PATCH", "/users/activation", {"user_id": member_id, "is_active": False}
        ).status_code
        == 200
    )
    settings.ADMIN_ACCOUNT, settings.ADMIN_API_KEY = "sdp-admin", "admin-key"
    for path in ("/admin-api/tenants", f"/admin-api/tenants/{organization.name}"):
        answer = send("GET", path, HTTP_AUTHORIZATION=ADMIN_BASIC)
        assert answer.status_code == 200, answer.content
    for path in (
        "/disbursements",
        f"/disbursements/{disbursement.pk}",
        f"/disbursements/{disbursement.pk}/receivers",
        "/payments",
        f"/payments?receiver_id={receiver_id}",
        "/receivers",
        f"/receivers/{receiver_id}",
        "/statistics",
        f"/statistics/{disbursement.pk}",
        "/wallets",
        "/assets",
        "/assets?enabled=true",
        "/users",
        "/users/roles",
        "/api-keys",
        "/organization",
        "/profile",
        "/app-config",
        "/receivers/verification-types",
        "/registration-contact-types",
        "/exports/payments",
    ):
        assert send("GET", path).status_code == 200, path
    listed = client.get("/payments?page_limit=2", **headers).json()
    assert "next" in listed["pagination"]  # the optional members were seen too
    openapi.check_response(
        "GET", "/payments", client.get(listed["pagination"]["next"], **headers)
    )

    for route in load_routes():
        # A fresh session each: some routes end the last one (logout, a new
        # password).
        owner.refresh_from_db()
        headers["HTTP_AUTHORIZATION"] = bearer(owner)["Authorization"]
        ids = make_objects(route, organization, owner)
        response = call(client, route, ids, **headers)
        openapi.check_response(route.method, route.url(ids), response)

    succeeded = {(m, t) for m, t, status in openapi.checked if status < 300}
    for resource in (
        ("GET", "/disbursements"),
        ("GET", "/disbursements/{id}"),
        ("POST", "/disbursements"),
        ("GET", "/disbursements/{id}/receivers"),
        ("GET", "/payments"),
        ("GET", "/payments/{id}"),
        ("GET", "/receivers"),
        ("GET", "/receivers/{id}"),
        ("POST", "/receivers"),
        ("GET", "/statistics"),
        ("GET", "/wallets"),
        ("GET", "/wallets/{id}"),
        ("GET", "/assets"),
        ("GET", "/users"),
        ("GET", "/api-keys"),
        ("POST", "/api-keys"),
        ("GET", "/organization"),
        ("GET", "/profile"),
        ("POST", "/payments"),
        ("PATCH", "/receivers/{receiver_id}/wallets/{id}"),
        ("PATCH", "/receivers/wallets/{id}"),
        ("POST", "/login"),
        ("GET", "/admin-api/tenants"),
        ("POST", "/wallets"),
        ("PATCH", "/wallets/{id}"),
        ("POST", "/assets"),
        ("POST", "/users"),
        ("PATCH", "/users/roles"),
        ("PATCH", "/users/activation"),
    ):
        assert resource in succeeded, resource
