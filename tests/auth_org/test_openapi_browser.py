"""The API reference page in a real browser, offline: headless Chromium (Debian's
``chromium``) driven by Playwright against a live server, every request to
another host refused. It was blank offline: Swagger UI came from a CDN."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    # serialized_rollback: the flush after a transactional test would leave the
    # later tests without content types (the admin log refers to them).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent"),
]


def test_reference_page_renders_every_operation_offline(live_server):
    from playwright.sync_api import sync_playwright

    ours = urlsplit(live_server.url).netloc
    outside: list[str] = []

    def only_ours(route):
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.route("**/*", only_ours)
            page.goto(f"{live_server.url}/openapi", wait_until="networkidle")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
            title = page.locator(".info .title").inner_text()
        finally:
            browser.close()

    assert outside == []
    assert "Stellar Disbursement Platform API" in title
    assert operations >= 74
