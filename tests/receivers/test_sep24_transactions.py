"""SEP-24 GET /transactions and GET /transaction as a wallet calls them, the
transaction object checked against the spec's schema, its status following the
payment (registered -> pending_anchor -> completed | error), and more_info_url."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from disbursements.models import Payment
from disbursements.payments import cancel_payment, retry_payments
from receivers.models import Sep24Transaction
from tests.factories import DisbursementFactory, PaymentFactory
from tests.receivers import sep24_schema as schema
from tests.receivers.conftest import (
    DATE_OF_BIRTH,
    Wallet,
    make_ready_receiver,
    otp_from_outbox,
)
from tss.models import SubmitterTransaction
from tss.signals import transactions_finished

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _register(wallet: Wallet, url: str, phone: str = PHONE) -> None:
    """The receiver fills the pages the interactive URL opens."""
    contact = wallet.get(_path(url))["Location"]
    verify = wallet.client.post(
        contact, {"contact_kind": "phone", "phone_number": phone}, HTTP_HOST=wallet.host
    )["Location"]
    done = wallet.client.post(
        verify,
        {"otp": otp_from_outbox(phone), "verification_value": DATE_OF_BIRTH},
        HTTP_HOST=wallet.host,
    )
    assert done.status_code == 302, done.content.decode()


def _one(wallet: Wallet, token: str, **params):
    response = wallet.get("/sep24/transaction", params, **_auth(token))
    if response.status_code == 200:
        schema.check(response.json(), schema.ONE)
    return response


def _history(wallet: Wallet, token: str, **params):
    response = wallet.get("/sep24/transactions", params, **_auth(token))
    if response.status_code == 200:
        schema.check(response.json(), schema.MANY)
    return response


def _finish(payment: Payment, *, status: str, tx_hash: str = "", message: str = ""):
    """What the TSS announces when the payment's transaction is final."""
    row = SubmitterTransaction.objects.filter(external_id=str(payment.pk)).latest(
        "created_at"
    )
    # The TSS's own final write, as its engine makes it.
    SubmitterTransaction.objects.filter(pk=row.pk).update(
        status=status,
        stellar_transaction_hash=tx_hash,
        status_message=message,
        distribution_account=payment.organization.distribution_account_address,
    )
    row.refresh_from_db()
    transactions_finished.send(
        sender=SubmitterTransaction, submitter_transactions=[row]
    )


@pytest.fixture
def paid_receiver(tenant):
    """A READY payment of 12.5 USDC waiting for the receiver to register."""
    receiver_wallet = make_ready_receiver(tenant, tenant.test_wallet, phone=PHONE)
    disbursement = DisbursementFactory(
        organization=tenant,
        asset=tenant.test_asset,
        wallet=tenant.test_wallet,
        status="STARTED",
    )
    return PaymentFactory(
        disbursement=disbursement,
        receiver_wallet=receiver_wallet,
        status=Payment.Status.READY,
        amount=Decimal("12.5000000"),
    )


# --- the status follows the money (4, 4a) ---------------------------------------


def test_status_follows_the_payment_to_completed(wallet, tenant, paid_receiver):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    deposit = wallet.start_deposit(token).json()
    schema.check(deposit, schema.INTERACTIVE)

    tx = _one(wallet, token, id=deposit["id"]).json()["transaction"]
    assert tx["status"] == "incomplete"
    assert tx["to"] == wallet.keypair.public_key
    assert "completed_at" not in tx
    assert "stellar_transaction_id" not in tx

    _register(wallet, deposit["url"])
    tx = _one(wallet, token, id=deposit["id"]).json()["transaction"]
    # Registered: the platform owes a payment; nothing has landed yet.
    assert tx["status"] == "pending_anchor"
    assert "completed_at" not in tx
    assert "amount_in" not in tx

    paid_receiver.refresh_from_db()
    assert paid_receiver.status == Payment.Status.PENDING  # handed to the TSS
    tx_hash = secrets.token_hex(32)
    _finish(paid_receiver, status="SUCCESS", tx_hash=tx_hash)

    tx = _one(wallet, token, id=deposit["id"]).json()["transaction"]
    asset = f"stellar:USDC:{tenant.test_asset.issuer}"
    assert tx["status"] == "completed"
    assert (tx["amount_in"], tx["amount_out"], tx["amount_fee"]) == (
        "12.5000000",
        "12.5000000",
        "0.0000000",
    )
    assert tx["amount_in_asset"] == tx["amount_out_asset"] == asset
    assert tx["stellar_transaction_id"] == tx_hash
    assert tx["external_transaction_id"] == str(paid_receiver.pk)
    assert tx["from"] == tenant.distribution_account_address
    assert tx["completed_at"] >= tx["started_at"]

    # The same transaction, found by the other two ids.
    by_hash = _one(wallet, token, stellar_transaction_id=tx_hash).json()
    by_payment = _one(wallet, token, external_transaction_id=str(paid_receiver.pk))
    assert by_hash["transaction"]["id"] == deposit["id"]
    assert by_payment.json()["transaction"]["id"] == deposit["id"]


def test_a_failed_payment_is_an_error_with_its_reason_until_retried(
    wallet, tenant, paid_receiver
):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    deposit = wallet.start_deposit(token).json()
    _register(wallet, deposit["url"])
    paid_receiver.refresh_from_db()

    _finish(paid_receiver, status="ERROR", message="the receiver has no trustline")

    tx = _one(wallet, token, id=deposit["id"]).json()["transaction"]
    assert tx["status"] == "error"
    assert "no trustline" in tx["message"]
    assert "stellar_transaction_id" not in tx
    assert "completed_at" not in tx

    # The organization retries it, and this time it lands.
    retry_payments(tenant, [paid_receiver.pk], actor=None)
    paid_receiver.refresh_from_db()
    assert paid_receiver.status == Payment.Status.PENDING
    _finish(paid_receiver, status="SUCCESS", tx_hash="ab" * 32)
    tx = _one(wallet, token, id=deposit["id"]).json()["transaction"]
    assert tx["status"] == "completed"
    assert tx["stellar_transaction_id"] == "ab" * 32


def test_a_canceled_payment_is_an_error_and_other_payments_do_not_move_it(
    wallet, tenant, paid_receiver
):
    receiver_wallet = paid_receiver.receiver_wallet
    # Registered earlier with another wallet app: nothing READY is handed off now.
    Payment.objects.filter(pk=paid_receiver.pk).update(status=Payment.Status.DRAFT)
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    deposit = wallet.start_deposit(token).json()
    _register(wallet, deposit["url"])
    Payment.objects.filter(pk=paid_receiver.pk).update(status=Payment.Status.READY)
    paid_receiver.refresh_from_db()

    cancel_payment(paid_receiver, actor=None)

    tx = _one(wallet, token, id=deposit["id"]).json()["transaction"]
    assert tx["status"] == "error"
    assert tx["message"] == "The organization canceled this payment."
    # A later payment to the same wallet is not this transaction's.
    later = PaymentFactory(
        disbursement=paid_receiver.disbursement,
        receiver_wallet=receiver_wallet,
        status=Payment.Status.READY,
    )
    cancel_payment(later, actor=None)
    row = Sep24Transaction.objects.get(pk=deposit["id"])
    assert row.payment_id == paid_receiver.pk


# --- GET /transactions (2) -------------------------------------------------------


def test_history_is_newest_first_and_pages(wallet):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    start = timezone.now() - timedelta(hours=3)
    ids = []
    for hour in range(3):
        ids.append(wallet.start_deposit(token).json()["id"])
        Sep24Transaction.objects.filter(pk=ids[-1]).update(
            started_at=start + timedelta(hours=hour)
        )
    native = wallet.start_deposit(token, asset_code="native").json()["id"]

    listed = _history(wallet, token, asset_code="USDC").json()["transactions"]
    assert [t["id"] for t in listed] == ids[::-1]
    assert native not in {t["id"] for t in listed}
    assert [
        t["id"]
        for t in _history(wallet, token, asset_code="native").json()["transactions"]
    ] == [native]

    first = _history(wallet, token, asset_code="USDC", limit="2").json()
    assert [t["id"] for t in first["transactions"]] == [ids[2], ids[1]]
    rest = _history(wallet, token, asset_code="USDC", paging_id=ids[1]).json()
    assert [t["id"] for t in rest["transactions"]] == [ids[0]]

    since = (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    recent = _history(wallet, token, asset_code="USDC", no_older_than=since).json()
    assert [t["id"] for t in recent["transactions"]] == [ids[2], ids[1]]
    deposits = _history(wallet, token, asset_code="USDC", kind="deposit").json()
    assert len(deposits["transactions"]) == 3
    withdrawals = _history(wallet, token, asset_code="USDC", kind="withdrawal")
    assert withdrawals.json() == {"transactions": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "asset_code"),
        ({"asset_code": "EURC"}, "asset_code"),
        ({"asset_code": "USDC", "kind": "swap"}, "kind"),
        ({"asset_code": "USDC", "limit": "0"}, "limit"),
        ({"asset_code": "USDC", "limit": "many"}, "limit"),
        ({"asset_code": "USDC", "no_older_than": "yesterday"}, "no_older_than"),
        ({"asset_code": "USDC", "paging_id": "nope"}, "paging_id"),
    ],
)
def test_history_names_the_bad_parameter(wallet, params, field):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)

    response = _history(wallet, token, **params)

    assert response.status_code == 400
    schema.check(response.json(), schema.ERROR)
    assert field in response.json()["error"]


def test_history_shows_only_the_token_account_and_memo(client, tenant, wallet_domain):
    alice = Wallet(client, tenant.host, wallet_domain)
    alice_token = alice.authenticate(settings.NETWORK_PASSPHRASE)
    mine = alice.start_deposit(alice_token).json()["id"]
    # The same account under a memo is another user of a shared account.
    shared = Wallet(client, tenant.host, wallet_domain)
    shared.keypair = alice.keypair
    shared.memo = "77"
    shared_token = shared.authenticate(settings.NETWORK_PASSPHRASE)
    theirs = shared.start_deposit(shared_token).json()["id"]
    mallory = Wallet(client, tenant.host, wallet_domain)
    mallory_token = mallory.authenticate(settings.NETWORK_PASSPHRASE)

    def ids(who, token):
        body = _history(who, token, asset_code="USDC").json()
        return [t["id"] for t in body["transactions"]]

    assert ids(alice, alice_token) == [mine]
    assert ids(shared, shared_token) == [theirs]
    assert ids(mallory, mallory_token) == []
    # The paging id of another user is unknown, not a way in.
    response = _history(mallory, mallory_token, asset_code="USDC", paging_id=mine)
    assert response.status_code == 400
    memo_tx = _one(shared, shared_token, id=theirs).json()["transaction"]
    assert (memo_tx["deposit_memo"], memo_tx["deposit_memo_type"]) == ("77", "id")


# --- GET /transaction (3) --------------------------------------------------------


def test_transaction_lookup_needs_an_id_and_hides_unknown_ones(wallet):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    wallet.start_deposit(token)

    none = _one(wallet, token)
    assert none.status_code == 400
    schema.check(none.json(), schema.ERROR)
    for params in (
        {"id": "8c1b5d3e-0d52-4d0a-9a53-2f2b7bd5a001"},
        {"id": "not-a-uuid"},
        {"stellar_transaction_id": "cd" * 32},
        {"external_transaction_id": "8c1b5d3e-0d52-4d0a-9a53-2f2b7bd5a001"},
        # Not a UUID: names nothing (never "the ones without a payment").
        {"external_transaction_id": "x"},
    ):
        response = _one(wallet, token, **params)
        assert response.status_code == 404, params
        schema.check(response.json(), schema.ERROR)


# --- more_info_url (5) -----------------------------------------------------------


def test_more_info_url_is_a_status_page_without_cookie(wallet, tenant, paid_receiver):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    deposit = wallet.start_deposit(token).json()
    _register(wallet, deposit["url"])
    paid_receiver.refresh_from_db()
    _finish(paid_receiver, status="SUCCESS", tx_hash="ef" * 32)
    url = _one(wallet, token, id=deposit["id"]).json()["transaction"]["more_info_url"]

    browser = Client()  # a fresh client: no session cookie, no token
    page = browser.get(_path(url), HTTP_HOST=urlsplit(url).netloc)

    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "Aid Org" in text
    assert "12.5000000 USDC was sent to your wallet." in text
    assert "ef" * 32 in text
    assert PHONE not in text  # no personal data on a link that travels


def test_more_info_url_cannot_be_forged(wallet, tenant):
    token = wallet.authenticate(settings.NETWORK_PASSPHRASE)
    deposit = wallet.start_deposit(token).json()
    url = _one(wallet, token, id=deposit["id"]).json()["transaction"]["more_info_url"]
    browser = Client()

    forged = _path(url).replace(deposit["id"][:8], "00000000")
    assert browser.get(forged, HTTP_HOST=wallet.host).status_code == 404
    bare = f"/wallet-registration/status?t={deposit['id']}"
    assert browser.get(bare, HTTP_HOST=wallet.host).status_code == 404
    # Another tenant's host does not show it.
    from tests.factories import OrganizationFactory

    other = OrganizationFactory()
    response = browser.get(_path(url), HTTP_HOST=f"{other.name}.sdp.test")
    assert response.status_code == 404
