"""The admin as an operations console (issue 18, item 9): every list fits a
1366 px screen in a real browser, and apps carry readable names."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from stellar_sdk import Keypair

from messaging.models import Message
from tests.factories import (
    MessageFactory,
    OrganizationFactory,
    PaymentFactory,
    UserFactory,
    WalletFactory,
)
from tss.models import ChannelAccount, SubmitterTransaction

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH = 1366
WIDEST = """() => {
  let widest = document.documentElement.scrollWidth;
  for (const el of document.querySelectorAll('#content *')) {
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      const style = getComputedStyle(el);
      if (['auto', 'scroll'].includes(style.overflowX)) {
        widest = Math.max(widest, window.innerWidth + el.scrollWidth - el.clientWidth);
      }
    }
  }
  return widest;
}"""


def test_apps_have_readable_names():
    labels = {
        config.label: str(config.verbose_name) for config in apps.get_app_configs()
    }
    assert labels["auth_org"] == "Organizations and users"
    assert labels["tss"] == "Submission"
    for config in apps.get_app_configs():
        if config.label in ("auth_org", "disbursements", "receivers", "messaging",
                            "tss", "localnet", "sdp"):  # fmt: skip
            assert "verbose_name" in type(config).__dict__, config.label


def _rows() -> None:
    """A row of every busy list, with its longest values."""
    address = Keypair.random().public_key
    organization = OrganizationFactory(name="org-" + "long-tenant-name" * 3)
    WalletFactory(
        organization=organization,
        homepage="https://a-wallet-with-a-long-home-page.example.org/path/to/home",
    )
    payment = PaymentFactory(
        disbursement__organization=organization,
        status="SUCCESS",
        amount=Decimal("1234567.1234567"),
        stellar_transaction_id="ab" * 32,
        external_payment_id="x" * 64,
        receiver_wallet__stellar_address=address,
        receiver_wallet__status="REGISTERED",
        receiver_wallet__receiver__email="a-rather-long-address@example.org",
        receiver_wallet__receiver__external_id="receiver-" + "9" * 40,
    )
    MessageFactory(
        tenant_id=payment.organization_id,
        body="You have a payment waiting for you. " * 10,
        status=Message.Status.FAILURE,
        recipient="someone.with.a.long.address@example.org",
    )
    SubmitterTransaction.objects.create(
        tenant_id=payment.organization_id,
        external_id=str(payment.pk),
        asset_code="USDC",
        asset_issuer=Keypair.random().public_key,
        amount=payment.amount,
        destination=address,
        distribution_account=Keypair.random().public_key,
        channel_account=Keypair.random().public_key,
        stellar_transaction_hash="cd" * 32,
        status_message="tx_failed: op_no_trust " * 5,
    )
    ChannelAccount.objects.create(
        public_key=Keypair.random().public_key, encrypted_secret="x"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent")
def test_every_admin_list_fits_1366_pixels(live_server, client, tmp_path):
    from playwright.sync_api import sync_playwright

    _rows()
    operator = UserFactory(
        organization=None, roles=[], is_owner=False, is_staff=True, is_superuser=True
    )
    client.force_login(operator)
    session = client.cookies["sessionid"].value
    urls = [reverse("admin:index"), reverse("operations")] + [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
        for m in admin.site._registry
    ]
    shots = Path(os.environ.get("SDP_SCREENSHOTS", tmp_path))
    too_wide = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": WIDTH, "height": 768})
        context.add_cookies(
            [{"name": "sessionid", "value": session, "url": live_server.url}]
        )
        page = context.new_page()
        for url in urls:
            response = page.goto(live_server.url + url)
            assert response.status == 200, url
            assert "login" not in page.url, url
            # The admin scrolls a wide table inside its box (.results): measure
            # the page and every scrolling box, as a user would see them.
            width = page.evaluate(WIDEST)
            if width > WIDTH:
                too_wide[url] = width
            if width > WIDTH or "SDP_SCREENSHOTS" in os.environ:
                name = url.strip("/").replace("/", "_") + ".png"
                page.screenshot(path=str(shots / name), full_page=True)
        browser.close()
    assert not too_wide, f"wider than {WIDTH} px: {too_wide} (screenshots in {shots})"
