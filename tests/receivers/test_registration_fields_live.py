"""Issue 16 item 8 against a live server: in an organization whose uploads ask
different facts, the pages ask the organization's default question until the
code is proven, then the receiver's own; the demo wallet (which drives the pages
over HTTP) and a real browser both still register such a receiver."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from receivers.demo_wallet import DemoWallet
from receivers.models import ReceiverVerification, ReceiverWallet
from receivers.verification import hash_verification_value
from tests.receivers.conftest import make_ready_receiver, otp_from_outbox
from tests.receivers.test_registration_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _wallet_opens_deposit,
)

PIN_PHONE = "+14155550177"
PIN = "8642"

pytestmark = pytest.mark.django_db(transaction=True)


def _organization_with_mixed_fields(tenant):
    """A PIN receiver of an earlier upload; the newest upload asks dates of
    birth (so the contact step names DATE_OF_BIRTH to everyone)."""
    tenant.is_default = True
    tenant.save()
    pin = make_ready_receiver(tenant, tenant.test_wallet, phone=PIN_PHONE)
    ReceiverVerification.objects.filter(receiver=pin.receiver).update(
        verification_field="PIN",
        hashed_value=hash_verification_value("PIN", PIN),
        created_at=timezone.now() - timedelta(days=30),
    )
    make_ready_receiver(tenant, tenant.test_wallet, phone="+14155550123")
    return pin


def _read_code(phone: str) -> str:
    def read() -> str:
        try:
            return otp_from_outbox(phone)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def test_demo_wallet_answers_the_question_asked_after_the_code(
    live_server, tenant, wallet_domain, settings
):
    settings.SINGLE_TENANT_MODE = True
    pin = _organization_with_mixed_fields(tenant)
    _, url, _ = _wallet_opens_deposit(live_server.url, wallet_domain)
    said = []
    wallet = DemoWallet(base_url=live_server.url, tenant=tenant.name, say=said.append)

    wallet.fill_registration_pages(
        url,
        contact=PIN_PHONE,
        verification_value=PIN,
        read_code=lambda contact, since: _read_code(contact),
    )

    assert "registration: asked for PIN instead" in said
    pin.refresh_from_db()
    assert pin.status == ReceiverWallet.Status.REGISTERED


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent")
def test_browser_registers_a_receiver_asked_another_fact(
    live_server, tenant, wallet_domain, settings
):
    from playwright.sync_api import sync_playwright

    settings.SINGLE_TENANT_MODE = True
    pin = _organization_with_mixed_fields(tenant)
    _, url, _ = _wallet_opens_deposit(live_server.url, wallet_domain)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        page.get_by_role("textbox", name="Phone number").fill(PIN_PHONE)
        page.get_by_role("button", name="Send me a code").click()
        page.get_by_role("heading", name="Enter your code").wait_for()
        # Everyone is asked the organization's default question first.
        page.get_by_label("6-digit code").fill(_read_code(PIN_PHONE))
        page.get_by_label("Date of birth").fill("1990-01-01")
        page.get_by_role("button", name="Confirm and register").click()
        # The code is proven: now this receiver's own question, the code kept.
        page.get_by_text("Your code is right").wait_for()
        assert page.get_by_label("6-digit code").input_value()
        page.get_by_label("PIN").fill(PIN)
        page.get_by_role("button", name="Confirm and register").click()
        page.get_by_role("heading", name="You are registered").wait_for()
        browser.close()

    pin.refresh_from_db()
    assert pin.status == ReceiverWallet.Status.REGISTERED
