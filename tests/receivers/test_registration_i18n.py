"""The registration pages in SDP's five languages.

Every page (start errors, contact, code entry, each error shown on them, limits,
success, already registered, invitation) is rendered in every language through
real HTTP against a live server, the way a wallet opens it: SEP-1, SEP-10 and
SEP-24 with the wallet's ``lang``, then the interactive URL with its query
string. A page fails when any visible text of its English render appears in
another language's render (an untranslated string), and each error must be the
catalog's translation of the expected one. The catalogs themselves are checked:
complete, compiled (.mo equals .po), and ``makemessages`` finds no string
missing from them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polib
import pytest
import requests
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.sep.stellar_toml import fetch_stellar_toml

from receivers import views
from receivers.links import sign_url
from receivers.models import ReceiverVerification, ReceiverWallet, Sep24Transaction
from receivers.sep import more_info
from tests.factories import ReceiverFactory, ReceiverWalletFactory
from tests.receivers.conftest import DATE_OF_BIRTH, make_ready_receiver, otp_from_outbox

ROOT = Path(settings.BASE_DIR)
LANGS = [code for code, _ in settings.LANGUAGES]
TRANSLATED = [code for code in LANGS if code != "en"]
# The options of `make messages`, so the test looks where the Makefile does.
MAKEMESSAGES_IGNORE = ["tests/*", "bench/*", "staticfiles/*", ".sdp/*", "docs/*"]


# --- reading a page as a person does ---------------------------------------------


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes (not in script, style or an
    element marked translate="no", such as the organization's name), and the
    placeholder, aria-label, title and alt attributes."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link"}
    VOID |= {"meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.segments: list[str] = []
        self.skipping: list[str] = []  # open tags whose content is skipped
        self.html_lang = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang", "")
        if self.skipping:
            if tag not in self.VOID:
                self.skipping.append(tag)
            return
        if tag in ("script", "style") or attrs.get("translate") == "no":
            if tag not in self.VOID:
                self.skipping.append(tag)
            return
        for name in ("placeholder", "aria-label", "title", "alt"):
            if attrs.get(name):
                self._add(attrs[name])

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self._add(data)

    def _add(self, text: str) -> None:
        text = " ".join(unescape(text).split())
        if re.search(r"[^\W\d_]", text):  # has a letter
            self.segments.append(text)


def read_page(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def in_language(lang: str, message) -> str:
    with translation.override(lang):
        return str(message() if callable(message) else message)


# --- a wallet over HTTP -------------------------------------------------------------


class HttpWallet:
    def __init__(self, base_url: str, client_domain):
        self.base_url = base_url
        self.client_domain = client_domain
        self.host = urlsplit(base_url).netloc
        self.toml = fetch_stellar_toml(self.host, use_http=True)

    def deposit(self, lang: str | None) -> tuple[Keypair, str, str]:
        """SEP-10 then SEP-24 as a wallet app does: (account, url, token)."""
        account = Keypair.random()
        challenge = requests.get(
            self.toml["WEB_AUTH_ENDPOINT"],
            params={
                "account": account.public_key,
                "home_domain": self.host,
                "client_domain": self.client_domain.domain,
            },
            timeout=10,
        )
        challenge.raise_for_status()
        envelope = TransactionEnvelope.from_xdr(
            challenge.json()["transaction"], self.toml["NETWORK_PASSPHRASE"]
        )
        envelope.sign(account)
        envelope.sign(self.client_domain.keypair)
        token = requests.post(
            self.toml["WEB_AUTH_ENDPOINT"],
            json={"transaction": envelope.to_xdr()},
            timeout=10,
        )
        token.raise_for_status()
        body = {"asset_code": "USDC"}
        if lang is not None:
            body["lang"] = lang
        deposit = requests.post(
            f"{self.toml['TRANSFER_SERVER_SEP0024']}/transactions/deposit/interactive",
            json=body,
            headers={"Authorization": f"Bearer {token.json()['token']}"},
            timeout=10,
        )
        deposit.raise_for_status()
        return account, deposit.json()["url"], token.json()["token"]


@pytest.fixture
def live_tenant(live_server, tenant, settings):
    settings.SINGLE_TENANT_MODE = True
    tenant.is_default = True
    tenant.save()
    return tenant


def _wrong_code(code: str) -> str:
    for step in range(1, 10):
        wrong = f"{(int(code) + step) % 10**6:06d}"
        if wrong not in (code, settings.REGISTRATION_DEMO_OTP, "999999"):
            return wrong
    raise AssertionError("no wrong code")


class Journey:
    """One language's pass through every page; ``pages`` maps a page name to
    (status, html)."""

    def __init__(self, wallet: HttpWallet, lang: str):
        self.wallet = wallet
        self.lang = lang
        self.pages: dict[str, tuple[int, str]] = {}
        self.session = requests.Session()

    def keep(self, name: str, response: requests.Response) -> requests.Response:
        self.pages[name] = (response.status_code, response.text)
        return response

    def open(self) -> requests.Response:
        self.session = requests.Session()
        _, url, self.token = self.wallet.deposit(self.lang)
        self.transaction_id = parse_qs(urlsplit(url).query)["transaction_id"][0]
        assert f"lang={self.lang}" in url  # the wallet's lang rides in the URL
        return self.session.get(url, timeout=10)

    def post(self, response: requests.Response, data: dict, url: str | None = None):
        return self.session.post(
            url or response.url,
            {"csrfmiddlewaretoken": csrf(response.text), **data},
            timeout=10,
        )


def _journey(wallet: HttpWallet, tenant, lang: str, index: int) -> Journey:
    phone_a = f"+1415555{index:02d}11"
    phone_b = f"+1415555{index:02d}22"
    make_ready_receiver(tenant, tenant.test_wallet, phone=phone_a)
    wallet_b = make_ready_receiver(tenant, tenant.test_wallet, phone=phone_b)
    journey = Journey(wallet, lang)
    base = wallet.base_url + "/wallet-registration"

    # Links that do not open anything.
    journey.keep(
        "error_link",
        requests.get(
            f"{base}/start",
            params={"transaction_id": "x", "token": "bad", "lang": lang},
            timeout=10,
        ),
    )
    invitation = sign_url(f"{base}/start?name=Aid+Org&asset=USDC")
    journey.keep(
        "invitation",
        requests.get(invitation, headers={"Accept-Language": lang}, timeout=10),
    )
    journey.keep(
        "error_session",
        requests.get(f"{base}/contact", params={"lang": lang}, timeout=10),
    )

    # Receiver A: every mistake, then success, then already registered.
    contact = journey.keep("contact", journey.open())
    assert contact.status_code == 200
    assert "/contact" in contact.url
    journey.keep("contact_email", journey.session.get(f"{base}/contact?via=email"))
    journey.keep("contact_invalid", journey.post(contact, {"phone_number": "12"}))
    journey.keep("contact_empty", journey.post(contact, {"phone_number": ""}))
    verify = journey.keep(
        "verify",
        journey.post(contact, {"contact_kind": "phone", "phone_number": phone_a}),
    )
    assert "/verify" in verify.url, verify.text
    code = otp_from_outbox(phone_a)
    journey.keep("verify_empty", journey.post(verify, {}))
    journey.keep(
        "verify_wrong_code",
        journey.post(
            verify, {"otp": _wrong_code(code), "verification_value": DATE_OF_BIRTH}
        ),
    )
    journey.keep(
        "verify_not_found",
        journey.post(verify, {"otp": code, "verification_value": "1991-01-01"}),
    )
    journey.keep(
        "verify_bad_date",
        journey.post(verify, {"otp": code, "verification_value": "17/04/1990"}),
    )
    success = journey.keep(
        "success",
        journey.post(verify, {"otp": code, "verification_value": DATE_OF_BIRTH}),
    )
    assert "/success" in success.url, success.text
    journey.keep("already_registered", journey.session.get(f"{base}/contact"))
    # The wallet's status link, opened without cookie or token.
    transaction = requests.get(
        f"{wallet.toml['TRANSFER_SERVER_SEP0024']}/transaction",
        params={"id": journey.transaction_id},
        headers={"Authorization": f"Bearer {journey.token}"},
        timeout=10,
    )
    transaction.raise_for_status()
    more_info_url = transaction.json()["transaction"]["more_info_url"]
    journey.keep("status", requests.get(more_info_url, timeout=10))

    # Receiver B: the limits.
    contact = journey.open()
    verify = journey.post(contact, {"contact_kind": "phone", "phone_number": phone_b})
    assert "/verify" in verify.url, verify.text
    code = otp_from_outbox(phone_b)
    ReceiverVerification.objects.filter(receiver=wallet_b.receiver).update(
        attempts=ReceiverVerification.MAX_ATTEMPTS
    )
    right = {"otp": code, "verification_value": DATE_OF_BIRTH}
    journey.keep("verify_locked", journey.post(verify, right))
    ReceiverVerification.objects.filter(receiver=wallet_b.receiver).update(attempts=0)
    wrong = {"otp": _wrong_code(code), "verification_value": DATE_OF_BIRTH}
    for _ in range(6):
        answer = journey.post(verify, wrong)
        if in_language(lang, views.PAGE_ERRORS["400_4"]) in unescape(answer.text):
            break
    journey.keep("verify_too_many", answer)
    ReceiverWallet.objects.filter(pk=wallet_b.pk).update(
        otp_attempts=0, otp_created_at=timezone.now() - timedelta(minutes=10)
    )
    journey.keep("verify_expired", journey.post(verify, right))
    journey.keep(
        "resend", journey.post(verify, {}, url=f"{base}/resend")
    )  # a new code, or the wait before one
    return journey


EXPECTED_ALERTS = {
    "error_link": lambda: gettext(
        "This registration link is not valid or has expired. "
        "Open it again from your wallet."
    ),
    "error_session": lambda: gettext(
        "This registration link has expired. Open it again from your wallet."
    ),
    "contact_invalid": lambda: gettext(
        "Enter a valid phone number, starting with + and the country code."
    ),
    "contact_empty": lambda: gettext("This field is required."),
    "verify_empty": lambda: gettext("Enter the 6-digit code we sent you."),
    "verify_wrong_code": views.PAGE_ERRORS["400_6"],
    "verify_not_found": views.PAGE_ERRORS["400_2"],
    "verify_bad_date": lambda: gettext("Use the format YYYY-MM-DD."),
    "verify_locked": views.PAGE_ERRORS["400_3"],
    "verify_expired": views.PAGE_ERRORS["400_5"],
    "verify_too_many": views.PAGE_ERRORS["400_4"],
}


def test_every_page_in_every_language_through_a_wallet(
    live_server, live_tenant, wallet_domain
):
    wallet = HttpWallet(live_server.url, wallet_domain)
    # Someone waiting with an email only: the contact page offers both ways.
    ReceiverWalletFactory(
        receiver=ReceiverFactory(
            organization=live_tenant, phone_number=None, email="c@example.org"
        ),
        organization=live_tenant,
        wallet=live_tenant.test_wallet,
        status=ReceiverWallet.Status.READY,
    )
    journeys = {
        lang: _journey(wallet, live_tenant, lang, index)
        for index, lang in enumerate(LANGS)
    }
    english = journeys["en"].pages
    assert len(english) == 19
    for lang in LANGS:
        pages = journeys[lang].pages
        assert pages.keys() == english.keys(), lang
        for name, (status, html) in pages.items():
            assert status == english[name][0], (lang, name)
            page = read_page(html)
            assert page.html_lang == lang, (lang, name)
            text = " ".join(page.segments)
            if name in EXPECTED_ALERTS:
                expected = in_language(lang, EXPECTED_ALERTS[name])
                assert expected in text, (lang, name, text)
            if lang == "en":
                continue
            english_text = set(read_page(english[name][1]).segments)
            untranslated = [s for s in page.segments if s in english_text]
            assert not untranslated, (lang, name, untranslated)


def test_language_comes_from_lang_then_accept_language(
    live_server, live_tenant, wallet_domain
):
    wallet = HttpWallet(live_server.url, wallet_domain)
    make_ready_receiver(live_tenant, live_tenant.test_wallet)
    heading = "Confirm who you are"

    def opened(lang, accept=None) -> tuple[str, requests.Response]:
        _, url, _ = wallet.deposit(lang)
        headers = {"Accept-Language": accept} if accept else {}
        response = requests.get(url, headers=headers, timeout=10)
        return read_page(response.text).html_lang, response

    for lang, accept, chosen in [
        ("es", "ru", "es"),  # the wallet's lang wins
        ("es-AR", None, "es"),  # a regional tag
        ("ua", None, "uk"),  # SDP's web app's name for Ukrainian
        ("pt-BR", "uk-UA,uk;q=0.9,en;q=0.5", "uk"),  # not ours: the browser's
        (None, "ht", "ht"),  # no lang at all
        (None, "de-DE,de;q=0.9,es;q=0.8", "es"),  # the first one we speak
        (None, "de", "en"),  # nothing we speak
    ]:
        html_lang, response = opened(lang, accept)
        assert html_lang == chosen, (lang, accept)
        assert response.headers["Content-Language"] == chosen
        assert "Accept-Language" in response.headers["Vary"]
        assert in_language(chosen, lambda: translation.gettext(heading)) in (
            unescape(response.text)
        )


def test_a_page_in_russian_leaves_the_next_request_in_english(
    client, tenant, wallet, ready_receiver_wallet
):
    """The language is the page's, not the thread's: a later API answer on the
    same worker thread is not in Russian."""
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    url = wallet.start_deposit(token).json()["url"]
    parts = urlsplit(url)
    before = translation.get_language()
    page = wallet.get(f"{parts.path}?{parts.query}&lang=ru", follow=True)
    assert 'lang="ru"' in page.content.decode()
    assert translation.get_language() == before
    refused = wallet.get("/sep24/transaction", {"id": "x"})
    assert refused.status_code in (401, 403)
    assert not re.search("[\u0400-\u04ff]", refused.content.decode())  # Cyrillic
    assert translation.get_language() == before


def test_the_language_switch_carries_through_the_registration(
    client, tenant, wallet, ready_receiver_wallet
):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    url = wallet.start_deposit(token).json()["url"]
    parts = urlsplit(url)
    contact = wallet.get(f"{parts.path}?{parts.query}", follow=True)
    html = contact.content.decode()
    for code, name in settings.LANGUAGES:
        assert f'href="?lang={code}"' in html
        assert name in html
    switched = wallet.get("/wallet-registration/contact", {"lang": "ht"})
    assert 'lang="ht"' in switched.content.decode()
    # The next page, without the parameter, stays in the chosen language.
    later = wallet.get("/wallet-registration/contact").content.decode()
    assert 'lang="ht"' in later
    assert "Konfime kiyès ou ye" in later


# --- one contact input ------------------------------------------------------------


def _contact_page(wallet, **params) -> str:
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    url = wallet.start_deposit(token).json()["url"]
    parts = urlsplit(url)
    wallet.get(f"{parts.path}?{parts.query}")
    return wallet.get("/wallet-registration/contact", params).content.decode()


def _inputs(html: str) -> list[str]:
    return re.findall(r'<input type="(tel|email|text)"', html)


def test_the_start_page_asks_only_for_the_contact_receivers_have(tenant, wallet):
    ReceiverWalletFactory(
        receiver=ReceiverFactory(
            organization=tenant, phone_number=None, email="e@example.org"
        ),
        organization=tenant,
        wallet=tenant.test_wallet,
        status=ReceiverWallet.Status.READY,
    )
    html = _contact_page(wallet)
    assert _inputs(html) == ["email"]
    assert 'name="phone_number"' not in html
    assert "?via=" not in html
    assert "Enter the email address" in html

    sent = wallet.client.post(
        "/wallet-registration/contact",
        {"contact_kind": "email", "email": "E@example.org"},
        HTTP_HOST=wallet.host,
    )
    assert sent.status_code == 302
    assert "If your email address is registered" in (
        wallet.get(sent["Location"]).content.decode()
    )
    assert otp_from_outbox("e@example.org")


def test_with_both_contacts_waiting_one_input_and_a_link_to_the_other(
    tenant, wallet, ready_receiver_wallet
):
    ReceiverWalletFactory(
        receiver=ReceiverFactory(
            organization=tenant, phone_number=None, email="e@example.org"
        ),
        organization=tenant,
        wallet=tenant.test_wallet,
        status=ReceiverWallet.Status.READY,
    )
    html = _contact_page(wallet)
    assert _inputs(html) == ["tel"]
    assert 'href="?via=email"' in html
    email_page = wallet.get("/wallet-registration/contact", {"via": "email"})
    html = email_page.content.decode()
    assert _inputs(html) == ["email"]
    assert 'href="?via=phone"' in html
    # A way the page does not offer is not shown.
    assert _inputs(_contact_page(wallet, via="carrier-pigeon")) == ["tel"]


def test_the_date_of_birth_hint_names_no_other_format(
    tenant, wallet, ready_receiver_wallet
):
    _contact_page(wallet)
    sent = wallet.client.post(
        "/wallet-registration/contact",
        {
            "contact_kind": "phone",
            "phone_number": ready_receiver_wallet.receiver.phone_number,
        },
        HTTP_HOST=wallet.host,
    )
    html = wallet.get(sent["Location"]).content.decode()
    field = re.search(r'<input type="date"[^>]*>', html).group(0)
    assert 'name="verification_value"' in field
    assert f'max="{date.today().isoformat()}"' in field  # noqa: DTZ011
    hint = re.search(r'<p class="help" id="id_verification_value_help">([^<]*)<', html)
    assert "calendar" in hint.group(1)
    assert not re.search(r"YYYY|MM|DD|\d", hint.group(1))


# --- the catalogs -------------------------------------------------------------------


def _po(lang: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / lang / "LC_MESSAGES" / "django.po"))


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)s|\{\w+\}", text))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_is_complete_and_its_mo_is_the_po_compiled(lang):
    po = _po(lang)
    assert po.metadata["Language"] == lang
    entries = [entry for entry in po if not entry.obsolete]
    assert entries
    for entry in entries:
        assert "fuzzy" not in entry.flags, entry.msgid
        assert entry.msgstr.strip(), f"{lang}: untranslated {entry.msgid!r}"
        assert entry.msgstr != entry.msgid, f"{lang}: copied {entry.msgid!r}"
        assert _placeholders(entry.msgstr) == _placeholders(entry.msgid), entry.msgid
    mo = polib.mofile(str(ROOT / "locale" / lang / "LC_MESSAGES" / "django.mo"))
    compiled = {entry.msgid: entry.msgstr for entry in mo if entry.msgid}
    assert compiled == {entry.msgid: entry.msgstr for entry in entries}, (
        f"locale/{lang}/LC_MESSAGES/django.mo is stale: run `make messages`"
    )


@pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="GNU gettext is absent (.ci/run has it)"
)
def test_makemessages_finds_no_string_missing_from_the_catalogs(tmp_path):
    """Django's makemessages over a copy of the code: every msgid it extracts
    is in each catalog (a new string without a translation fails here)."""
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "locale", "__pycache__", ".sdp"
        ),
    )
    (copy / "locale").mkdir()
    command = [sys.executable, "manage.py", "makemessages", "-l", "es"]
    command += ["--no-location", "--no-wrap"]
    for pattern in MAKEMESSAGES_IGNORE:
        command += ["--ignore", pattern]
    subprocess.run(command, cwd=copy, check=True, capture_output=True, timeout=300)
    extracted = polib.pofile(str(copy / "locale/es/LC_MESSAGES/django.po"))
    wanted = {entry.msgid for entry in extracted if entry.msgid}
    assert len(wanted) > 50
    for lang in TRANSLATED:
        have = {entry.msgid for entry in _po(lang) if not entry.obsolete}
        assert not wanted - have, f"{lang}: not in the catalog: {wanted - have}"
        assert not have - wanted, f"{lang}: no longer used: {have - wanted}"


# --- dates and numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "amount"),
    [
        ("en", "1,234.5000000 USDC"),
        ("es", "1\xa0234,5000000 USDC"),
        ("ru", "1\xa0234,5000000 USDC"),
        ("uk", "1\xa0234,5000000 USDC"),
        ("ht", "1\xa0234,5000000 USDC"),
    ],
)
def test_status_page_writes_amounts_and_dates_in_the_language(
    client, tenant, lang, amount
):
    started = datetime(2026, 3, 4, 15, 6, tzinfo=UTC)
    transaction = Sep24Transaction.objects.create(
        organization=tenant,
        account=Keypair.random().public_key,
        asset_code="USDC",
        lang=lang,
        registered_at=started,
        completed_at=started + timedelta(minutes=1),
        payment_status=Sep24Transaction.PaymentStatus.SUCCESS,
        amount=Decimal("1234.5"),
        amount_asset="stellar:USDC:" + Keypair.random().public_key,
        stellar_transaction_id="ab" * 32,
    )
    Sep24Transaction.objects.filter(pk=transaction.pk).update(started_at=started)
    page = client.get(
        "/wallet-registration/status",
        {"t": more_info.sign(transaction.pk)},
        HTTP_HOST=tenant.host,
    )
    assert page.status_code == 200
    html = unescape(page.content.decode())
    assert f'lang="{lang}"' in html
    assert amount in html
    with translation.override(lang):
        when = formats.date_format(started, "DATETIME_FORMAT")
    assert f">{when} UTC<" in html
    expected_when = {
        "en": "March 4, 2026, 3:06 p.m.",
        "es": "4 de marzo de 2026 a las 15:06",
        "ru": "4 марта 2026 г. 15:06",  # noqa: RUF001
        "uk": "04 березня 2026 р. 15:06",  # noqa: RUF001
        "ht": "04/03/2026 15:06",
    }
    assert when == expected_when[lang]


def test_a_hostile_contact_kind_or_lang_is_ignored(
    tenant, wallet, ready_receiver_wallet
):
    _contact_page(wallet)
    answer = wallet.client.post(
        "/wallet-registration/contact?lang=../../etc",
        {"contact_kind": "<script>" * 50, "phone_number": "+1 415 555 0123"},
        HTTP_HOST=wallet.host,
    )
    assert answer.status_code == 302  # the page's own kind (phone) was used
    page = wallet.get("/wallet-registration/contact", {"lang": "x" * 500})
    assert page.status_code == 200
    assert 'lang="en"' in page.content.decode()


def test_a_form_sent_without_its_csrf_cookie_is_refused_in_the_language(
    tenant, wallet, ready_receiver_wallet
):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    url = wallet.start_deposit(token).json()["url"]
    parts = urlsplit(url)
    wallet.client.handler.enforce_csrf_checks = True
    wallet.get(f"{parts.path}?{parts.query}&lang=uk")
    refused = wallet.client.post(
        "/wallet-registration/contact",
        {"contact_kind": "phone", "phone_number": "+14155550123"},
        HTTP_HOST=wallet.host,
    )
    assert refused.status_code == 403
    html = refused.content.decode()
    assert 'lang="uk"' in html
    assert in_language(
        "uk",
        lambda: gettext(
            "This page has expired. Open the registration again from your wallet."
        ),
    ) in unescape(html)
    # Elsewhere, Django's own page.
    api = wallet.client.post("/admin/login/", {}, HTTP_HOST=wallet.host)
    assert api.status_code == 403
    assert "CSRF" in api.content.decode()
