"""The production shape for real (issue 18 item 2): nginx with TLS in front of
gunicorn, a Celery worker and beat, ENVIRONMENT=production. Through https only,
as an operator, a recipient and the dashboard reach it: the admin login (CSRF),
a recipient's registration on the server-rendered pages, a disbursement paid to
SUCCESS on the localnet, and the dashboard API from the dashboard's origin
(CORS)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from decimal import Decimal

import pytest
import requests
from django.conf import global_settings, settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from stellar_sdk import Asset as StellarAsset
from stellar_sdk import Keypair, Payment

from auth_org.models import Asset, Wallet
from auth_org.provisioning import provision_distribution_account, provision_tenant
from localnet.testing import start_localnet
from receivers import demo_wallet
from sdp.settings import REQUIRED_SECRETS
from tests.auth_org.helpers import totp
from tests.conftest import CELERY_PREFIX
from tests.deploy.helpers import production_env
from tests.deploy.stack import DASHBOARD_HOST, HOST, free_port, production_stack
from tests.e2e.dashboard import Dashboard, mfa_code_from_outbox
from tests.factories import TEST_PASSWORD, UserFactory
from tss import accounts, channels, horizon, keys

pytestmark = pytest.mark.django_db(transaction=True)

PASSPHRASE = "SDP production test network ; December 2026"
OWNER_EMAIL = "owner@prod.example.org"
OWNER_PASSWORD = "Prod-Owner-9-Password!"
PHONE = "+14155550188"
DATE_OF_BIRTH = "1990-01-15"
TIME_LIMIT = 120  # seconds, the journey once everything runs


@pytest.fixture
def network():
    net = start_localnet(passphrase=PASSPHRASE, ledger_close=0.5)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def stack(tmp_path, network, django_db_setup, monkeypatch):
    env = production_env(
        ALLOWED_HOSTS=f"{HOST},.{HOST}",
        SDP_UI_BASE_URL=f"https://{DASHBOARD_HOST}",
        CORS_ALLOWED_ORIGINS=f"https://{DASHBOARD_HOST}",
        NETWORK_PASSPHRASE=PASSPHRASE,
        DATABASE_NAME=settings.DATABASES["default"]["NAME"],
        CELERY_KEY_PREFIX=CELERY_PREFIX,
        WEB_CONCURRENCY="2",
        DISABLE_RECAPTCHA="true",
        # The demo wallet has no client domain of its own to prove.
        SEP10_CLIENT_ATTRIBUTION_REQUIRED="false",
        # The operator's choice documented in docs/deploying.md; the internal
        # listeners on free ports, not 8002/8003.
        ADMIN_UI_ENABLED="true",
        METRICS_PORT=str(free_port()),
        ADMIN_PORT=str(free_port()),
        LOG_LEVEL="INFO",
    )
    # The same keys as this process: it provisions what the processes use.
    for name in REQUIRED_SECRETS:
        env[name] = getattr(settings, name)
    with production_stack(tmp_path / "stack", env, network.url) as running:
        # This process reaches the platform and Horizon through nginx too.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_bundle))
        # tss.horizon reads the bundle when it makes its (per-thread) session.
        monkeypatch.setattr(horizon, "_local", threading.local())
        yield running


def _tenant(stack, network, settings):
    """A tenant as `make demo` sets one up, over the https Horizon."""
    settings.HORIZON_URL = stack.horizon_url
    settings.NETWORK_PASSPHRASE = PASSPHRASE
    settings.TENANT_XLM_BOOTSTRAP_AMOUNT = Decimal("50")
    settings.BASE_URL = stack.base_url
    horizon.forget_ledger()
    network.friendbot(keys.host_keypair().public_key)
    organization = provision_tenant(
        "prod",
        owner_email=OWNER_EMAIL,
        owner_first_name="Pat",
        owner_last_name="Owner",
        owner_password=OWNER_PASSWORD,
        display_name="Prod Org",
    )
    issuer = Keypair.random()
    network.friendbot(issuer.public_key)
    usdc = Asset.objects.create(
        organization=organization, code="USDC", issuer=issuer.public_key
    )
    Wallet.objects.get(organization=organization, name="Demo Wallet").assets.add(usdc)
    address = provision_distribution_account(organization)
    accounts.run_transaction(
        issuer,
        [Payment(destination=address, asset=StellarAsset("USDC", issuer.public_key),
                 amount="100")],
    )  # fmt: skip
    channels.create(2)
    return organization


def _admin_login(stack) -> requests.Session:
    operator = UserFactory(
        organization=None, roles=[], is_owner=False, is_staff=True, is_superuser=True
    )
    # Production always asks staff for their TOTP code (issue 16 item 5).
    key = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True).bin_key
    browser = requests.Session()
    page = browser.get(f"{stack.base_url}/admin/login/", timeout=15)
    assert page.status_code == 200, page.text[:300]
    csrf_cookie = next(c for c in browser.cookies if c.name == "csrftoken")
    assert csrf_cookie.secure, "the CSRF cookie must be https-only"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    response = browser.post(
        f"{stack.base_url}/admin/login/?next=/admin/",
        data={"username": operator.email, "password": TEST_PASSWORD,
              "otp_token": totp(key), "csrfmiddlewaretoken": token},
        # What a browser sends with the form.
        headers={"Origin": stack.base_url, "Referer": page.url},
        allow_redirects=False,
        timeout=15,
    )  # fmt: skip
    assert response.status_code == 302, (response.status_code, response.text[:500])
    assert response.headers["Location"] == "/admin/"
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    session_cookie = next(c for c in browser.cookies if c.name == "sessionid")
    assert session_cookie.secure
    home = browser.get(f"{stack.base_url}/admin/", timeout=15)
    assert home.status_code == 200
    assert operator.email in home.text
    return browser


def _cors_dashboard(stack, organization) -> Dashboard:
    origin = stack.dashboard_origin
    preflight = requests.options(
        f"{stack.base_url}/login",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,sdp-tenant-name"},
        timeout=15,
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "sdp-tenant-name" in preflight.headers["Access-Control-Allow-Headers"]
    refused = requests.options(
        f"{stack.base_url}/login",
        headers={"Origin": "https://evil.example",
                 "Access-Control-Request-Method": "POST"},
        timeout=15,
    )  # fmt: skip
    assert "Access-Control-Allow-Origin" not in refused.headers

    dashboard = Dashboard(stack.base_url, organization.name)
    dashboard.http.headers["Origin"] = origin
    dashboard.log_in(
        OWNER_EMAIL,
        OWNER_PASSWORD,
        lambda email, since: mfa_code_from_outbox(organization.id, email, since),
    )
    profile = dashboard.call("GET", "/profile")
    assert profile.headers["Access-Control-Allow-Origin"] == origin
    assert profile.json()["email"] == OWNER_EMAIL
    return dashboard


def test_production_shape_behind_nginx(stack, network, settings):
    started = time.monotonic()
    # Passwords hashed as the production processes check them (the test
    # session's fast hasher is not among theirs).
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    # Plain http to gunicorn (a client that bypassed the proxy) is sent to https.
    plain = requests.get(
        f"http://127.0.0.1:{_web_port(stack)}/admin/",
        headers={"Host": HOST}, allow_redirects=False, timeout=15,
    )  # fmt: skip
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith(f"https://{HOST}")
    # docker-compose.yml's healthchecks answer for the running processes.
    for service in ("web", "worker", "beat"):
        check = stack.healthcheck(service)
        assert check.returncode == 0, (service, check.stdout, check.stderr)

    from tests.deploy.stack import resolving_test_hosts

    with resolving_test_hosts():
        _admin_login(stack)
        organization = _tenant(stack, network, settings)
        dashboard = _cors_dashboard(stack, organization)
        wallet = next(
            w for w in dashboard.get("/wallets") if w["name"] == "Demo Wallet"
        )
        asset = next(
            a
            for a in dashboard.get(f"/assets?wallet={wallet['id']}")
            if a["code"] == "USDC"
        )
        disbursement = dashboard.create_disbursement_with_csv(
            {
                "name": f"Prod payroll {uuid.uuid4().hex[:6]}",
                "wallet_id": wallet["id"],
                "asset_id": asset["id"],
                "registration_contact_type": "PHONE_NUMBER",
                "verification_field": "DATE_OF_BIRTH",
                "receiver_registration_message_template": "",
            },
            f"phone,id,amount,verification\n{PHONE},p-1,3.5,{DATE_OF_BIRTH}\n",
        )
        dashboard.start(disbursement["id"])

        # The recipient: SEP-10, SEP-24 and the registration pages, over https
        # (the code read from the dry-run outbox: no demo code off the localnet).
        deadline = time.monotonic() + TIME_LIMIT
        outcome = demo_wallet.play(
            base_url=stack.base_url,
            tenant=organization.name,
            invite=PHONE,
            verification_value=DATE_OF_BIRTH,
            wait=deadline - time.monotonic(),
        )
        assert outcome.payment is not None

        while True:
            body = dashboard.get("/payments/?page=1&page_limit=20")
            payment = body["data"][0]
            if (
                payment["status"] in ("SUCCESS", "FAILED")
                or time.monotonic() > deadline
            ):
                break
            time.sleep(0.5)
        assert payment["status"] == "SUCCESS", (payment["status_history"], stack.logs())
        assert payment["amount"] == "3.5000000"
        assert payment["stellar_transaction_id"] == outcome.payment.transaction_hash
    # nginx logged the requests it proxied; gunicorn served them.
    access = (stack.workdir / "access.log").read_text()
    assert "POST /admin/login/" in access
    assert "/wallet-registration/" in access
    assert time.monotonic() - started < 180


def _web_port(stack) -> int:
    conf = (stack.workdir / "nginx.conf").read_text()
    return int(re.search(r"proxy_pass http://127\.0\.0\.1:(\d+);", conf)[1])
