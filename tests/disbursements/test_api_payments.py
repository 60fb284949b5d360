"""Payments routes (dashboard-api.md §2.5, flow 7) and the READY auto-cancel job."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from auth_org.models import Role
from disbursements.models import Payment, PaymentStatusChange
from disbursements.payments import cancel_expired_ready_payments
from tests.api2_fixtures import client_for, role_user
from tests.factories import (
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
)
from tss.models import SubmitterTransaction

pytestmark = pytest.mark.django_db

G1 = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"


@pytest.fixture
def disbursement(organization, wallet, usdc):
    return DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )


@pytest.fixture
def registered(organization, wallet):
    receiver = ReceiverFactory(organization=organization, phone_number="+14155550101")
    return ReceiverWalletFactory(
        receiver=receiver, wallet=wallet, status="REGISTERED", stellar_address=G1
    )


def payment(disbursement, status="READY", **kw):
    return PaymentFactory(
        disbursement=disbursement,
        status=status,
        receiver_wallet__wallet=disbursement.wallet,
        **kw,
    )


def test_list_has_the_fields_the_dashboard_reads(api, disbursement):
    p = payment(disbursement, stellar_transaction_id="abc")
    PaymentStatusChange.objects.create(payment=p, to_status="READY", note="started")
    response = api.get("/payments/?page=1&page_limit=20")
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"pages": 1, "total": 1}
    item = body["data"][0]
    assert item["id"] == str(p.pk)
    assert item["amount"] == "12.5000000"
    assert item["type"] == "DISBURSEMENT"
    assert item["status"] == "READY"
    assert item["stellar_transaction_id"] == "abc"
    assert item["status_history"] == [
        {
            "status": "READY",
            "status_message": "started",
            "timestamp": item["status_history"][0]["timestamp"],
        }
    ]
    assert item["disbursement"]["id"] == str(disbursement.pk)
    assert item["disbursement"]["name"] == disbursement.name
    assert item["asset"]["code"] == "USDC"
    assert item["receiver_wallet"]["receiver"] == {"id": str(p.receiver_id)}
    assert set(item["receiver_wallet"]) >= {
        "id", "wallet", "stellar_address", "stellar_memo", "stellar_memo_type",
        "status", "created_at", "updated_at",
    }  # fmt: skip
    assert api.get("/payments").json()["pagination"]["total"] == 1


def test_list_filters(api, disbursement, organization):
    ready = payment(disbursement)
    failed = payment(disbursement, status="FAILED", external_payment_id="ext-77")
    payment(DisbursementFactory(), status="FAILED")  # another tenant
    assert [p["id"] for p in api.get("/payments/?status=FAILED").json()["data"]] == [
        str(failed.pk)
    ]
    by_receiver = api.get(f"/payments/?receiver_id={ready.receiver_id}").json()
    assert [p["id"] for p in by_receiver["data"]] == [str(ready.pk)]
    assert api.get("/payments/?q=ext-7").json()["pagination"]["total"] == 1
    assert (
        api.get(f"/payments/?q={disbursement.name}").json()["pagination"]["total"] == 2
    )
    assert api.get("/payments/?type=DIRECT").json()["pagination"]["total"] == 0
    assert api.get("/payments/?type=disbursement").json()["pagination"]["total"] == 2
    assert api.get("/payments/?status=NOPE").status_code == 400
    assert api.get("/payments/?receiver_id=nope").status_code == 400
    assert api.get("/payments/?sort=amount").status_code == 400


def test_details_and_isolation(api, disbursement):
    p = payment(disbursement)
    assert api.get(f"/payments/{p.pk}").json()["id"] == str(p.pk)
    other = payment(DisbursementFactory())
    assert api.get(f"/payments/{other.pk}").status_code == 404


def test_cancel_ready_payment(api, disbursement):
    p = payment(disbursement)
    response = api.patch(
        f"/payments/{p.pk}/status", {"status": "CANCELED"}, format="json"
    )
    assert response.json() == {"message": "Payment canceled"}
    p.refresh_from_db()
    assert p.status == "CANCELED"


@pytest.mark.parametrize("status", ["PENDING", "SUCCESS", "FAILED", "DRAFT"])
def test_cancel_only_ready(api, disbursement, status):
    p = payment(disbursement, status=status)
    response = api.patch(
        f"/payments/{p.pk}/status", {"status": "CANCELED"}, format="json"
    )
    assert response.status_code == 400
    p.refresh_from_db()
    assert p.status == status


def test_cancel_accepts_only_canceled(api, disbursement):
    p = payment(disbursement)
    response = api.patch(
        f"/payments/{p.pk}/status", {"status": "SUCCESS"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "status": '"SUCCESS" is not a valid choice; allowed values: CANCELED'
    }


def test_cancel_role(organization, disbursement):
    p = payment(disbursement)
    business = client_for(role_user(organization, Role.BUSINESS))
    response = business.patch(
        f"/payments/{p.pk}/status", {"status": "CANCELED"}, format="json"
    )
    assert response.status_code == 403


def test_retry_keeps_old_hash_and_hands_off(api, disbursement, registered, owner):
    p = payment(
        disbursement,
        status="FAILED",
        receiver_wallet=registered,
        stellar_transaction_id="deadbeef",
    )
    response = api.patch("/payments/retry", {"payment_ids": [str(p.pk)]}, format="json")
    assert response.json() == {"message": "Payments retried successfully"}
    p.refresh_from_db()
    assert p.status == "PENDING"  # registered wallet: straight back to the TSS
    assert p.stellar_transaction_id == ""
    retry = p.status_changes.get(to_status="READY")
    assert "deadbeef" in retry.note
    assert owner.email in retry.note
    assert retry.actor_id == owner.pk
    assert SubmitterTransaction.objects.filter(external_id=str(p.pk)).exists()


def test_retry_refuses_non_failed_and_moves_nothing(api, disbursement):
    failed = payment(disbursement, status="FAILED")
    ready = payment(disbursement)
    response = api.patch(
        "/payments/retry",
        {"payment_ids": [str(failed.pk), str(ready.pk)]},
        format="json",
    )
    assert response.status_code == 400
    failed.refresh_from_db()
    assert failed.status == "FAILED"


@pytest.mark.parametrize(
    "body",
    [{}, {"payment_ids": "x"}, {"payment_ids": ["not-a-uuid"]}, {"payment_ids": []}],
)
def test_retry_bad_bodies(api, body):
    assert api.patch("/payments/retry", body, format="json").status_code == 400


def test_direct_payment_to_registered_wallet(api, organization, registered, usdc):
    response = api.post(
        "/payments",
        {
            "amount": "5.5",
            "asset": {"id": str(usdc.pk)},
            "receiver": {"id": str(registered.receiver_id)},
            "wallet": {"id": str(registered.wallet_id)},
            "external_payment_id": "inv-1",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == "DIRECT"
    assert "disbursement" not in body
    assert body["amount"] == "5.5000000"
    assert body["status"] == "PENDING"
    assert body["external_payment_id"] == "inv-1"
    assert SubmitterTransaction.objects.get(external_id=body["id"]).amount == Decimal(
        "5.5"
    )


@pytest.mark.parametrize("receiver_key", ["email", "phone_number", "wallet_address"])
def test_direct_payment_receiver_forms(api, registered, usdc, receiver_key):
    receiver = registered.receiver
    receiver.email = "ann@example.org"
    receiver.save()
    value = {
        "email": "ann@example.org",
        "phone_number": receiver.phone_number,
        "wallet_address": G1,
    }[receiver_key]
    response = api.post(
        "/payments",
        {
            "amount": "1",
            "asset": {"type": "classic", "code": "USDC", "issuer": usdc.issuer},
            "receiver": {receiver_key: value},
            "wallet": {"address": G1} if receiver_key == "wallet_address" else None,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_direct_payment_insufficient_balance(api, registered, usdc, ledger):
    ledger.balances[("USDC", usdc.issuer)] = Decimal("1")
    response = api.post(
        "/payments",
        {
            "amount": "2",
            "asset": {"id": str(usdc.pk)},
            "receiver": {"id": str(registered.receiver_id)},
        },
        format="json",
    )
    assert response.status_code == 409
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "extras"),
    [
        ({"amount": "0"}, 400, {"amount": "invalid amount: must be greater than zero"}),
        (
            {"amount": "-1"},
            400,
            {"amount": "invalid amount: must be greater than zero"},
        ),
        ({"amount": "1e3"}, 400, {"amount": "invalid amount: not a valid number"}),
        (
            {"amount": "1.00000001"},
            400,
            {
                "amount": "invalid amount: exceeds the maximum supported precision "
                "of 7 decimal places"
            },
        ),
        ({"amount": "abc"}, 400, {"amount": "invalid amount: not a valid number"}),
        (
            {"asset": {"type": "contract", "contract_id": "C"}},
            400,
            {"asset.type": "contract assets are not supported"},
        ),
        (
            {"asset": {"type": "fiat", "code": "USD"}},
            400,
            {"asset.type": "fiat assets are not supported"},
        ),
        ({"asset": {}}, 400, {"asset": "asset id or type is required"}),
        (
            {"receiver": {}},
            400,
            {"receiver": "exactly one of id, email, phone_number or wallet_address"},
        ),
        (
            {"receiver": {"email": "a@b.org", "phone_number": "+14155550101"}},
            400,
            {"receiver": "exactly one of id, email, phone_number or wallet_address"},
        ),
        ({"receiver": {"email": "nobody@example.org"}}, 404, None),
        ({"asset": {"id": "00000000-0000-0000-0000-000000000000"}}, 404, None),
        (
            {"external_payment_id": "x" * 65},
            400,
            {
                "external_payment_id": "Ensure this field has no more than 64 "
                "characters."
            },
        ),
    ],
)
def test_direct_payment_hostile_bodies(api, registered, usdc, body, status, extras):
    full = {
        "amount": "1",
        "asset": {"id": str(usdc.pk)},
        "receiver": {"id": str(registered.receiver_id)},
    }
    full.update(body)
    response = api.post("/payments", full, format="json")
    assert response.status_code == status, response.json()
    if extras is not None:
        assert response.json()["extras"] == extras
    assert not Payment.objects.exists()


def test_direct_payment_wallet_must_support_asset(api, organization, registered, usdc):
    from tests.factories import AssetFactory

    eurc = AssetFactory(organization=organization, code="EURC")
    response = api.post(
        "/payments",
        {
            "amount": "1",
            "asset": {"id": str(eurc.pk)},
            "receiver": {"id": str(registered.receiver_id)},
            "wallet": {"id": str(registered.wallet_id)},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "not supported" in response.json()["error"]
    assert not Payment.objects.exists()


def test_auto_cancel_job(organization, disbursement):
    organization.payment_cancellation_period_days = 3
    organization.save()
    old = payment(disbursement)
    fresh = payment(disbursement)
    pending = payment(disbursement, status="PENDING")
    with time_machine.travel(timezone.now() - timedelta(days=4)):
        PaymentStatusChange.objects.create(payment=old, to_status="READY")
        PaymentStatusChange.objects.create(payment=pending, to_status="READY")
    PaymentStatusChange.objects.create(payment=fresh, to_status="READY")
    assert cancel_expired_ready_payments() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    pending.refresh_from_db()
    assert (old.status, fresh.status, pending.status) == (
        "CANCELED",
        "READY",
        "PENDING",
    )
    assert "3 days" in old.status_changes.last().note


def test_auto_cancel_off_when_period_unset(organization, disbursement):
    old = payment(disbursement)
    with time_machine.travel(timezone.now() - timedelta(days=400)):
        PaymentStatusChange.objects.create(payment=old, to_status="READY")
    assert cancel_expired_ready_payments() == 0


def test_auto_cancel_is_scheduled():
    from django.conf import settings

    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "disbursements.tasks.cancel_expired_ready_payments_task"
    ]  # fmt: skip
    assert len(entries) == 1
    assert entries[0]["schedule"] == 300


@pytest.mark.parametrize("path", ["/payments", "/receivers", "/disbursements"])
def test_pages_read_by_keys_match_one_plain_page(api, disbursement, path):
    """Every page is read in two steps (the page's keys, then their JSON): page
    after page, the same rows in the same order as one page holding them all."""
    organization = disbursement.organization
    for n in range(7):
        PaymentFactory(
            disbursement=DisbursementFactory(
                organization=organization, asset=disbursement.asset, name=f"d{n}"
            ),
            asset=disbursement.asset,
        )
    paged = [api.get(f"{path}?page={page}&page_limit=2").json() for page in range(1, 6)]
    whole = api.get(f"{path}?page=1&page_limit=100").json()["data"]
    assert [row for body in paged for row in body["data"]] == whole[:10]
    assert [len(body["data"]) for body in paged][:3] == [2, 2, 2]


def test_lists_read_a_fixed_number_of_queries(api, disbursement):
    """No query per row: the lists select only some columns of the payments'
    relations, and reading one that was left out would cost a query per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx.captured_queries)

    first = PaymentFactory(disbursement=disbursement)
    paths = [
        "/payments",
        f"/payments/?receiver_id={first.receiver_id}",
        f"/disbursements/{disbursement.pk}/receivers",
        "/receivers",
        "/disbursements",
    ]
    few = [queries(path) for path in paths]
    for _ in range(4):
        PaymentFactory(disbursement=disbursement, receiver_wallet=first.receiver_wallet)
        PaymentFactory(disbursement=disbursement)
    many = [queries(path) for path in paths]
    assert many == few
    body = api.get(f"/payments/?receiver_id={first.receiver_id}").json()
    assert len(body["data"]) == 5


def test_payment_json_has_no_top_level_stellar_address(api, disbursement, registered):
    """The dashboard 6.5 shows a top-level ``stellar_address`` as the payment's
    "Sender": SDP's payment has none; the receiver's address is in
    receiver_wallet, the distribution account used in sender_address."""
    p = payment(disbursement, receiver_wallet=registered)
    p.sender_address = "GSENDER"
    p.save(update_fields=["sender_address"])
    for body in (
        api.get(f"/payments/{p.pk}").json(),
        api.get("/payments/?page=1&page_limit=20").json()["data"][0],
    ):
        assert "stellar_address" not in body
        assert body["receiver_wallet"]["stellar_address"] == G1
        assert body["sender_address"] == "GSENDER"


def test_search_by_part_of_an_id(api, disbursement, organization):
    """The dashboard's search box sends what was typed as ``q``; SDP matches
    part of a payment's id. Here the start of it, read from the key's index."""
    p = payment(disbursement)
    payment(DisbursementFactory(), status="FAILED")  # another tenant's
    text = str(p.pk)
    for q in (text[:8], text[:8].upper(), text[:13], text[:23], text):
        found = api.get("/payments/", {"page": 1, "page_limit": 20, "q": q}).json()
        assert str(p.pk) in [item["id"] for item in found["data"]], q
        assert found["pagination"]["total"] >= 1
    assert api.get("/payments/", {"q": text[:23]}).json()["pagination"]["total"] == 1
    for q in ("zz", text[:9] + "-", "-" + text[:4], "%", "0" * 40):
        response = api.get("/payments/", {"q": q})
        assert response.status_code == 200, q
        assert str(p.pk) not in [item["id"] for item in response.json()["data"]]


def test_direct_payment_to_a_contract_address(api, registered, usdc):
    """A wallet holding a contract (C...) address is paid like any other: the
    TSS gets the C... destination, with no memo."""
    from stellar_sdk import StrKey

    from receivers.models import ReceiverWallet

    contract = StrKey.encode_contract(bytes(range(32)))
    ReceiverWallet.objects.filter(pk=registered.pk).update(stellar_address=contract)
    response = api.post(
        "/payments",
        {
            "amount": "5.5",
            "asset": {"id": str(usdc.pk)},
            "receiver": {"id": str(registered.receiver_id)},
            "wallet": {"id": str(registered.wallet_id)},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    row = SubmitterTransaction.objects.get(external_id=response.json()["id"])
    assert (row.destination, row.memo) == (contract, "")


def test_direct_payment_to_a_muxed_address(api, registered, usdc):
    """A wallet holding a muxed (M...) address is paid to it whole: the TSS
    gets the 69-character M... destination."""
    from stellar_sdk import Keypair, MuxedAccount

    from receivers.models import ReceiverWallet

    muxed = MuxedAccount(Keypair.random().public_key, 77).account_muxed
    ReceiverWallet.objects.filter(pk=registered.pk).update(stellar_address=muxed)
    response = api.post(
        "/payments",
        {
            "amount": "5.5",
            "asset": {"id": str(usdc.pk)},
            "receiver": {"id": str(registered.receiver_id)},
            "wallet": {"id": str(registered.wallet_id)},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    row = SubmitterTransaction.objects.get(external_id=response.json()["id"])
    assert row.destination == muxed
