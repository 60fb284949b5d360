"""Limits of the registration's one-time codes (issue 16.7, 16.8, 17.13): how
often a code is sent, tries that belong to the contact, answers that do not tell
a receiver from a stranger, and SDP's testnet codes."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from stellar_sdk import Network

from messaging.models import Message
from receivers.models import ReceiverVerification, ReceiverWallet
from receivers.verification import hash_verification_value
from tests.factories import ReceiverFactory, ReceiverWalletFactory
from tests.receivers.conftest import otp_from_outbox
from tests.receivers.test_registration import PHONE, Interactive, _open_deposit

pytestmark = pytest.mark.django_db


def _codes_sent(phone: str) -> int:
    return Message.objects.filter(
        kind=Message.Kind.RECEIVER_OTP, recipient=phone
    ).count()


@pytest.fixture
def api(wallet, tenant):
    _, sep24_token, _ = _open_deposit(wallet)
    return Interactive(wallet, sep24_token)


def test_a_second_code_within_a_minute_is_429_with_when_to_retry(
    api, ready_receiver_wallet
):
    assert api.otp(phone_number=PHONE).status_code == 200

    responses = [api.otp(phone_number=PHONE) for _ in range(10)]

    assert {r.status_code for r in responses} == {429}
    wait = int(responses[-1]["Retry-After"])
    assert 1 <= wait <= 60
    assert responses[-1].json()["extras"]["retry_after"] == wait
    assert "Try again in" in responses[-1].json()["error"]
    assert _codes_sent(PHONE) == 1


def test_the_limit_is_per_contact_across_transactions_and_per_transaction(
    api, wallet, tenant, ready_receiver_wallet
):
    assert api.otp(phone_number=PHONE).status_code == 200
    # The same contact from a new SEP-24 transaction ...
    _, other_token, _ = _open_deposit(wallet)
    other = Interactive(wallet, other_token)
    assert other.otp(phone_number=PHONE).status_code == 429
    # ... and another contact in the same transaction are both held back.
    assert api.otp(phone_number="+14155550177").status_code == 429
    # An unrelated contact in an unrelated transaction is not.
    assert other.otp(phone_number="+14155550178").status_code == 200
    assert _codes_sent(PHONE) == 1


def test_at_most_five_codes_an_hour_and_sends_resume_after_the_interval(
    api, ready_receiver_wallet, settings
):
    settings.OTP_SEND_MIN_INTERVAL_SECONDS = 0
    statuses = [api.otp(phone_number=PHONE).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    hourly = api.otp(phone_number=PHONE)
    assert 3500 <= int(hourly["Retry-After"]) <= 3600
    assert _codes_sent(PHONE) == 5

    settings.OTP_SEND_MIN_INTERVAL_SECONDS = 1
    settings.OTP_SEND_MAX_PER_HOUR = 100
    assert api.otp(phone_number=PHONE).status_code == 429  # within the second
    time.sleep(1.1)
    assert api.otp(phone_number=PHONE).status_code == 200


def test_unknown_contacts_are_throttled_alike(api, tenant):
    first = api.otp(phone_number="+14155550199")
    second = api.otp(phone_number="+14155550199")
    assert (first.status_code, second.status_code) == (200, 429)


def test_a_new_code_does_not_reset_the_tries(api, ready_receiver_wallet, settings):
    settings.OTP_SEND_MIN_INTERVAL_SECONDS = 0
    for _ in range(4):
        api.otp(phone_number=PHONE)
        assert api.verify("999998").json()["error_code"] == "400_6"
    api.otp(phone_number=PHONE)
    code = otp_from_outbox(PHONE)

    assert api.verify("999998").json()["error_code"] == "400_4"
    assert api.verify(code).json()["error_code"] == "400_4"
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.status == ReceiverWallet.Status.READY


def test_the_pages_answer_429_too(wallet, tenant, ready_receiver_wallet):
    url, _, _ = _open_deposit(wallet)
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    assert wallet.get(f"{parts.path}?{parts.query}").status_code == 302
    contact = {"contact_kind": "phone", "phone_number": PHONE}
    first = wallet.client.post(
        "/wallet-registration/contact", contact, HTTP_HOST=wallet.host
    )
    assert first.status_code == 302
    resend = wallet.client.post("/wallet-registration/resend", HTTP_HOST=wallet.host)
    assert resend.status_code == 429
    assert int(resend["Retry-After"]) >= 1
    assert b"seconds" in resend.content
    assert _codes_sent(PHONE) == 1


def test_dead_redis_sends_no_code(api, ready_receiver_wallet, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api.otp(phone_number=PHONE)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert _codes_sent(PHONE) == 0


# --- 16.8: the answer does not tell a receiver from a stranger -----------------


def _pin_receiver(tenant, phone):
    receiver = ReceiverFactory(organization=tenant, phone_number=phone)
    ReceiverVerification.objects.create(
        receiver=receiver,
        verification_field="PIN",
        hashed_value=hash_verification_value("PIN", "4321"),
    )
    return ReceiverWalletFactory(
        receiver=receiver,
        organization=tenant,
        wallet=tenant.test_wallet,
        status=ReceiverWallet.Status.READY,
    )


def test_unknown_phone_and_pin_receiver_get_the_same_answer(wallet, tenant, settings):
    _pin_receiver(tenant, "+14155550111")
    _, token_a, _ = _open_deposit(wallet)
    _, token_b, _ = _open_deposit(wallet)

    known = Interactive(wallet, token_a).otp(phone_number="+14155550111")
    unknown = Interactive(wallet, token_b).otp(phone_number="+14155550199")

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert known.json()["verification_field"] == "PIN"


# --- 17.13: SDP's testnet codes -------------------------------------------------


def _verify(api, otp, phone=PHONE):
    return api.wallet.post_json(
        "/sep24-interactive-deposit/verification",
        {
            "phone_number": phone,
            "otp": otp,
            "verification": "1990-04-17",
            "verification_field": "DATE_OF_BIRTH",
        },
        **api.auth,
    )


def test_sdp_testnet_code_registers_on_testnet_as_sdp_scripts_do(
    api, ready_receiver_wallet, settings
):
    settings.NETWORK_PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
    settings.PRODUCTION = True  # SDP's rule is the network's, not the deployment's
    # SDP's integration script asks for a code, then sends 000000.
    assert api.otp(phone_number=PHONE).status_code == 200

    assert _verify(api, "000000").json() == {"message": "ok"}
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.status == ReceiverWallet.Status.REGISTERED


def test_sdp_testnet_failing_code_always_fails_on_testnet(
    api, ready_receiver_wallet, settings
):
    settings.NETWORK_PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
    api.otp(phone_number=PHONE)
    assert _verify(api, "999999").json()["error_code"] == "400_6"
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.otp_attempts == 1


def test_sdp_testnet_code_never_works_on_pubnet(api, ready_receiver_wallet, settings):
    settings.NETWORK_PASSPHRASE = Network.PUBLIC_NETWORK_PASSPHRASE
    api.otp(phone_number=PHONE)
    assert _verify(api, "000000").json()["error_code"] == "400_6"
    ready_receiver_wallet.refresh_from_db()
    assert ready_receiver_wallet.status == ReceiverWallet.Status.READY
    assert django_settings.NETWORK_PASSPHRASE == Network.PUBLIC_NETWORK_PASSPHRASE
