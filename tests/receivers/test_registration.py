"""The registration journey through the pages (Django's test client), its JSON
API with SDP's error codes, its limits, and the attacks on it."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from auth_org.models import AuditEntry
from disbursements.services import upload_instructions
from messaging.models import Message
from receivers import registration
from receivers.links import sign_url
from receivers.models import (
    ReceiverRegistrationAttempt,
    ReceiverVerification,
    ReceiverWallet,
    Sep24Transaction,
)
from receivers.signals import receiver_wallet_registered
from receivers.verification import check_verification_value, hash_verification_value
from tests.factories import DisbursementFactory
from tests.receivers.conftest import DATE_OF_BIRTH, make_ready_receiver, otp_from_outbox

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _open_deposit(wallet) -> tuple[str, str, str]:
    """SEP-10 then SEP-24: (interactive URL, SEP-24 token, transaction id)."""
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    body = wallet.start_deposit(token).json()
    sep24_token = parse_qs(urlsplit(body["url"]).query)["token"][0]
    return body["url"], sep24_token, body["id"]


@pytest.fixture
def signals_sent():
    sent = []

    def listener(sender, receiver_wallet, **kwargs):
        sent.append(receiver_wallet.pk)

    receiver_wallet_registered.connect(listener, dispatch_uid="test-registration")
    yield sent
    receiver_wallet_registered.disconnect(dispatch_uid="test-registration")


# --- the journey through the pages --------------------------------------------


def test_wallet_registers_a_receiver_through_the_pages(
    wallet, tenant, ready_receiver_wallet, signals_sent
):
    toml = wallet.toml()
    assert urlsplit(toml["WEB_AUTH_ENDPOINT"]).path == "/sep10/auth"
    wallet.memo = "4242"
    url, _, transaction_id = _open_deposit(wallet)

    start = wallet.get(_path(url))
    assert start.status_code == 302
    contact_page = wallet.get(start["Location"])
    assert contact_page.status_code == 200
    assert "Aid Org" in contact_page.content.decode()

    sent = wallet.client.post(
        start["Location"],
        {"contact_kind": "phone", "phone_number": "+1 415 555 0123"},
        HTTP_HOST=wallet.host,
    )
    assert sent.status_code == 302
    verify_url = sent["Location"]
    page = wallet.get(verify_url).content.decode()
    assert "Date of birth" in page

    done = wallet.client.post(
        verify_url,
        {"otp": otp_from_outbox(PHONE), "verification_value": DATE_OF_BIRTH},
        HTTP_HOST=wallet.host,
    )
    assert done.status_code == 302, done.content.decode()
    success = wallet.get(done["Location"]).content.decode()
    assert "You are registered" in success
    assert "Aid Org" in success

    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.status == ReceiverWallet.Status.REGISTERED
    assert ready_receiver_wallet.stellar_address == wallet.keypair.public_key
    assert ready_receiver_wallet.stellar_memo == "4242"
    assert ready_receiver_wallet.stellar_memo_type == "id"
    assert ready_receiver_wallet.otp_confirmed_with == PHONE
    assert ready_receiver_wallet.sep24_transaction_id == transaction_id
    verification = ReceiverVerification.objects.get(
        receiver=ready_receiver_wallet.receiver
    )
    assert verification.confirmed_at is not None
    assert verification.confirmed_by_type == "RECEIVER"
    assert verification.verification_channel == "SMS"
    sep24_transaction = Sep24Transaction.objects.get(pk=transaction_id)
    assert sep24_transaction.registered_at is not None
    # Registered is not completed: SEP-24's completed waits for the payment.
    assert sep24_transaction.completed_at is None
    assert signals_sent == [ready_receiver_wallet.pk]
    history = ready_receiver_wallet.status_changes.last()
    assert (history.from_status, history.to_status) == ("READY", "REGISTERED")

    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    status = wallet.get(
        "/sep24/transaction",
        {"id": transaction_id},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    ).json()["transaction"]
    assert status["status"] == "pending_anchor"  # no payment has landed yet
    assert (status["to"], status["deposit_memo"]) == (wallet.keypair.public_key, "4242")


def test_the_code_message_goes_to_the_contact_with_the_org_template(
    wallet, tenant, ready_receiver_wallet
):
    _, _, transaction_id = _open_deposit(wallet)
    sep24_transaction = Sep24Transaction.objects.get(pk=transaction_id)

    field = registration.request_otp(sep24_transaction, phone_number=PHONE)

    message = Message.objects.get(kind=Message.Kind.RECEIVER_OTP)
    assert field == "DATE_OF_BIRTH"
    assert (message.channel, message.recipient) == ("SMS", PHONE)
    assert message.body.endswith(
        "is your Aid Org verification code. If you did "
        "not request this code, please ignore. Do not "
        "share your code with anyone."
    )
    assert message.receiver_wallet_id == ready_receiver_wallet.pk
    ready_receiver_wallet.refresh_from_db()
    assert message.body[:6] not in ready_receiver_wallet.otp_hash  # only a hash


def test_pages_show_nothing_without_a_valid_token(wallet, tenant):
    response = wallet.get("/wallet-registration/start", {"token": "forged"})

    assert response.status_code == 403
    assert "Aid Org" not in response.content.decode()
    assert wallet.get("/wallet-registration/contact").status_code == 403


def test_sep24_token_for_another_transaction_is_refused(wallet, tenant):
    _, token_a, _ = _open_deposit(wallet)
    _, _, transaction_b = _open_deposit(wallet)

    response = wallet.get(
        "/wallet-registration/start",
        {"token": token_a, "transaction_id": transaction_b},
    )

    assert response.status_code == 403


def test_expired_sep24_token_is_refused(wallet, tenant):
    url, _, _ = _open_deposit(wallet)

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = wallet.get(_path(url))

    assert response.status_code == 403


def test_already_registered_account_is_told_so(wallet, tenant, ready_receiver_wallet):
    ReceiverWallet.objects.filter(pk=ready_receiver_wallet.pk).update(
        status=ReceiverWallet.Status.REGISTERED,
        stellar_address=wallet.keypair.public_key,
    )
    url, _, _ = _open_deposit(wallet)

    contact = wallet.get(wallet.get(_path(url))["Location"])

    assert "already registered" in contact.content.decode()


def test_wrong_verification_value_is_shown_on_the_page(
    wallet, tenant, ready_receiver_wallet
):
    url, _, _ = _open_deposit(wallet)
    contact_url = wallet.get(_path(url))["Location"]
    verify_url = wallet.client.post(
        contact_url,
        {"contact_kind": "phone", "phone_number": PHONE},
        HTTP_HOST=wallet.host,
    )["Location"]

    response = wallet.client.post(
        verify_url,
        {"otp": otp_from_outbox(PHONE), "verification_value": "1991-01-01"},
        HTTP_HOST=wallet.host,
    )

    assert response.status_code == 400
    assert "could not be found" in response.content.decode()
    assert 'role="alert"' in response.content.decode()


def test_invitation_link_signature_is_checked_before_anything_is_shown(wallet, tenant):
    link = sign_url(
        f"http://{tenant.host}/wallet-registration/start"
        f"?asset=USDC-{tenant.test_asset.issuer}&domain={tenant.host}&name=Aid+Org"
    )
    tampered = link.replace("name=Aid+Org", "name=Evil+Org")

    good = wallet.get(_path(link))
    bad = wallet.get(_path(tampered))

    assert good.status_code == 200
    assert "Aid Org has a payment for you" in good.content.decode()
    assert bad.status_code == 403
    assert "Evil" not in bad.content.decode()


# --- the JSON API (SDP's /sep24-interactive-deposit/*) -------------------------


class Interactive:
    def __init__(self, wallet, sep24_token):
        self.wallet = wallet
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {sep24_token}"}

    def info(self):
        return self.wallet.get("/sep24-interactive-deposit/info", **self.auth)

    def otp(self, **body):
        return self.wallet.post_json(
            "/sep24-interactive-deposit/otp", body, **self.auth
        )

    def verify(self, otp, value=DATE_OF_BIRTH, phone=PHONE):
        return self.wallet.post_json(
            "/sep24-interactive-deposit/verification",
            {
                "phone_number": phone,
                "otp": otp,
                "verification": value,
                "verification_field": "DATE_OF_BIRTH",
            },
            **self.auth,
        )


@pytest.fixture
def api(wallet, tenant):
    _, sep24_token, _ = _open_deposit(wallet)
    return Interactive(wallet, sep24_token)


def test_json_api_registers(api, ready_receiver_wallet):
    assert api.info().json()["organization_name"] == "Aid Org"
    assert api.info().json()["is_registered"] is False
    sent = api.otp(phone_number=PHONE)
    assert sent.status_code == 200
    assert sent.json()["verification_field"] == "DATE_OF_BIRTH"

    response = api.verify(otp_from_outbox(PHONE))

    assert response.json() == {"message": "ok"}
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.status == ReceiverWallet.Status.REGISTERED
    assert api.info().json()["is_registered"] is True


def test_unknown_contact_gets_the_same_answer_and_is_recorded(
    api, wallet, tenant, settings
):
    settings.OTP_SEND_MIN_INTERVAL_SECONDS = 0  # two contacts, one transaction
    known = make_ready_receiver(tenant, tenant.test_wallet)
    answer_known = api.otp(phone_number=known.receiver.phone_number).json()
    answer_unknown = api.otp(phone_number="+14155550199").json()

    assert answer_known == answer_unknown
    attempt = ReceiverRegistrationAttempt.objects.get()
    assert attempt.phone_number == "+14155550199"
    assert attempt.wallet_address == wallet.keypair.public_key
    assert not Message.objects.filter(recipient="+14155550199").exists()
    # ... and trying a code for it looks like a wrong code, not "unknown contact"
    assert api.verify("123456", phone="+14155550199").json()["error_code"] == "400_6"


def test_malformed_contact_is_400_0(api):
    response = api.otp(phone_number="12")

    assert response.status_code == 400
    assert response.json()["error_code"] == "400_0"
    assert "phone_number" in response.json()["extras"]


def test_code_brute_force_hits_the_limit(api, ready_receiver_wallet, settings):
    api.otp(phone_number=PHONE)
    code = otp_from_outbox(PHONE)
    wrong = "000001" if code != "000001" else "000002"

    codes = [api.verify(wrong).json()["error_code"] for _ in range(5)]

    assert codes == ["400_6", "400_6", "400_6", "400_6", "400_4"]
    assert api.verify(code).json()["error_code"] == "400_4"  # even the right one
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.status == ReceiverWallet.Status.READY
    # the tries are the contact's: a new code does not give new ones ...
    settings.OTP_SEND_MIN_INTERVAL_SECONDS = 0
    assert api.otp(phone_number=PHONE).status_code == 200
    assert api.verify(otp_from_outbox(PHONE)).json()["error_code"] == "400_4"
    # ... until the contact's last code is an hour old
    ReceiverWallet.objects.filter(pk=ready_receiver_wallet.pk).update(
        otp_created_at=timezone.now() - timedelta(hours=1, seconds=1)
    )
    assert api.otp(phone_number=PHONE).status_code == 200
    assert api.verify(otp_from_outbox(PHONE)).json() == {"message": "ok"}


def test_code_expires_after_five_minutes(api, ready_receiver_wallet):
    api.otp(phone_number=PHONE)
    code = otp_from_outbox(PHONE)

    # (travelling in time would expire the 5-minute SEP-24 token as well)
    ReceiverWallet.objects.filter(pk=ready_receiver_wallet.pk).update(
        otp_created_at=timezone.now() - timedelta(minutes=5, seconds=1)
    )
    response = api.verify(code)

    assert response.json()["error_code"] == "400_5"


def test_verification_brute_force_locks_until_an_operator_resets(
    api, ready_receiver_wallet, user
):
    api.otp(phone_number=PHONE)
    code = otp_from_outbox(PHONE)

    codes = {
        api.verify(code, f"1980-01-{day:02d}").json()["error_code"]
        for day in range(1, 16)
    }
    locked = api.verify(code)

    assert codes == {"400_2"}
    assert locked.json()["error_code"] == "400_3"
    verification = ReceiverVerification.objects.get()
    assert verification.attempts == 15
    assert verification.failed_at is not None

    registration.reset_verification_attempts(verification, actor=user)

    assert api.verify(code).json() == {"message": "ok"}
    assert AuditEntry.objects.filter(
        action="receiver_verification.reset_attempts", actor=user
    ).exists()


def test_demo_code_works_on_the_local_network_only(
    api, ready_receiver_wallet, settings
):
    settings.NETWORK_PASSPHRASE = settings.PUBNET_PASSPHRASE
    assert api.verify("000000").json()["error_code"] == "400_6"

    settings.NETWORK_PASSPHRASE = settings.LOCALNET_PASSPHRASE
    assert api.verify("000000").json() == {"message": "ok"}


def test_demo_code_is_off_in_production(settings):
    settings.PRODUCTION = True

    assert registration.demo_otp() == ""


def test_address_of_another_receiver_is_refused(api, wallet, tenant):
    other = make_ready_receiver(tenant, tenant.test_wallet, phone="+14155550124")
    mine = make_ready_receiver(tenant, tenant.test_wallet)
    from receivers.models import ReceiverStellarAddress

    ReceiverStellarAddress.objects.create(
        organization=tenant,
        stellar_address=wallet.keypair.public_key,
        receiver=other.receiver,
    )
    api.otp(phone_number=PHONE)

    response = api.verify(otp_from_outbox(PHONE))

    assert response.json()["error_code"] == "400_0"
    mine.refresh_from_db()
    assert mine.status == ReceiverWallet.Status.READY


def test_receiver_at_another_wallet_provider_gets_no_code(api, tenant):
    from tests.factories import WalletFactory

    elsewhere = WalletFactory(organization=tenant, sep_10_client_domain="other.example")
    make_ready_receiver(tenant, elsewhere)

    api.otp(phone_number=PHONE)

    assert not Message.objects.filter(kind=Message.Kind.RECEIVER_OTP).exists()
    assert ReceiverRegistrationAttempt.objects.count() == 1


def test_registration_api_needs_the_sep24_token(wallet, tenant):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)  # a SEP-10 token

    response = wallet.get(
        "/sep24-interactive-deposit/info", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 401


# --- reCAPTCHA ------------------------------------------------------------------


@pytest.fixture
def recaptcha(settings):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            form = parse_qs(self.rfile.read(length).decode())
            ok = form.get("response") == ["good"] and form.get("secret") == ["s3"]
            body = json.dumps({"success": ok}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.RECAPTCHA_VERIFY_URL = f"http://127.0.0.1:{server.server_address[1]}/"
    settings.RECAPTCHA_SITE_SECRET_KEY = "s3"
    settings.RECAPTCHA_SITE_KEY = "site"
    settings.DISABLE_RECAPTCHA = False
    yield
    server.shutdown()
    server.server_close()


def test_recaptcha_is_checked_when_enabled(api, ready_receiver_wallet, recaptcha):
    assert api.info().json()["is_recaptcha_disabled"] is False

    refused = api.otp(phone_number=PHONE, recaptcha_token="bad")
    accepted = api.otp(phone_number=PHONE, recaptcha_token="good")

    assert refused.json()["error_code"] == "400_1"
    assert accepted.status_code == 200


def test_organization_can_turn_recaptcha_off(api, tenant, recaptcha):
    tenant.captcha_disabled = True
    tenant.save()

    assert api.otp(phone_number=PHONE).status_code == 200


# --- verification values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "stored", "given", "matches"),
    [
        ("DATE_OF_BIRTH", "1990-04-17", " 1990-04-17 ", True),
        ("DATE_OF_BIRTH", "1990-04-17", "1990-04-18", False),
        ("YEAR_MONTH", "1990-04", "1990-04", True),
        ("PIN", "1234", "1234", True),
        ("PIN", "1234", "4321", False),
        ("NATIONAL_ID_NUMBER", "ab123", "AB123", True),
    ],
)
def test_verification_values_are_hashed_and_checked(field, stored, given, matches):
    verification = ReceiverVerification(
        verification_field=field, hashed_value=hash_verification_value(field, stored)
    )

    # A keyed hash with its salt, never the value: "1234" can occur by chance
    # inside 80 hex digits, so the parts are compared, not searched.
    prefix, salt, digest = verification.hashed_value.split("$")
    assert prefix == "hmac_sha256"
    assert len(salt) == 16
    assert len(digest) == 64
    assert stored.strip().lower() not in (salt, digest)
    assert check_verification_value(verification, given) is matches


@pytest.mark.django_db
def test_a_value_stored_by_csv_upload_is_what_registration_checks(organization):
    """Ingestion and registration share one scheme: the uploaded national id in
    lower case matches the receiver typing it in upper case."""
    disbursement = DisbursementFactory(
        organization=organization, verification_field="NATIONAL_ID_NUMBER"
    )
    upload_instructions(
        disbursement,
        actor=None,
        file_name="people.csv",
        content=b"phone,id,amount,verification\n+14155550177,r-77,5,ab-123\n",
    )
    verification = ReceiverVerification.objects.get(
        receiver__phone_number="+14155550177"
    )
    assert check_verification_value(verification, " AB-123 ")
    assert not check_verification_value(verification, "AB-124")
