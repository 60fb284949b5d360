# ruff: noqa: F811, E501 - fixtures imported as parameters; tables of hostile inputs
"""Receivers routes as the dashboard calls them (dashboard-api.md §2.6, flow 8)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from stellar_sdk import Keypair, MuxedAccount, StrKey

from auth_org.models import Role
from messaging.models import Message
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
)
from receivers.verification_hash import (
    hash_verification_value,
    verification_value_matches,
)
from tests.api2_fixtures import (  # noqa: F401 - fixtures
    api,
    client_for,
    ledger,
    owner,
    role_user,
    usdc,
    user_managed_wallet,
    wallet,
)
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
    WalletFactory,
)

pytestmark = pytest.mark.django_db

G1 = Keypair.from_raw_ed25519_seed(bytes([1]) * 32).public_key
G2 = Keypair.from_raw_ed25519_seed(bytes([2]) * 32).public_key


def _pay(organization, payments) -> None:
    """A payment per (receiver wallet, asset, status, amount), each in its own
    disbursement of that wallet and asset."""
    for receiver_wallet, asset, status, amount in payments:
        PaymentFactory(
            disbursement=DisbursementFactory(
                organization=organization, wallet=receiver_wallet.wallet, asset=asset
            ),
            receiver_wallet=receiver_wallet,
            status=status,
            amount=Decimal(amount),
        )


@pytest.fixture
def receiver(organization, wallet, usdc):
    receiver = ReceiverFactory(
        organization=organization,
        phone_number="+14155550101",
        email="ann@example.org",
        external_id="ext-1",
    )
    receiver_wallet = ReceiverWalletFactory(
        receiver=receiver, wallet=wallet, status="REGISTERED", stellar_address=G1
    )
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )
    for status, amount in [("SUCCESS", "10"), ("SUCCESS", "5"), ("FAILED", "1"),
                           ("CANCELED", "2"), ("READY", "3")]:  # fmt: skip
        PaymentFactory(
            disbursement=disbursement,
            receiver_wallet=receiver_wallet,
            status=status,
            amount=Decimal(amount),
        )
    ReceiverVerification.objects.create(
        receiver=receiver,
        verification_field="DATE_OF_BIRTH",
        hashed_value=hash_verification_value("1990-01-30"),
    )
    return receiver


def test_list_and_details_carry_stats_wallets_and_verifications(
    api, receiver, wallet, usdc
):
    response = api.get(
        "/receivers/?page=1&page_limit=20&sort=created_at&direction=desc"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"pages": 1, "total": 1}
    item = body["data"][0]
    assert item == api.get(f"/receivers/{receiver.pk}").json()
    assert item["id"] == str(receiver.pk)
    assert item["phone_number"] == "+14155550101"
    assert item["email"] == "ann@example.org"
    assert item["external_id"] == "ext-1"
    assert (
        item["total_payments"],
        item["successful_payments"],
        item["failed_payments"],
        item["canceled_payments"],
        item["remaining_payments"],
        item["registered_wallets"],
    ) == ("5", "2", "1", "1", "1", "1")
    assert item["received_amounts"] == [
        {
            "asset_code": "USDC",
            "asset_issuer": usdc.issuer,
            "received_amount": "15.0000000",
        }
    ]
    (rw,) = item["wallets"]
    assert rw["receiver"] == {"id": str(receiver.pk)}
    assert rw["wallet"]["id"] == str(wallet.pk)
    assert rw["wallet"]["homepage"] == wallet.homepage
    assert rw["status"] == "REGISTERED"
    assert rw["stellar_address"] == G1
    assert (rw["total_payments"], rw["payments_received"], rw["failed_payments"],
            rw["remaining_payments"]) == ("5", "2", "1", "1")  # fmt: skip
    assert rw["received_amounts"] == [
        {"asset_code": "USDC", "received_amount": "15.0000000",
         "asset_issuer": usdc.issuer}
    ]  # fmt: skip
    assert {"invited_at", "last_sms_sent", "created_at", "updated_at"} <= rw.keys()
    (verification,) = item["verifications"]
    assert verification["verification_field"] == "DATE_OF_BIRTH"
    assert verification["confirmed_at"] is None
    assert "1990" not in verification["hashed_value"]


def test_rendering_sorts_amounts_as_python_and_keeps_every_key(
    api, organization, wallet, usdc
):
    """PostgreSQL writes the JSON (core.sqljson): received amounts sorted by code
    then issuer as Python compares strings (upper case before lower case), key
    order, strings for counters, nulls and empty strings where they were."""
    issuers = sorted(Keypair.random().public_key for _ in range(2))
    eurc_b = AssetFactory(organization=organization, code="EURC", issuer=issuers[1])
    eurc_a = AssetFactory(organization=organization, code="EURC", issuer=issuers[0])
    lower = AssetFactory(organization=organization, code="eurc", issuer=issuers[0])
    other_wallet = WalletFactory(organization=organization, deleted_at=timezone.now())
    receiver = ReceiverFactory(organization=organization, email=None)
    first = ReceiverWalletFactory(receiver=receiver, wallet=wallet, status="READY")
    second = ReceiverWalletFactory(
        receiver=receiver, wallet=other_wallet, status="REGISTERED",
        stellar_memo="7", stellar_memo_type="id",
    )  # fmt: skip
    _pay(organization, [
        (first, lower, "SUCCESS", "1.5"), (first, usdc, "SUCCESS", "0.0000001"),
        (second, eurc_b, "SUCCESS", "2"), (second, eurc_a, "SUCCESS", "3"),
        (second, eurc_a, "SUCCESS", "4.25"), (second, usdc, "FAILED", "9"),
        (second, usdc, "PENDING", "9"), (first, usdc, "CANCELED", "9"),
    ])  # fmt: skip
    ReceiverVerification.objects.create(
        receiver=receiver, verification_field="PIN", hashed_value="h",
        confirmed_at=timezone.now(), verification_channel="SMS",
    )  # fmt: skip
    ReceiverVerification.objects.create(
        receiver=receiver, verification_field="DATE_OF_BIRTH", hashed_value="h"
    )
    body = api.get(f"/receivers/{receiver.pk}").json()
    assert body == api.get("/receivers/").json()["data"][0]
    assert list(body) == [
        "id", "email", "phone_number", "external_id", "created_at", "updated_at",
        "total_payments", "successful_payments", "failed_payments",
        "canceled_payments", "remaining_payments", "registered_wallets",
        "received_amounts", "wallets", "verifications",
    ]  # fmt: skip
    assert body["email"] == ""
    assert [body[k] for k in list(body)[6:12]] == ["8", "5", "1", "1", "1", "1"]
    assert body["received_amounts"] == [
        {"asset_code": "EURC", "received_amount": "7.2500000", "asset_issuer": issuers[0]},
        {"asset_code": "EURC", "received_amount": "2.0000000", "asset_issuer": issuers[1]},
        {"asset_code": "USDC", "received_amount": "0.0000001", "asset_issuer": usdc.issuer},
        {"asset_code": "eurc", "received_amount": "1.5000000", "asset_issuer": issuers[0]},
    ]  # fmt: skip
    assert [w["id"] for w in body["wallets"]] == [str(first.pk), str(second.pk)]
    one, two = body["wallets"]
    assert list(one) == [
        "id", "receiver", "wallet", "status", "stellar_address", "stellar_memo",
        "stellar_memo_type", "created_at", "updated_at", "invited_at",
        "last_message_sent_at", "last_sms_sent", "invitation_sent_at",
        "otp_confirmed_at", "otp_confirmed_with", "sep24_transaction_id",
        "total_payments", "payments_received", "failed_payments",
        "canceled_payments", "remaining_payments", "received_amounts",
    ]  # fmt: skip
    assert (one["stellar_address"], one["invited_at"]) == ("", None)
    assert [one[k] for k in list(one)[16:21]] == ["3", "2", "0", "1", "0"]
    assert one["received_amounts"] == [
        {
            "asset_code": "USDC",
            "received_amount": "0.0000001",
            "asset_issuer": usdc.issuer,
        },
        {
            "asset_code": "eurc",
            "received_amount": "1.5000000",
            "asset_issuer": issuers[0],
        },
    ]
    assert (two["stellar_memo"], two["stellar_memo_type"]) == ("7", "id")
    assert [two[k] for k in list(two)[16:21]] == ["5", "3", "1", "0", "1"]
    assert [a["asset_code"] for a in two["received_amounts"]] == ["EURC", "EURC"]
    assert two["wallet"]["deleted_at"].endswith("Z")
    assert list(two["wallet"]) == [
        "id", "name", "homepage", "deep_link_schema", "sep_10_client_domain",
        "enabled", "user_managed", "embedded", "created_at", "updated_at",
        "deleted_at",
    ]  # fmt: skip
    dob, pin = body["verifications"]
    assert (dob["verification_field"], dob["verification_channel"]) == (
        "DATE_OF_BIRTH", None,
    )  # fmt: skip
    assert (pin["verification_channel"], pin["confirmed_at"][-1]) == ("SMS", "Z")


def test_wallet_carries_sdp_messages_otp_and_sep24_fields(api, receiver, organization):
    """SDP 6.5's receiver wallet: invited_at and last_message_sent_at are the
    first and last invitation delivered (its messages with status SUCCESS),
    last_sms_sent the latter under its older name; otp_confirmed_at/with and
    sep24_transaction_id from the registration; canceled_payments counted."""
    receiver_wallet = receiver.wallets.get()
    now = timezone.now()
    times = {}
    for minutes, status, kind in [
        (50, "FAILURE", "RECEIVER_INVITATION"),
        (40, "SUCCESS", "RECEIVER_INVITATION"),
        (20, "SUCCESS", "RECEIVER_INVITATION"),
        (10, "SUCCESS", "RECEIVER_OTP"),
        (5, "PENDING", "RECEIVER_INVITATION"),
    ]:
        message = Message.objects.create(
            tenant_id=organization.pk, kind=kind, channel="SMS",
            recipient="+14155550101", body="hi", status=status,
            receiver_id=receiver.pk, receiver_wallet_id=receiver_wallet.pk,
        )  # fmt: skip
        Message.objects.filter(pk=message.pk).update(
            created_at=now - timezone.timedelta(minutes=minutes)
        )
        times[minutes] = now - timezone.timedelta(minutes=minutes)
    receiver_wallet.otp_confirmed_at = now
    receiver_wallet.otp_confirmed_with = "+14155550101"
    receiver_wallet.sep24_transaction_id = "0190c3f2-sep24"
    receiver_wallet.save()

    def iso(value):
        return (
            value.astimezone(UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )

    detail = api.get(f"/receivers/{receiver.pk}").json()
    assert detail == api.get("/receivers/?page=1&page_limit=20").json()["data"][0]
    (rw,) = detail["wallets"]
    assert rw["invited_at"] == iso(times[40])
    assert rw["last_message_sent_at"] == iso(times[20])
    assert rw["last_sms_sent"] == rw["last_message_sent_at"]
    assert rw["otp_confirmed_at"] == iso(now)
    assert rw["otp_confirmed_with"] == "+14155550101"
    assert rw["sep24_transaction_id"] == "0190c3f2-sep24"
    assert rw["canceled_payments"] == "1"
    assert rw["invitation_sent_at"] is None


def test_figures_per_wallet_and_receiver_in_several_wallets_and_assets(
    api, organization, wallet, user_managed_wallet, usdc
):
    """A receiver's payments are read once: a wallet holding all of them shows
    the receiver's figures, a wallet holding none zeros, and wallets sharing
    them their own; the same figures as the CSV export's (receiver_stats), and
    the wallet address answer shows its wallet as the list does."""
    from disbursements.selectors import counters_of, receiver_stats

    eurc = AssetFactory(organization=organization, code="EURC")
    split = ReceiverFactory(organization=organization)
    managed = ReceiverWalletFactory(
        receiver=split, wallet=user_managed_wallet, status="READY"
    )
    other = ReceiverWalletFactory(receiver=split, wallet=wallet, status="REGISTERED")
    idle = ReceiverFactory(organization=organization)
    empty = ReceiverWalletFactory(receiver=idle, wallet=user_managed_wallet)
    holder = ReceiverWalletFactory(receiver=idle, wallet=wallet)
    mixed = ReceiverFactory(organization=organization)
    only = ReceiverWalletFactory(receiver=mixed, wallet=wallet)
    shared = ReceiverFactory(organization=organization)
    first = ReceiverWalletFactory(receiver=shared, wallet=user_managed_wallet)
    second = ReceiverWalletFactory(receiver=shared, wallet=wallet)
    odd = ReceiverFactory(organization=organization)  # failed in another asset
    single = ReceiverWalletFactory(receiver=odd, wallet=wallet)
    _pay(organization, [
        (managed, usdc, "SUCCESS", "1"), (managed, eurc, "SUCCESS", "2"),
        (managed, usdc, "FAILED", "3"), (other, usdc, "SUCCESS", "4"),
        (other, usdc, "PENDING", "5"), (other, eurc, "CANCELED", "6"),
        (holder, usdc, "SUCCESS", "7"), (holder, usdc, "READY", "8"),
        (only, eurc, "SUCCESS", "9"), (only, usdc, "SUCCESS", "10"),
        (only, usdc, "SUCCESS", "0.5"), (only, usdc, "FAILED", "11"),
        (first, usdc, "SUCCESS", "1.25"), (second, usdc, "SUCCESS", "2"),
        (second, usdc, "CANCELED", "1"), (single, eurc, "FAILED", "1"),
        (single, usdc, "SUCCESS", "2"), (single, usdc, "SUCCESS", "3"),
    ])  # fmt: skip
    url = f"/receivers/{split.pk}/wallets/{managed.pk}"
    answer = api.patch(url, {"stellar_address": G2}, format="json").json()
    listed = {item["id"]: item for item in api.get("/receivers/").json()["data"]}
    body = {str(r.pk): listed[str(r.pk)] for r in (split, idle, mixed, shared, odd)}
    for receiver in (split, idle, mixed, shared, odd):
        assert body[str(receiver.pk)] == api.get(f"/receivers/{receiver.pk}").json()
    assert body[str(split.pk)]["wallets"][0] == answer

    def figures(item, keys):
        return [item[k] for k in keys], [
            (a["asset_code"], a["received_amount"]) for a in item["received_amounts"]
        ]

    counts = ["total_payments", "successful_payments", "failed_payments",
              "canceled_payments", "remaining_payments"]  # fmt: skip
    wallet_counts = ["total_payments", "payments_received", "failed_payments",
                     "remaining_payments"]  # fmt: skip
    seen = {
        str(r.pk): (
            figures(body[str(r.pk)], counts),
            {w["id"]: figures(w, wallet_counts) for w in body[str(r.pk)]["wallets"]},
        )
        for r in (split, idle, mixed, shared, odd)
    }
    usd, eur = "USDC", "EURC"
    assert seen == {
        str(split.pk): (
            (["6", "3", "1", "1", "1"], [(eur, "2.0000000"), (usd, "5.0000000")]),
            {
                str(managed.pk): (["3", "2", "1", "0"], [(eur, "2.0000000"), (usd, "1.0000000")]),
                str(other.pk): (["3", "1", "0", "1"], [(usd, "4.0000000")]),
            },
        ),
        str(idle.pk): (
            (["2", "1", "0", "0", "1"], [(usd, "7.0000000")]),
            {
                str(empty.pk): (["0", "0", "0", "0"], []),
                str(holder.pk): (["2", "1", "0", "1"], [(usd, "7.0000000")]),
            },
        ),
        str(mixed.pk): (
            (["4", "3", "1", "0", "0"], [(eur, "9.0000000"), (usd, "10.5000000")]),
            {str(only.pk): (["4", "3", "1", "0"], [(eur, "9.0000000"), (usd, "10.5000000")])},
        ),
        str(shared.pk): (
            (["3", "2", "0", "1", "0"], [(usd, "3.2500000")]),
            {
                str(first.pk): (["1", "1", "0", "0"], [(usd, "1.2500000")]),
                str(second.pk): (["2", "1", "0", "0"], [(usd, "2.0000000")]),
            },
        ),
        str(odd.pk): (
            (["3", "2", "1", "0", "0"], [(usd, "5.0000000")]),
            {str(single.pk): (["3", "2", "1", "0"], [(usd, "5.0000000")])},
        ),
    }  # fmt: skip
    assert [w["id"] for w in body[str(idle.pk)]["wallets"]] == [
        str(empty.pk), str(holder.pk),
    ]  # fmt: skip
    assert body[str(idle.pk)]["received_amounts"][0]["asset_issuer"] == usdc.issuer
    stats = receiver_stats([split.pk, idle.pk, mixed.pk, shared.pk, odd.pk])
    for receiver in (split, idle, mixed, shared, odd):
        item = body[str(receiver.pk)]
        assert counters_of(stats["receivers"][receiver.pk]) == {
            k: item[k] for k in counts
        }
        received = stats["receivers"][receiver.pk]["received"]
        assert sorted(
            (code, f"{amount:.7f}") for (code, _), amount in received.items()
        ) == [(a["asset_code"], a["received_amount"]) for a in item["received_amounts"]]
        for w in item["wallets"]:
            entry = stats["wallets"][uuid.UUID(w["id"])]
            expected = counters_of(entry)
            expected["payments_received"] = expected.pop("successful_payments")
            del expected["canceled_payments"]
            assert expected == {k: w[k] for k in wallet_counts}


def test_receiver_without_payments_or_wallets(api, organization):
    receiver = ReceiverFactory(organization=organization, email="z@example.org")
    body = api.get(f"/receivers/{receiver.pk}").json()
    assert [body[k] for k in list(body)[6:12]] == ["0"] * 6
    assert body["received_amounts"] == body["wallets"] == body["verifications"] == []


def test_write_answers_are_replayed_with_an_idempotency_key(
    owner, organization, user_managed_wallet
):
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-receiver")
    body = {"email": "eve@example.org", "external_id": "eve",
            "verifications": [{"type": "PIN", "value": "1234"}]}  # fmt: skip
    first = api.post("/receivers", body, format="json")
    second = api.post("/receivers", body, format="json")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["external_id"] == "eve"
    receiver = Receiver.objects.get()
    rw = ReceiverWalletFactory(
        receiver=receiver, wallet=user_managed_wallet, status="READY"
    )
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-address")
    url = f"/receivers/{receiver.pk}/wallets/{rw.pk}"
    first = api.patch(url, {"stellar_address": G2}, format="json")
    second = api.patch(url, {"stellar_address": G2}, format="json")
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert first.json()["stellar_address"] == G2


def test_list_search_status_and_isolation(api, receiver, organization):
    ReceiverFactory(organization=organization, phone_number="+14155550102")
    ReceiverFactory(phone_number="+14155550101")  # same phone, other tenant
    assert api.get("/receivers?q=ann@").json()["pagination"]["total"] == 1
    assert api.get("/receivers?q=0102").json()["pagination"]["total"] == 1
    assert api.get("/receivers?q=ext-1").json()["pagination"]["total"] == 1
    assert api.get("/receivers/?status=REGISTERED").json()["pagination"]["total"] == 1
    assert api.get("/receivers/?status=DRAFT").json()["pagination"]["total"] == 0
    assert api.get("/receivers/").json()["pagination"]["total"] == 2
    other = ReceiverFactory()
    assert api.get(f"/receivers/{other.pk}").status_code == 404
    # Part of an id, as SDP (r.id ILIKE): its start, from the key's index.
    text = str(receiver.pk)
    for q in (text[:8], text[:23].upper(), text):
        found = api.get("/receivers/", {"q": q}).json()["data"]
        assert str(receiver.pk) in [item["id"] for item in found], q
    assert api.get("/receivers/", {"q": text[:23]}).json()["pagination"]["total"] == 1


def test_create_with_verifications(api, organization):
    response = api.post(
        "/receivers",
        {
            "email": "Bob@Example.org",
            "phone_number": "+14155550155",
            "external_id": "bob",
            "verifications": [{"type": "PIN", "value": "1234"}],
            "wallets": [],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "bob@example.org"
    assert body["verifications"][0]["verification_field"] == "PIN"
    stored = ReceiverVerification.objects.get(receiver_id=body["id"])
    assert verification_value_matches(stored.hashed_value, "1234")


def test_create_with_wallet_registers_user_managed_wallet(
    api, organization, user_managed_wallet
):
    response = api.post(
        "/receivers",
        {
            "email": "carl@example.org",
            "external_id": "carl",
            "verifications": [],
            "wallets": [{"address": G2, "memo": "42"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    (rw,) = response.json()["wallets"]
    assert rw["status"] == "REGISTERED"
    assert rw["stellar_address"] == G2
    assert rw["stellar_memo_type"] == "id"
    # The address now belongs to carl: another receiver cannot take it.
    response = api.post(
        "/receivers",
        {
            "email": "dan@example.org",
            "external_id": "dan",
            "wallets": [{"address": G2}],
        },
        format="json",
    )
    assert response.status_code == 409
    assert not Receiver.objects.filter(email="dan@example.org").exists()


@pytest.mark.parametrize(
    ("body", "extras"),
    [
        ({"external_id": "x", "verifications": [{"type": "PIN", "value": "1234"}]},
         {"email": "email or phone_number is required"}),
        ({"phone_number": "+1", "external_id": "x", "verifications": [{"type": "PIN", "value": "1234"}]},
         {"phone_number": "invalid phone format. Correct format: +380445555555"}),
        ({"email": "nope", "external_id": "x", "verifications": [{"type": "PIN", "value": "1234"}]},
         {"email": "invalid email format"}),
        ({"email": "a@b.org", "external_id": "", "verifications": [{"type": "PIN", "value": "1234"}]},
         {"external_id": "This field may not be blank."}),
        ({"email": "a@b.org", "external_id": "x" * 65, "verifications": [{"type": "PIN", "value": "1234"}]},
         {"external_id": "Ensure this field has no more than 64 characters."}),
        ({"email": "a@b.org", "external_id": "x", "verifications": [{"type": "EYE_COLOR", "value": "b"}]},
         {"verifications[0]": "invalid verification type"}),
        ({"email": "a@b.org", "external_id": "x", "verifications": [{"type": "DATE_OF_BIRTH", "value": "2999-01-01"}]},
         {"verifications[0]": "date of birth cannot be in the future"}),
        ({"email": "a@b.org", "external_id": "x", "verifications": [{"type": "PIN", "value": "12"}]},
         {"verifications[0]": "invalid pin length. Cannot have less than 4 or more than 8 characters in pin"}),
        ({"email": "a@b.org", "external_id": "x"},
         {"verifications": "at least one verification or wallet is required"}),
        ({"email": "a@b.org", "external_id": "x", "wallets": [{"address": "M" + "A" * 68}]},
         {"wallets[0]": "invalid wallet address. Must be a valid Stellar public key or contract address"}),
        ({"email": "<script>alert(1)</script>@x.org", "external_id": "x", "verifications": [{"type": "PIN", "value": "1234"}]},
         {"email": "invalid email format"}),
    ],
)  # fmt: skip
def test_create_hostile_bodies(api, organization, body, extras):
    response = api.post("/receivers", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["extras"] == extras
    assert not Receiver.objects.exists()


def test_create_duplicate_contact_is_409(api, receiver):
    response = api.post(
        "/receivers",
        {"email": "ANN@example.org", "external_id": "x",
         "verifications": [{"type": "PIN", "value": "1234"}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 409
    assert Receiver.objects.count() == 1


def test_patch_as_text_plain_upserts_confirmed_verification(api, receiver, owner):
    ReceiverVerification.objects.filter(receiver=receiver).update(
        confirmed_at=timezone.now()
    )
    response = api.generic(
        "PATCH",
        f"/receivers/{receiver.pk}",
        json.dumps(
            {"date_of_birth": "1980-02-02", "pin": "9999", "external_id": "new"}
        ),
        content_type="text/plain;charset=UTF-8",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"message": "Receiver updated successfully"}
    receiver.refresh_from_db()
    assert receiver.external_id == "new"
    dob = ReceiverVerification.objects.get(
        receiver=receiver, verification_field="DATE_OF_BIRTH"
    )
    assert verification_value_matches(dob.hashed_value, "1980-02-02")
    assert dob.confirmed_by_type == "USER"
    assert dob.confirmed_by_id == str(owner.pk)
    assert ReceiverVerification.objects.filter(
        receiver=receiver, verification_field="PIN"
    ).exists()


@pytest.mark.parametrize(
    ("body", "status", "extras"),
    [
        ({"phone_number": "+1"}, 400, {"phone_number": "invalid phone format. Correct format: +380445555555"}),
        ({"email": "bad"}, 400, {"email": "invalid email format"}),
        ({"year_month": "2999-01"}, 400, {"year_month": "year/month cannot be in the future"}),
        ({"national_id": "x" * 51}, 400, {"national_id": "invalid national id. Cannot have more than 50 characters in national id"}),
        ({"is_admin": True}, 400, {"is_admin": "unknown field"}),
        ({"email": 5}, 400, {"email": "must be a string"}),
        ({"external_id": "x" * 300}, 400, {"external_id": "at most 254 characters"}),
        ({}, 400, {"body": "nothing to update"}),
        ({"email": None, "phone_number": None}, 400, {"email": "email or phone_number is required"}),
    ],
)  # fmt: skip
def test_patch_hostile_bodies(api, receiver, body, status, extras):
    response = api.patch(f"/receivers/{receiver.pk}", body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["extras"] == extras
    receiver.refresh_from_db()
    assert receiver.email == "ann@example.org"
    assert receiver.external_id == "ext-1"


def test_patch_contact_used_by_another_is_409(api, receiver, organization):
    ReceiverFactory(organization=organization, email="taken@example.org")
    response = api.patch(
        f"/receivers/{receiver.pk}", {"email": "taken@example.org"}, format="json"
    )
    assert response.status_code == 409


def test_patch_role_gate(organization, receiver):
    business = client_for(role_user(organization, Role.BUSINESS))
    response = business.patch(
        f"/receivers/{receiver.pk}", {"external_id": "z"}, format="json"
    )
    assert response.status_code == 403


def test_user_managed_wallet_address(api, organization, user_managed_wallet):
    receiver = ReceiverFactory(organization=organization)
    rw = ReceiverWalletFactory(
        receiver=receiver, wallet=user_managed_wallet, status="READY"
    )
    url = f"/receivers/{receiver.pk}/wallets/{rw.pk}"
    response = api.patch(
        url, {"stellar_address": G2, "stellar_memo": "hi"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["stellar_address"] == G2
    assert response.json()["status"] == "REGISTERED"
    assert ReceiverStellarAddress.objects.filter(
        stellar_address=G2, receiver=receiver
    ).exists()
    response = api.patch(url, {"stellar_address": "GXXX"}, format="json")
    assert response.status_code == 400
    rw.refresh_from_db()
    assert rw.stellar_address == G2


def test_wallet_address_only_for_user_managed(api, receiver):
    rw = receiver.wallets.get()
    response = api.patch(
        f"/receivers/{receiver.pk}/wallets/{rw.pk}",
        {"stellar_address": G2},
        format="json",
    )
    assert response.status_code == 400
    rw.refresh_from_db()
    assert rw.stellar_address == G1


def test_retry_invitation(api, organization, wallet):
    receiver = ReceiverFactory(organization=organization)
    rw = ReceiverWalletFactory(receiver=receiver, wallet=wallet, status="READY")
    response = api.patch(f"/receivers/wallets/{rw.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(rw.pk)
    assert body["receiver_id"] == str(receiver.pk)
    assert body["invitation_sent_at"] is not None
    assert Message.objects.filter(receiver_wallet_id=rw.pk).count() == 1


def test_retry_invitation_refused_for_registered(api, receiver):
    rw = receiver.wallets.get()
    assert api.patch(f"/receivers/wallets/{rw.pk}").status_code == 400
    assert not Message.objects.exists()


def test_unregister(api, organization, wallet):
    receiver = ReceiverFactory(organization=organization)
    rw = ReceiverWalletFactory(
        receiver=receiver, wallet=wallet, status="REGISTERED", stellar_address=G2,
        otp_attempts=2, sep24_transaction_id="tx",
    )  # fmt: skip
    ReceiverStellarAddress.objects.create(
        organization=organization, stellar_address=G2, receiver=receiver
    )
    response = api.patch(
        f"/receivers/wallets/{rw.pk}/status", {"status": "READY"}, format="json"
    )
    assert response.json() == {"message": "Receiver wallet unregistered successfully"}
    rw.refresh_from_db()
    assert (rw.status, rw.stellar_address, rw.otp_attempts, rw.sep24_transaction_id) == (
        "READY", None, 0, "",
    )  # fmt: skip
    assert not ReceiverStellarAddress.objects.exists()


def test_unregister_refused_while_payments_in_flight(api, receiver):
    rw = receiver.wallets.get()
    PaymentFactory(
        disbursement=DisbursementFactory(organization=receiver.organization),
        receiver_wallet=rw,
        status="PENDING",
    )
    response = api.patch(
        f"/receivers/wallets/{rw.pk}/status", {"status": "READY"}, format="json"
    )
    assert response.status_code == 400
    assert "in progress" in response.json()["error"]
    rw.refresh_from_db()
    assert rw.status == "REGISTERED"


@pytest.mark.parametrize("body", [{"status": "FLAGGED"}, {"status": "REGISTERED"}, {}])
def test_unregister_accepts_only_ready(api, receiver, body):
    rw = receiver.wallets.get()
    response = api.patch(f"/receivers/wallets/{rw.pk}/status", body, format="json")
    assert response.status_code == 400
    rw.refresh_from_db()
    assert rw.status == "REGISTERED"


def test_verification_and_contact_types(organization):
    developer = client_for(role_user(organization, Role.DEVELOPER))
    assert developer.get("/receivers/verification-types").json() == [
        "DATE_OF_BIRTH", "YEAR_MONTH", "PIN", "NATIONAL_ID_NUMBER",
    ]  # fmt: skip
    assert developer.get("/registration-contact-types").json() == [
        "EMAIL", "PHONE_NUMBER", "EMAIL_AND_WALLET_ADDRESS",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
    ]  # fmt: skip
    assert developer.get("/receivers").status_code == 403


def test_other_tenants_receiver_wallet_is_404(api):
    other = ReceiverWalletFactory(status="READY")
    assert api.patch(f"/receivers/wallets/{other.pk}").status_code == 404
    assert (
        api.patch(
            f"/receivers/wallets/{other.pk}/status", {"status": "READY"}, format="json"
        ).status_code
        == 404
    )
    assert not Message.objects.exists()


def test_list_totals_past_the_last_page_and_cached_above_the_limit(
    api, organization, monkeypatch
):
    from django.core.cache import cache

    from core import paging

    for n in range(3):
        ReceiverFactory(organization=organization, external_id=f"page-{n}")
    body = api.get("/receivers?page=2&page_limit=2").json()
    assert [r["external_id"] for r in body["data"]] == ["page-0"]
    assert body["pagination"]["total"] == 3
    assert body["pagination"]["pages"] == 2
    # Past the last page no row carries the count: it is counted alone.
    past = api.get("/receivers?page=9&page_limit=2").json()
    assert past["data"] == []
    assert past["pagination"]["total"] == 3
    assert api.get("/receivers?q=nobody").json() == {
        "data": [],
        "pagination": {"pages": 0, "total": 0},
    }
    # Above EXACT_UP_TO the total is kept for COUNT_TTL: a new receiver shows
    # in the page at once, in the total only later.
    monkeypatch.setattr(paging, "EXACT_UP_TO", 2)
    assert api.get("/receivers?page=1&page_limit=2").json()["pagination"]["total"] == 3
    ReceiverFactory(organization=organization, external_id="late")
    body = api.get("/receivers?page=1&page_limit=2").json()
    assert body["data"][0]["external_id"] == "late"
    assert body["pagination"]["total"] == 3
    cache.clear()
    paging.forget_totals()
    assert api.get("/receivers?page=1&page_limit=2").json()["pagination"]["total"] == 4


def test_a_stale_total_is_recounted_by_one_request_while_the_others_serve_it(
    api, organization, monkeypatch
):
    from django.core.cache import cache

    from core import paging

    monkeypatch.setattr(paging, "EXACT_UP_TO", 2)
    monkeypatch.setattr(paging, "COUNT_TTL", 0)  # every cached total is stale
    for n in range(3):
        ReceiverFactory(organization=organization, external_id=f"stale-{n}")

    def total():
        return api.get("/receivers?page=1&page_limit=2").json()["pagination"]["total"]

    assert total() == 3
    ReceiverFactory(organization=organization, external_id="stale-3")
    # Another request has claimed the recount: this one serves the stale total.
    listing = SimpleNamespace(path="/receivers", tenant=organization, query_params={})
    claim = paging.CachedCountPagination._count_key(listing) + ":recount"
    assert cache.add(claim, 1, 60)
    assert total() == 3
    # Once the claim is gone, the next request claims it and recounts; its
    # recount releases the claim for the next one.
    cache.delete(claim)
    assert total() == 4
    ReceiverFactory(organization=organization, external_id="stale-4")
    assert total() == 5
    # Filters are counted apart.
    assert api.get("/receivers?q=stale-4").json()["pagination"]["total"] == 1


class CacheSpy:
    """The cache, with the names of the calls made to it."""

    def __init__(self, cache):
        self.cache, self.calls = cache, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.cache, name)


def test_a_worker_keeps_the_totals_it_learnt_until_they_are_stale(
    api, organization, monkeypatch
):
    from django.core.cache import cache

    from core import paging

    monkeypatch.setattr(paging, "EXACT_UP_TO", 2)
    for n in range(3):
        ReceiverFactory(organization=organization, external_id=f"kept-{n}")

    def total(query="page=1&page_limit=2"):
        return api.get(f"/receivers?{query}").json()["pagination"]["total"]

    assert total() == 3  # counted, shared through the cache and kept here
    ReceiverFactory(organization=organization, external_id="kept-3")
    spy = CacheSpy(cache)
    monkeypatch.setattr(paging, "cache", spy)
    assert total() == 3
    assert spy.calls == []
    # Another worker (one that has not seen it) reads the shared total once.
    paging.forget_totals()
    assert total() == 3
    assert spy.calls == ["get"]
    assert total() == 3
    assert spy.calls == ["get"]
    # A small list is counted on every request, without asking the cache again.
    assert total("q=kept-1") == 1
    ReceiverFactory(organization=organization, external_id="kept-1b")
    assert total("q=kept-1") == 2
    assert spy.calls == ["get", "get"]


def test_a_worker_remembers_a_bounded_number_of_totals(monkeypatch):
    from core import paging

    monkeypatch.setattr(paging, "LOCAL_TOTALS", 3)
    paging.forget_totals()
    for n in range(5):
        paging._remember_locally(f"list-{n}", n, 10.0**10)
    paging._remember_locally("list-2", 22, 10.0**10)  # used again: kept longest
    paging._remember_locally("list-5", 5, 10.0**10)
    assert list(paging._local) == ["list-4", "list-2", "list-5"]
    assert paging._local["list-2"] == (22, 10.0**10)
    paging.forget_totals()


# A contract (C...) address: paid with the asset contract's transfer.
C1 = StrKey.encode_contract(bytes(range(32)))
C2 = StrKey.encode_contract(bytes(range(1, 33)))


def test_contract_address_taken_on_create_and_on_the_wallet_address_without_memo(
    api, organization, user_managed_wallet
):
    """The dashboard's create modal and the user-managed wallet's address take
    a C... address; a memo with one is refused naming the field, and nothing
    is written."""
    body = {
        "email": "carl@example.org",
        "phone_number": "",
        "external_id": "carl",
        "verifications": [],
        "wallets": [{"address": C1, "memo": "123"}],
    }
    response = api.post("/receivers", body, format="json")
    assert response.status_code == 400, response.json()
    assert "takes no memo" in str(response.json()["extras"])
    assert not Receiver.objects.exists()
    body["wallets"] = [{"address": C1, "memo": ""}]
    response = api.post("/receivers", body, format="json")
    assert response.status_code in (200, 201), response.json()
    receiver = ReceiverFactory(organization=organization)
    rw = ReceiverWalletFactory(
        receiver=receiver, wallet=user_managed_wallet, status="READY"
    )
    url = f"/receivers/{receiver.pk}/wallets/{rw.pk}"
    response = api.patch(
        url, {"stellar_address": C2, "stellar_memo": "1"}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert "takes no memo" in response.json()["extras"]["stellar_memo"]
    rw.refresh_from_db()
    assert (rw.status, rw.stellar_address) == ("READY", None)
    response = api.patch(url, {"stellar_address": C2}, format="json")
    assert response.status_code == 200, response.json()
    rw.refresh_from_db()
    assert rw.stellar_address == C2


def test_muxed_address_taken_on_create_and_on_the_wallet_address_without_memo(
    api, organization, user_managed_wallet
):
    """POST /receivers and the user-managed wallet's address take an M...
    address whole (69 characters); a memo with one is refused naming the
    field (the address carries its own id), and nothing is written."""
    m1 = MuxedAccount(G1, 1).account_muxed
    m2 = MuxedAccount(G1, 2**64 - 1).account_muxed
    body = {
        "email": "mia@example.org",
        "phone_number": "",
        "external_id": "mia",
        "verifications": [],
        "wallets": [{"address": m1, "memo": "123"}],
    }
    response = api.post("/receivers", body, format="json")
    assert response.status_code == 400, response.json()
    assert "carries its own id" in str(response.json()["extras"])
    assert not Receiver.objects.exists()
    body["wallets"] = [{"address": m1, "memo": ""}]
    response = api.post("/receivers", body, format="json")
    assert response.status_code in (200, 201), response.json()
    assert ReceiverStellarAddress.objects.filter(stellar_address=m1).exists()
    receiver = ReceiverFactory(organization=organization)
    rw = ReceiverWalletFactory(
        receiver=receiver, wallet=user_managed_wallet, status="READY"
    )
    url = f"/receivers/{receiver.pk}/wallets/{rw.pk}"
    response = api.patch(
        url, {"stellar_address": m2, "stellar_memo": "1"}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert "carries its own id" in response.json()["extras"]["stellar_memo"]
    rw.refresh_from_db()
    assert (rw.status, rw.stellar_address) == ("READY", None)
    response = api.patch(url, {"stellar_address": m2}, format="json")
    assert response.status_code == 200, response.json()
    rw.refresh_from_db()
    assert rw.stellar_address == m2


def test_sep10_refuses_a_contract_account(client, organization):
    """Registration goes through SEP-10, which only takes a G... account."""
    response = client.get(
        "/sep10/auth", {"account": C1}, headers={"SDP-Tenant-Name": organization.name}
    )
    assert response.status_code == 400
