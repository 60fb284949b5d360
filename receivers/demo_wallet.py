"""A recipient's wallet, played over real HTTP for the demo and the end-to-end test.

What a wallet app does, in order: read the tenant's stellar.toml (SEP-1), make
sure its account exists and trusts the asset, authenticate (SEP-10), open the
interactive deposit (SEP-24), then the person fills the registration pages (the
phone number, the 6-digit code, the verification value). After that the payment
arrives on the network; the wallet sees it in its account's payments.

Everything goes through HTTP (``requests``) to the platform and to Horizon, as
a real wallet would, except one thing a person does with their phone: reading
the 6-digit code. Here it is read from the dry-run outbox (the ``Message``
table), so this module must run where the platform's database is reachable.

``manage.py demo_wallet`` and ``tests/e2e/test_journey.py`` share this code.

Client attribution (SEP-10 ``client_domain``): the wallet first asks for a
challenge without one. Only when the platform answers that it requires one
(``SEP10_CLIENT_ATTRIBUTION_REQUIRED``, on by default; ``make demo`` turns it
off because the demo wallet has no domain of its own) does it name the wallet
provider's client domain and also sign with the key that domain publishes as
``SIGNING_KEY`` in its stellar.toml; the caller passes that key
(``Attribution``). The platform's own answer decides, not this process's
settings, because the command and the server may run with different
environments.
"""

from __future__ import annotations

import csv
import html
import os
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import phonenumbers
import requests
from stellar_sdk import Asset, ChangeTrust, Keypair, StrKey, TransactionBuilder
from stellar_sdk import TransactionEnvelope as Envelope

from receivers import links

HTTP_TIMEOUT = 15  # seconds, each request
OTP_WAIT = 10.0  # seconds the code may take to appear in the outbox
PAYMENT_POLL_INTERVAL = 0.5

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# What the pages show as errors: alerts and the fields' messages.
_FORM_ERRORS = re.compile(
    r'<(?:p|div)[^>]*(?:role="alert"|class="field-error")[^>]*>(.*?)</(?:p|div)>',
    re.S | re.I,
)
_TAGS = re.compile(r"<[^>]+>")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.I)
_SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class DemoWalletError(Exception):
    """A step failed; the message says which and what to check."""


@dataclass(frozen=True)
class Invitation:
    """What the wallet learns from an invitation: who, where, which asset."""

    contact: str  # E.164 phone number or lower-cased email address
    link: str = ""  # the signed deep link, if one was found
    home_domain: str = ""  # the link's ``domain``
    asset_code: str = ""  # "native" or a code
    asset_issuer: str = ""

    @property
    def contact_kind(self) -> str:
        return "email" if "@" in self.contact else "phone"


@dataclass(frozen=True)
class Attribution:
    """SEP-10 client attribution: the wallet provider's client domain (empty:
    the provider of the receiver's READY wallet) and its SIGNING_KEY's secret."""

    keypair: Keypair
    domain: str = ""


@dataclass(frozen=True)
class LedgerPayment:
    transaction_hash: str
    amount: Decimal
    asset_code: str
    asset_issuer: str
    source: str
    memo: str
    memo_type: str


@dataclass
class DemoWallet:
    """One wallet account talking to one tenant at ``base_url``.

    ``tenant`` goes in the ``SDP-Tenant-Name`` header, so the platform can be
    reached at any host (127.0.0.1:8000 has no tenant sub-domain).
    """

    base_url: str
    tenant: str
    keypair: Keypair = field(default_factory=Keypair.random)
    attribution: Attribution | None = None
    say: Callable[[str], None] = lambda _line: None
    http: requests.Session = field(default_factory=requests.Session)
    toml: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.http.headers["SDP-Tenant-Name"] = self.tenant

    # --- plumbing ---------------------------------------------------------------

    def _request(self, step: str, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        session = kwargs.pop("session", self.http)
        try:
            return session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise DemoWalletError(f"{step}: cannot reach {url}: {exc}") from exc

    def _json(self, step: str, response: requests.Response, expect: int = 200) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != expect or not isinstance(body, dict):
            detail = (
                body.get("error") or body.get("detail") or body
                if isinstance(body, dict)
                else response.text[:300]
            )
            raise DemoWalletError(
                f"{step}: HTTP {response.status_code} from {response.url}: {detail}"
            )
        return body

    @property
    def address(self) -> str:
        return self.keypair.public_key

    @property
    def horizon_url(self) -> str:
        return str(self.toml.get("HORIZON_URL", "")).rstrip("/")

    @property
    def passphrase(self) -> str:
        return str(self.toml.get("NETWORK_PASSPHRASE", ""))

    # --- SEP-1 ------------------------------------------------------------------

    def read_stellar_toml(self) -> dict:
        step = "SEP-1 stellar.toml"
        url = f"{self.base_url}/.well-known/stellar.toml"
        response = self._request(step, "GET", url)
        if response.status_code != 200:
            raise DemoWalletError(f"{step}: HTTP {response.status_code} from {url}")
        try:
            self.toml = tomllib.loads(response.text)
        except tomllib.TOMLDecodeError as exc:
            raise DemoWalletError(f"{step}: not valid TOML: {exc}") from exc
        missing = [
            key
            for key in (
                "SIGNING_KEY",
                "NETWORK_PASSPHRASE",
                "HORIZON_URL",
                "WEB_AUTH_ENDPOINT",
                "TRANSFER_SERVER_SEP0024",
            )
            if not self.toml.get(key)
        ]
        if missing:
            raise DemoWalletError(f"{step}: {url} has no {', '.join(missing)}")
        return self.toml

    def check_link(self, link: str) -> None:
        """A wallet trusts an invitation only if the platform's SIGNING_KEY
        signed it."""
        if not links.verify_signed_url(link, public_key=self.toml["SIGNING_KEY"]):
            raise DemoWalletError(
                "invitation: the link's signature does not match the SIGNING_KEY "
                "of the tenant's stellar.toml"
            )

    # --- the account on the network ------------------------------------------------

    def _horizon(self, path: str) -> requests.Response:
        return self._request("Horizon", "GET", f"{self.horizon_url}{path}")

    def _account_record(self) -> dict | None:
        response = self._horizon(f"/accounts/{self.address}")
        if response.status_code == 404:
            return None
        return self._json("Horizon account", response)

    def ensure_account(
        self, asset_code: str = "native", asset_issuer: str = ""
    ) -> None:
        """Create the account with friendbot when the network has one (the
        localnet does), then add a trustline for a non-native asset."""
        record = self._account_record()
        if record is None:
            root = self._json("Horizon", self._horizon("/"))
            if "friendbot" not in root.get("_links", {}):
                raise DemoWalletError(
                    f"account: {self.address} does not exist on {self.horizon_url} "
                    "and that network has no friendbot; fund it, then run again "
                    "with --secret"
                )
            self._json(
                "friendbot",
                self._request(
                    "friendbot",
                    "GET",
                    f"{self.horizon_url}/friendbot",
                    params={"addr": self.address},
                ),
            )
            self.say(f"account {self.address} funded by friendbot")
            record = self._account_record()
            if record is None:
                raise DemoWalletError("friendbot answered but the account is missing")
        if asset_code in ("", "native", "XLM") and not asset_issuer:
            return
        held = {
            (line.get("asset_code"), line.get("asset_issuer"))
            for line in record.get("balances", [])
        }
        if (asset_code, asset_issuer) in held:
            return
        self._change_trust(record, Asset(asset_code, asset_issuer))
        self.say(f"trustline to {asset_code} added")

    def _change_trust(self, record: dict, asset: Asset) -> None:
        from stellar_sdk import Account

        source = Account(self.address, int(record["sequence"]))
        envelope = (
            TransactionBuilder(source, self.passphrase, base_fee=100)
            .append_operation(ChangeTrust(asset=asset))
            .set_timeout(60)
            .build()
        )
        envelope.sign(self.keypair)
        response = self._request(
            "trustline",
            "POST",
            f"{self.horizon_url}/transactions",
            data={"tx": envelope.to_xdr()},
        )
        body = self._json("trustline", response)
        if body.get("successful") is False:
            raise DemoWalletError(f"trustline: the transaction failed: {body}")

    # --- SEP-10 -------------------------------------------------------------------

    def authenticate(self, home_domain: str = "") -> str:
        """SEP-10. The challenge names no client domain unless the platform
        requires attribution (it says so); then it names the wallet provider's,
        and the client domain's key signs too."""
        step = "SEP-10"
        endpoint = self.toml["WEB_AUTH_ENDPOINT"]
        params = {
            "account": self.address,
            "home_domain": home_domain or urlsplit(self.base_url).netloc,
        }
        response = self._request(step, "GET", endpoint, params=params)
        if response.status_code == 400 and "client_domain is required" in response.text:
            if self.attribution is None:
                raise DemoWalletError(
                    f"{step}: the platform requires client attribution "
                    "(SEP10_CLIENT_ATTRIBUTION_REQUIRED): pass --client-domain-secret "
                    "with the secret of the SIGNING_KEY the wallet provider's "
                    "stellar.toml publishes, or run the platform with "
                    "SEP10_CLIENT_ATTRIBUTION_REQUIRED=false (make demo does)"
                )
            params["client_domain"] = self.attribution.domain
            response = self._request(step, "GET", endpoint, params=params)
        challenge = self._json(f"{step} challenge", response)
        try:
            envelope = Envelope.from_xdr(challenge["transaction"], self.passphrase)
        except Exception as exc:
            raise DemoWalletError(
                f"{step}: the challenge is not a transaction"
            ) from exc
        if envelope.transaction.source.account_id != self.toml["SIGNING_KEY"]:
            raise DemoWalletError(f"{step}: the challenge is not from SIGNING_KEY")
        envelope.sign(self.keypair)
        if "client_domain" in params:
            envelope.sign(self.attribution.keypair)
        token = self._json(
            f"{step} token",
            self._request(
                step, "POST", endpoint, json={"transaction": envelope.to_xdr()}
            ),
        ).get("token")
        if not token:
            raise DemoWalletError(f"{step}: no token in the answer")
        attributed = (
            f" as {params['client_domain']}" if "client_domain" in params else ""
        )
        self.say(f"SEP-10: authenticated{attributed}")
        return token

    # --- SEP-24 -------------------------------------------------------------------

    def start_deposit(
        self, token: str, asset_code: str, asset_issuer: str = ""
    ) -> dict:
        step = "SEP-24 deposit"
        body = {"asset_code": asset_code or "native", "lang": "en"}
        if asset_issuer:
            body["asset_issuer"] = asset_issuer
        answer = self._json(
            step,
            self._request(
                step,
                "POST",
                f"{self.toml['TRANSFER_SERVER_SEP0024']}/transactions/deposit/interactive",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ),
        )
        if not answer.get("url") or not answer.get("id"):
            raise DemoWalletError(f"{step}: no url or id in the answer")
        self.say(f"SEP-24: interactive deposit {answer['id']} opened")
        return answer

    def transaction_status(self, token: str, transaction_id: str) -> str:
        step = "SEP-24 transaction"
        answer = self._json(
            step,
            self._request(
                step,
                "GET",
                f"{self.toml['TRANSFER_SERVER_SEP0024']}/transaction",
                params={"id": transaction_id},
                headers={"Authorization": f"Bearer {token}"},
            ),
        )
        return str(answer.get("transaction", {}).get("status", ""))

    # --- the registration pages ---------------------------------------------------

    def fill_registration_pages(
        self,
        interactive_url: str,
        *,
        contact: str,
        verification_value: str,
        read_code: Callable[[str, datetime], str],
    ) -> None:
        """What the person does in the wallet's web view. ``read_code(contact,
        since)`` returns the 6-digit code sent to ``contact`` after ``since``."""
        with requests.Session() as browser:  # a web view: its own cookies
            self._fill_pages(
                browser,
                interactive_url,
                contact=contact,
                verification_value=verification_value,
                read_code=read_code,
            )

    def _fill_pages(
        self, browser, interactive_url, *, contact, verification_value, read_code
    ) -> None:
        # The interactive URL names the host the platform was reached at.
        url = self._same_server(interactive_url)
        page = self._page("registration start", browser, "GET", url)
        if not page.url.rstrip("/").endswith("/contact"):
            raise DemoWalletError(
                f"registration start: expected the contact page, got {page.url}: "
                f"{_page_errors(page.text)}"
            )
        kind = "email" if "@" in contact else "phone"
        since = _now()
        page = self._page(
            "registration contact",
            browser,
            "POST",
            page.url,
            data={
                "csrfmiddlewaretoken": _csrf(page),
                "contact_kind": kind,
                "phone_number": contact if kind == "phone" else "",
                "email": contact if kind == "email" else "",
            },
        )
        if not page.url.rstrip("/").endswith("/verify"):
            raise DemoWalletError(
                f"registration contact: the page refused the {kind}: "
                f"{_page_errors(page.text)}"
            )
        self.say(f"registration: {kind} entered, code requested")
        code = read_code(contact, since)
        self.say("registration: code read from the dry-run outbox")
        asked = _asked_fact(page.text)
        page = self._page(
            "registration verify",
            browser,
            "POST",
            page.url,
            data={
                "csrfmiddlewaretoken": _csrf(page),
                "otp": code,
                "verification_value": verification_value,
            },
        )
        if page.url.rstrip("/").endswith("/verify") and _asked_fact(page.text) not in (
            "",
            asked,
        ):
            # The code was right and the page now asks this receiver's own
            # question (told only once the code is proven): answer it.
            self.say(f"registration: asked for {_asked_fact(page.text)} instead")
            page = self._page(
                "registration verify",
                browser,
                "POST",
                page.url,
                data={
                    "csrfmiddlewaretoken": _csrf(page),
                    "otp": code,
                    "verification_value": verification_value,
                },
            )
        if not page.url.rstrip("/").endswith("/success"):
            raise DemoWalletError(
                "registration verify: the code or the verification value was "
                f"refused: {_page_errors(page.text)}"
            )
        self.say("registration: done, the wallet is registered")

    def close(self) -> None:
        # Kept-alive connections hold the server's request threads (and their
        # database connections) open.
        self.http.close()

    def _same_server(self, url: str) -> str:
        parts = urlsplit(url)
        return f"{self.base_url}{parts.path}?{parts.query}"

    def _page(self, step, browser, method, url, **kwargs) -> requests.Response:
        if method == "POST":
            # A browser names the page's origin on a form post; over https
            # Django's CSRF check needs it (or a Referer).
            parts = urlsplit(url)
            headers = kwargs.setdefault("headers", {})
            headers.setdefault("Origin", f"{parts.scheme}://{parts.netloc}")
        response = self._request(step, method, url, session=browser, **kwargs)
        if response.status_code >= 500 or response.status_code in (403, 404, 405):
            raise DemoWalletError(
                f"{step}: HTTP {response.status_code} from {response.url}: "
                f"{_page_errors(response.text)}"
            )
        return response

    # --- the payment ------------------------------------------------------------

    def payment_ids(self) -> set[str]:
        """The payments the account already has (a reused --secret)."""
        response = self._horizon(f"/accounts/{self.address}/payments?limit=200")
        if response.status_code == 404:
            return set()
        records = self._json("Horizon payments", response)["_embedded"]["records"]
        return {record["id"] for record in records}

    def find_payment(
        self,
        asset_code: str = "native",
        asset_issuer: str = "",
        exclude: frozenset[str] | set[str] = frozenset(),
    ) -> LedgerPayment | None:
        response = self._horizon(
            f"/accounts/{self.address}/payments?order=desc&limit=50"
        )
        if response.status_code == 404:
            return None
        records = self._json("Horizon payments", response)["_embedded"]["records"]
        native = asset_code in ("", "native", "XLM") and not asset_issuer
        for record in records:
            if record.get("type") != "payment" or record.get("to") != self.address:
                continue
            if record.get("id") in exclude:
                continue
            if record.get("transaction_successful") is False:
                continue
            if native != (record.get("asset_type") == "native"):
                continue
            if not native and (
                record.get("asset_code"),
                record.get("asset_issuer"),
            ) != (asset_code, asset_issuer):
                continue
            transaction = self._json(
                "Horizon transaction",
                self._horizon(f"/transactions/{record['transaction_hash']}"),
            )
            return LedgerPayment(
                transaction_hash=record["transaction_hash"],
                amount=Decimal(record["amount"]),
                asset_code="XLM" if native else record["asset_code"],
                asset_issuer="" if native else record["asset_issuer"],
                source=record.get("from", ""),
                memo=str(transaction.get("memo", "")),
                memo_type=str(transaction.get("memo_type", "none")),
            )
        return None

    def wait_for_payment(
        self,
        timeout: float,
        asset_code: str = "native",
        asset_issuer: str = "",
        exclude: frozenset[str] | set[str] = frozenset(),
    ) -> LedgerPayment:
        deadline = time.monotonic() + timeout
        while True:
            payment = self.find_payment(asset_code, asset_issuer, exclude)
            if payment is not None:
                return payment
            if time.monotonic() > deadline:
                raise DemoWalletError(
                    f"payment: nothing arrived at {self.address} within "
                    f"{timeout:.0f} s. Is a worker running (make worker), is the "
                    "disbursement started, and is the distribution account funded?"
                )
            time.sleep(PAYMENT_POLL_INTERVAL)


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def _csrf(page: requests.Response) -> str:
    found = _CSRF.search(page.text)
    if not found:
        raise DemoWalletError(f"registration: no CSRF token on {page.url}")
    return html.unescape(found.group(1))


_ASKED = re.compile(r'<label for="id_verification_value"[^>]*>(.*?)</label>', re.S)


def _asked_fact(text: str) -> str:
    """The label of the verify page's question ("" if none)."""
    found = _ASKED.search(text or "")
    return html.unescape(_TAGS.sub("", found.group(1))).strip() if found else ""


def _page_errors(text: str) -> str:
    errors = [
        html.unescape(_TAGS.sub("", match)).strip()
        for match in _FORM_ERRORS.findall(text or "")
    ]
    errors = [error for error in errors if error]
    if errors:
        return "; ".join(dict.fromkeys(errors))
    title = re.search(r"<h1[^>]*>(.*?)</h1>", text or "", re.S)
    main = re.search(r"<main[^>]*>(.*?)</main>", text or "", re.S)
    snippet = (main or title).group(1) if (main or title) else (text or "")[:200]
    return " ".join(html.unescape(_TAGS.sub(" ", snippet)).split())[:300]


# --- what the demo reads on this machine -------------------------------------------


def normalize_contact(value: str) -> str:
    """E.164 for a phone number, lower case for an email; DemoWalletError if
    it is neither."""
    value = value.strip()
    if "@" in value:
        return value.lower()
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise DemoWalletError(
            f"{value!r} is not a phone number with its country code (+...)"
        ) from exc
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def verification_value_from_csv(path: Path | str, contact: str) -> str:
    """The ``verification`` column of the sample CSV's row for ``contact``
    (SDP's CSV: ``phone`` or ``email``, ``id``, ``amount``, ``verification``)."""
    path = Path(path)
    if not path.exists():
        raise DemoWalletError(
            f"CSV: {path} does not exist; run `make demo` first or pass --csv"
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    column = "email" if "@" in contact else "phone"
    for number, row in enumerate(rows, start=2):
        value = (row.get(column) or "").strip()
        if not value:
            continue
        try:
            matches = normalize_contact(value) == contact
        except DemoWalletError:
            continue
        if matches:
            verification = (row.get("verification") or "").strip()
            if not verification:
                raise DemoWalletError(f"CSV: {path} row {number} has no verification")
            return verification
    raise DemoWalletError(f"CSV: {path} has no row with that {column}")


def tenant_id_for(tenant: str):
    from auth_org.models import Organization

    organization = Organization.objects.filter(
        name__iexact=tenant, deleted_at__isnull=True
    ).first()
    if organization is None:
        raise DemoWalletError(f"tenant {tenant!r} does not exist")
    return organization.id


def client_domain_for(tenant_id, contact: str) -> str:
    """The client domain of the wallet provider the receiver is to register at
    (their READY receiver wallet's)."""
    from receivers.models import ReceiverWallet

    lookup = "receiver__email__iexact" if "@" in contact else "receiver__phone_number"
    domain = (
        ReceiverWallet.objects.filter(
            organization_id=tenant_id,
            status=ReceiverWallet.Status.READY,
            **{lookup: contact},
        )
        .order_by("-created_at")
        .values_list("wallet__sep_10_client_domain", flat=True)
        .first()
    )
    if not domain:
        raise DemoWalletError(
            "SEP-10: no READY receiver wallet for that contact names a client "
            "domain; pass --client-domain"
        )
    return domain


def outbox_code_reader(tenant_id) -> Callable[[str, datetime], str]:
    """Reads the code from the newest RECEIVER_OTP message to the contact (the
    dry-run outbox: the message row is written whatever the sender)."""
    from messaging.models import Message

    def read(contact: str, since: datetime) -> str:
        deadline = time.monotonic() + OTP_WAIT
        while True:
            message = (
                Message.objects.filter(
                    tenant_id=tenant_id,
                    kind=Message.Kind.RECEIVER_OTP,
                    recipient=contact,
                    created_at__gte=since,
                )
                .order_by("-created_at")
                .first()
            )
            if message is not None:
                found = _SIX_DIGITS.search(message.title) or _SIX_DIGITS.search(
                    message.body
                )
                if found:
                    return found.group(1)
                raise DemoWalletError("outbox: the code message has no 6-digit code")
            if time.monotonic() > deadline:
                raise DemoWalletError(
                    "outbox: no code was sent. The contact must belong to a "
                    "receiver of this tenant with a READY wallet at this wallet "
                    "provider (the disbursement uploaded and started)."
                )
            time.sleep(0.2)

    return read


def find_invitation(
    tenant_id, invite: str, *, base_url: str, contact: str = ""
) -> Invitation:
    """``invite`` is a contact or a link (a short link or the deep link itself).

    For a contact, the newest invitation message to it gives the link. A link
    names no one (SDP's links carry the asset, the domain and the name, so
    everyone paid in one asset gets the same one): its contact is ``contact``,
    else the one recipient of the messages that carried it.
    """
    from messaging.models import Message

    invitations = Message.objects.filter(
        tenant_id=tenant_id, kind=Message.Kind.RECEIVER_INVITATION
    ).order_by("-created_at")
    if "://" not in invite:
        contact = normalize_contact(invite)
        message = invitations.filter(recipient=contact).first()
        found = _URL.search(message.body) if message else None
        link = found.group(0).rstrip(".,)") if found else ""
    else:
        link = invite.strip()
        if contact:
            contact = normalize_contact(contact)
        else:
            recipients = set(
                invitations.filter(body__contains=link).values_list(
                    "recipient", flat=True
                )[:100]
            )
            if len(recipients) != 1:
                raise DemoWalletError(
                    "invitation: "
                    + (
                        f"this link went to {len(recipients)} receivers (links are "
                        "not personal); "
                        if recipients
                        else "no invitation in the outbox carries this link; "
                    )
                    + "say who you are with --contact (the phone number)"
                )
            contact = normalize_contact(recipients.pop())
    if not link:
        return Invitation(contact=contact)
    deep_link = resolve_short_link(link, base_url=base_url)
    params = dict(parse_qsl(urlsplit(deep_link).query))
    code, _, issuer = params.get("asset", "").partition("-")
    return Invitation(
        contact=contact,
        link=deep_link,
        home_domain=params.get("domain", ""),
        asset_code=code,
        asset_issuer=issuer,
    )


def resolve_short_link(link: str, *, base_url: str) -> str:
    """A short link (``/r/<code>``) redirects to the deep link; it is asked of
    the server at ``base_url`` (the tenant's own host may not resolve here)."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.path.startswith("/r/"):
        return link
    url = urljoin(base_url.rstrip("/") + "/", parts.path.lstrip("/"))
    try:
        response = requests.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise DemoWalletError(f"invitation: cannot reach {url}: {exc}") from exc
    location = response.headers.get("Location", "")
    if response.status_code not in (301, 302, 303, 307, 308) or not location:
        raise DemoWalletError(
            f"invitation: the short link did not redirect (HTTP {response.status_code})"
        )
    return location


# --- the whole journey -------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    address: str
    secret: str
    sep24_transaction_id: str
    payment: LedgerPayment | None


def play(
    *,
    base_url: str,
    tenant: str,
    invite: str,
    contact: str = "",
    verification_value: str | None = None,
    csv_path: Path | str | None = None,
    secret: str = "",
    attribution: Attribution | None = None,
    wait: float | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> Outcome:
    """The recipient's whole journey; ``wait`` seconds for the payment (None:
    don't wait). The verification value is given or read from ``csv_path``."""
    tenant_id = tenant_id_for(tenant)
    invitation = find_invitation(tenant_id, invite, base_url=base_url, contact=contact)
    if verification_value is None:
        if csv_path is None:
            raise DemoWalletError("give a verification value or a CSV to read it from")
        verification_value = verification_value_from_csv(csv_path, invitation.contact)
    try:
        keypair = Keypair.from_secret(secret) if secret else Keypair.random()
    except Exception as exc:
        raise DemoWalletError("--secret is not a Stellar secret key (S...)") from exc
    wallet = DemoWallet(base_url=base_url, tenant=tenant, keypair=keypair, say=say)
    if attribution is not None and not attribution.domain:
        attribution = Attribution(
            keypair=attribution.keypair,
            domain=client_domain_for(tenant_id, invitation.contact),
        )
    wallet.attribution = attribution
    try:
        return _journey(wallet, tenant_id, invitation, verification_value, wait, say)
    finally:
        wallet.close()


def _journey(
    wallet: DemoWallet,
    tenant_id,
    invitation: Invitation,
    verification_value: str,
    wait: float | None,
    say: Callable[[str], None],
) -> Outcome:
    wallet.read_stellar_toml()
    if invitation.link:
        wallet.check_link(invitation.link)
        say("invitation link found; its signature checks out")
    else:
        say("no invitation link in the outbox; using the tenant's stellar.toml")
    asset_code, asset_issuer = _asset(invitation, wallet.toml)
    wallet.ensure_account(asset_code, asset_issuer)
    earlier_payments = wallet.payment_ids()
    token = wallet.authenticate(invitation.home_domain)
    deposit = wallet.start_deposit(token, asset_code, asset_issuer)
    wallet.fill_registration_pages(
        deposit["url"],
        contact=invitation.contact,
        verification_value=verification_value,
        read_code=outbox_code_reader(tenant_id),
    )
    # Registered: the platform owes the payment (SEP-24 pending_anchor), or it
    # has already landed (completed).
    status = wallet.transaction_status(token, deposit["id"])
    if status not in ("pending_anchor", "completed"):
        raise DemoWalletError(
            f"SEP-24: the transaction is {status!r} after registration, "
            "not pending_anchor"
        )
    say(f"SEP-24: the transaction is {status}")
    payment = None
    if wait is not None:
        say(f"waiting up to {wait:.0f} s for the payment on {wallet.horizon_url}")
        deadline = time.monotonic() + wait
        payment = wallet.wait_for_payment(
            wait, asset_code, asset_issuer, earlier_payments
        )
        # The ledger shows the payment a moment before the platform records it.
        while status != "completed" and time.monotonic() < deadline + 15:
            time.sleep(0.5)
            status = wallet.transaction_status(token, deposit["id"])
        if status != "completed":
            raise DemoWalletError(
                f"SEP-24: the payment landed but the transaction is {status!r}"
            )
        say("SEP-24: the transaction is completed")
    return Outcome(
        address=wallet.address,
        secret=wallet.keypair.secret,
        sep24_transaction_id=deposit["id"],
        payment=payment,
    )


def _asset(invitation: Invitation, toml: dict) -> tuple[str, str]:
    """The invitation's asset, else the tenant's only non-native currency, else
    XLM."""
    if invitation.asset_code:
        return invitation.asset_code, invitation.asset_issuer
    credit = [c for c in toml.get("CURRENCIES", []) if c.get("code") != "native"]
    if len(credit) == 1:
        return credit[0]["code"], credit[0].get("issuer", "")
    return "native", ""


@dataclass
class ContractWallet:
    """A contract account (C...) playing a smart or passkey wallet: for being
    paid, an address is enough; what it holds is its balance in each asset's
    contract (SAC), read through Stellar RPC as the real wallets read it."""

    rpc_url: str
    passphrase: str
    address: str = field(default_factory=lambda: StrKey.encode_contract(os.urandom(32)))

    def balance(self, code: str = "XLM", issuer: str = "") -> Decimal:
        """The balance in the asset's contract (0 before the first payment)."""
        from stellar_sdk import SorobanServer

        asset = Asset.native() if not issuer else Asset(code, issuer)
        with SorobanServer(self.rpc_url) as rpc:
            found = rpc.get_sac_balance(self.address, asset, self.passphrase)
        if found.balance_entry is None:
            return Decimal(0)
        return Decimal(found.balance_entry.amount) / 10_000_000

    def wait_for_balance(
        self, timeout: float, code: str = "XLM", issuer: str = "", at_least=None
    ) -> Decimal:
        """Wait until the balance reaches ``at_least`` (default: above 0)."""
        deadline = time.monotonic() + timeout
        while True:
            balance = self.balance(code, issuer)
            if (at_least is None and balance > 0) or (
                at_least is not None and balance >= at_least
            ):
                return balance
            if time.monotonic() > deadline:
                raise DemoWalletError(
                    f"payment: no payment reached contract {self.address} in "
                    f"{timeout:.0f}s (is the disbursement started, and RPC at "
                    f"{self.rpc_url}?)"
                )
            time.sleep(PAYMENT_POLL_INTERVAL)
