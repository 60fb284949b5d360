"""The recipient journey once in a real browser: headless Chromium (Debian's
``chromium`` package) driven by Playwright against a live server. The wallet
side (SEP-1, SEP-10, SEP-24) is stellar-sdk over real HTTP.

CI needs: ``apt-get install -y chromium`` (the test is skipped only when
/usr/bin/chromium is absent).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connections
from django.utils import timezone
from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml

from receivers.models import ReceiverVerification, ReceiverWallet, Sep24Transaction
from receivers.signals import receiver_wallet_registered
from tests.receivers.conftest import DATE_OF_BIRTH, make_ready_receiver, otp_from_outbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = "+14155550123"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent"),
]


def _wallet_opens_deposit(
    base_url: str, client_domain, lang: str = "en"
) -> tuple[Keypair, str, str]:
    """What a wallet app does before opening our page: SEP-1, SEP-10, SEP-24.
    (account, interactive URL, SEP-10 token)."""
    host = urlsplit(base_url).netloc
    toml = fetch_stellar_toml(host, use_http=True)
    account = Keypair.random()
    challenge = requests.get(
        toml["WEB_AUTH_ENDPOINT"],
        params={
            "account": account.public_key,
            "home_domain": host,
            "client_domain": client_domain.domain,
        },
        timeout=10,
    )
    challenge.raise_for_status()
    envelope = TransactionEnvelope.from_xdr(
        challenge.json()["transaction"], toml["NETWORK_PASSPHRASE"]
    )
    envelope.sign(account)
    envelope.sign(client_domain.keypair)
    token = requests.post(
        toml["WEB_AUTH_ENDPOINT"], json={"transaction": envelope.to_xdr()}, timeout=10
    )
    token.raise_for_status()
    deposit = requests.post(
        f"{toml['TRANSFER_SERVER_SEP0024']}/transactions/deposit/interactive",
        json={"asset_code": "USDC", "lang": lang},
        headers={"Authorization": f"Bearer {token.json()['token']}"},
        timeout=10,
    )
    deposit.raise_for_status()
    return account, deposit.json()["url"], token.json()["token"]


def _in_thread(work):
    """ORM work in a plain thread (see _read_code)."""

    def run():
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _read_code(phone: str) -> str:
    """The code from the outbox, read in a plain thread: Playwright's sync API
    runs its event loop in the test's thread, where the ORM must not be used."""

    def read() -> str:
        try:
            return otp_from_outbox(phone)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def test_receiver_registers_in_headless_chromium(
    live_server, tenant, wallet_domain, settings
):
    from playwright.sync_api import sync_playwright

    settings.SINGLE_TENANT_MODE = True
    tenant.is_default = True
    tenant.save()
    receiver_wallet = make_ready_receiver(tenant, tenant.test_wallet, phone=PHONE)
    registered = []
    receiver_wallet_registered.connect(
        lambda sender, receiver_wallet, **kw: registered.append(receiver_wallet.pk),
        dispatch_uid="browser-test",
        weak=False,
    )
    account, url, _ = _wallet_opens_deposit(live_server.url, wallet_domain)

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url)
            assert page.get_by_role("heading", name="Confirm who you are").is_visible()
            assert "Aid Org" in page.content()
            # One contact input: the phone number these receivers have.
            assert page.locator("form input:visible").count() == 1
            assert page.get_by_role("textbox", name="Email address").count() == 0
            page.get_by_role("textbox", name="Phone number").fill(PHONE)
            page.get_by_role("button", name="Send me a code").click()

            page.get_by_role("heading", name="Enter your code").wait_for()
            page.get_by_label("6-digit code").fill(_read_code(PHONE))
            page.get_by_label("Date of birth").fill(DATE_OF_BIRTH)
            page.get_by_role("button", name="Confirm and register").click()

            page.get_by_role("heading", name="You are registered").wait_for()
            assert "Aid Org" in page.content()
            browser.close()
    finally:
        receiver_wallet_registered.disconnect(dispatch_uid="browser-test")

    receiver_wallet.refresh_from_db()
    assert receiver_wallet.status == ReceiverWallet.Status.REGISTERED
    assert receiver_wallet.stellar_address == account.public_key
    assert ReceiverVerification.objects.get().confirmed_at is not None
    assert registered == [receiver_wallet.pk]


def _fits(page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling, every input and
    button inside it."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for element in page.locator("input:visible, button:visible").all():
        box = element.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width


def test_receiver_registers_in_spanish_on_a_small_phone(
    live_server, tenant, wallet_domain, settings, tmp_path
):
    """A Spanish phone (390 px wide, es-ES) and a wallet that asks for "es": the
    pages speak Spanish, the start page has one input, the date field is the
    browser's own picker and its hint names no other format; screenshots of
    each page are kept in tmp_path."""
    from playwright.sync_api import sync_playwright

    settings.SINGLE_TENANT_MODE = True
    tenant.is_default = True
    tenant.save()
    receiver_wallet = make_ready_receiver(tenant, tenant.test_wallet, phone=PHONE)
    account, url, token = _wallet_opens_deposit(
        live_server.url, wallet_domain, lang="es"
    )
    assert "lang=es" in url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="es-ES"
        )
        page = context.new_page()
        page.goto(url)
        page.get_by_role("heading", name="Confirma tu identidad").wait_for()
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("form input:visible").count() == 1
        phone = page.get_by_role("textbox", name="Número de teléfono")
        assert phone.get_attribute("type") == "tel"
        _fits(page, 390)
        page.screenshot(path=str(tmp_path / "es-contact.png"), full_page=True)

        phone.fill("12")
        page.get_by_role("button", name="Envíame un código").click()
        page.get_by_text("Ingresa un número de teléfono válido").first.wait_for()
        _fits(page, 390)
        page.screenshot(path=str(tmp_path / "es-contact-error.png"), full_page=True)

        page.get_by_role("textbox", name="Número de teléfono").fill(PHONE)
        page.get_by_role("button", name="Envíame un código").click()
        page.get_by_role("heading", name="Ingresa tu código").wait_for()
        birth = page.get_by_label("Fecha de nacimiento")
        assert birth.get_attribute("type") == "date"
        # The browser's picker: it takes and gives YYYY-MM-DD whatever it shows.
        assert (
            page.evaluate(
                "() => { const i = document.createElement('input');"
                " i.type = 'date'; return i.type; }"
            )
            == "date"
        )
        hint = page.locator("#id_verification_value_help").inner_text()
        assert "calendario" in hint
        assert not any(part in hint for part in ("AAAA", "YYYY", "DD", "/"))
        _fits(page, 390)
        page.screenshot(path=str(tmp_path / "es-verify.png"), full_page=True)

        page.get_by_label("Código de 6 dígitos").fill(_read_code(PHONE))
        birth.fill(DATE_OF_BIRTH)
        assert birth.input_value() == DATE_OF_BIRTH
        page.get_by_role("button", name="Confirmar y registrarme").click()
        page.get_by_role("heading", name="Estás registrado").wait_for()
        _fits(page, 390)
        page.screenshot(path=str(tmp_path / "es-success.png"), full_page=True)

        # The wallet's status link (more_info_url), in a browser without cookie.
        transaction_id = parse_qs(urlsplit(url).query)["transaction_id"][0]
        more_info_url = requests.get(
            f"{live_server.url}/sep24/transaction",
            params={"id": transaction_id},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["transaction"]["more_info_url"]
        status = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="es-ES"
        ).new_page()
        status.goto(more_info_url)
        status.get_by_role("heading", name="Tu pago").wait_for()
        assert status.get_by_text("Pago en camino").is_visible()
        _fits(status, 390)
        status.screenshot(path=str(tmp_path / "es-status.png"), full_page=True)

        _in_thread(
            lambda: Sep24Transaction.objects.filter(pk=transaction_id).update(
                payment_status=Sep24Transaction.PaymentStatus.SUCCESS,
                amount=Decimal("1234.5"),
                amount_asset="stellar:USDC:" + Keypair.random().public_key,
                stellar_transaction_id="ef" * 32,
                completed_at=timezone.now(),
            )
        )
        status.reload()
        status.get_by_text(
            "Se enviaron 1\xa0234,5000000 USDC a tu billetera."
        ).wait_for()
        _fits(status, 390)  # the 64-character hash wraps
        status.screenshot(path=str(tmp_path / "es-status-paid.png"), full_page=True)
        browser.close()

    receiver_wallet.refresh_from_db()
    assert receiver_wallet.status == ReceiverWallet.Status.REGISTERED
    assert receiver_wallet.stellar_address == account.public_key
