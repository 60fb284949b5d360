"""Disbursement routes as the dashboard calls them (dashboard-api.md §2.4, flows
2-6)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from auth_org.models import Role
from disbursements.models import Disbursement, DisbursementStatusChange, Payment
from messaging.models import Message
from receivers.models import ReceiverVerification, ReceiverWallet
from tests.api2_fixtures import client_for, role_user
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
)
from tss.models import SubmitterTransaction

pytestmark = pytest.mark.django_db

PHONE_CSV = (
    "phone,id,amount,verification\n"
    "+14155550101,r-1,10.5,1990-01-30\n"
    "+14155550102,r-2,20,1985-12-01\n"
)


def csv_file(text: str, name: str = "payroll.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def draft_body(wallet, asset, **overrides):
    body = {
        "name": "May payroll",
        "wallet_id": str(wallet.pk),
        "asset_id": str(asset.pk),
        "registration_contact_type": "PHONE_NUMBER",
        "verification_field": "DATE_OF_BIRTH",
        "receiver_registration_message_template": "",
    }
    body.update(overrides)
    return body


def create_with_csv(api, wallet, asset, text=PHONE_CSV, **overrides):
    return api.post(
        "/disbursements",
        {
            "data": json.dumps(draft_body(wallet, asset, **overrides)),
            "file": csv_file(text),
        },
        format="multipart",
    )


def test_json_draft_returns_the_disbursement_the_form_reads(api, wallet, usdc, owner):
    response = api.post("/disbursements", draft_body(wallet, usdc), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "DRAFT"
    assert body["wallet"]["id"] == str(wallet.pk)
    assert body["wallet"]["name"] == "Demo Wallet"
    assert body["asset"] == {
        "id": str(usdc.pk),
        "code": "USDC",
        "issuer": usdc.issuer,
        "created_at": body["asset"]["created_at"],
        "updated_at": body["asset"]["updated_at"],
        "deleted_at": None,
    }
    assert body["status_history"] == [
        {
            "status": "DRAFT",
            "user_id": str(owner.pk),
            "timestamp": body["status_history"][0]["timestamp"],
        }
    ]
    assert body["created_by"] == {
        "id": str(owner.pk),
        "first_name": owner.first_name,
        "last_name": owner.last_name,
    }
    assert body["total_payments"] == 0
    assert body["total_amount"] == "0.0000000"


def test_multipart_create_stores_payments_and_goes_ready(api, wallet, usdc):
    response = create_with_csv(api, wallet, usdc)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "READY"
    assert body["file_name"] == "payroll.csv"
    assert body["total_payments"] == 2
    assert body["total_amount"] == "30.5000000"
    assert body["average_amount"] == "15.2500000"
    assert body["total_payments_remaining"] == 2
    assert [h["status"] for h in body["status_history"]] == ["DRAFT", "READY"]
    payments = Payment.objects.filter(disbursement_id=body["id"])
    assert sorted(p.amount for p in payments) == [Decimal("10.5"), Decimal("20")]
    assert {p.status for p in payments} == {"DRAFT"}
    verification = ReceiverVerification.objects.get(
        receiver__phone_number="+14155550101"
    )
    assert "1990-01-30" not in verification.hashed_value


def test_bad_csv_in_multipart_create_writes_nothing(api, wallet, usdc):
    response = create_with_csv(
        api, wallet, usdc, text="phone,id,amount,verification\n+1,r-1,0,x\n"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "could not parse csv file"
    assert not Disbursement.objects.exists()


def test_duplicate_name_is_409(api, wallet, usdc):
    api.post("/disbursements", draft_body(wallet, usdc), format="json")
    response = api.post("/disbursements", draft_body(wallet, usdc), format="json")
    assert response.status_code == 409
    assert Disbursement.objects.count() == 1


def test_list_filters_sort_and_envelope(api, organization, wallet, usdc):
    for name, status in [("Alpha", "DRAFT"), ("Beta", "STARTED"), ("Gamma", "READY")]:
        DisbursementFactory(
            organization=organization,
            name=name,
            status=status,
            wallet=wallet,
            asset=usdc,
        )
    DisbursementFactory(name="Other tenant", status="STARTED")
    response = api.get("/disbursements?status=STARTED%2CPAUSED%2CCOMPLETED")
    assert response.status_code == 200
    assert [d["name"] for d in response.json()["data"]] == ["Beta"]
    response = api.get(
        "/disbursements?status=DRAFT,READY&page_limit=100&sort=name&direction=asc"
    )
    body = response.json()
    assert [d["name"] for d in body["data"]] == ["Alpha", "Gamma"]
    assert body["pagination"] == {"pages": 1, "total": 2}
    response = api.get("/disbursements?q=amm&page=1&page_limit=20")
    assert [d["name"] for d in response.json()["data"]] == ["Gamma"]
    response = api.get("/disbursements?page_limit=1&sort=name&direction=desc")
    body = response.json()
    assert body["pagination"]["pages"] == 3
    assert "next" in body["pagination"]
    assert body["data"][0]["name"] == "Gamma"


def test_list_date_range(api, organization, wallet, usdc):
    DisbursementFactory(organization=organization, wallet=wallet, asset=usdc)
    assert (
        api.get("/disbursements?created_at_after=2000-01-01").json()["pagination"][
            "total"
        ]
        == 1
    )
    assert (
        api.get("/disbursements?created_at_before=2000-01-01").json()["pagination"][
            "total"
        ]
        == 0
    )
    response = api.get(
        "/disbursements?created_at_after=2001-01-01&created_at_before=2000-01-01"
    )
    assert response.status_code == 400
    response = api.get("/disbursements?created_at_after=yesterday")
    assert response.json()["extras"] == {
        "created_at_after": "invalid date format, use YYYY-MM-DD"
    }


def test_instructions_upload_replace_and_download(api, wallet, usdc):
    draft = api.post("/disbursements", draft_body(wallet, usdc), format="json").json()
    url = f"/disbursements/{draft['id']}/instructions"
    response = api.post(url, {"file": csv_file(PHONE_CSV)}, format="multipart")
    assert response.json() == {"message": "File uploaded successfully"}
    replacement = "phone,id,amount,verification\n+14155550103,r-3,7,2000-02-02\n"
    response = api.post(
        url, {"file": csv_file(replacement, "v2.csv")}, format="multipart"
    )
    assert response.status_code == 200
    payments = Payment.objects.filter(disbursement_id=draft["id"])
    assert [p.amount for p in payments] == [Decimal("7")]
    download = api.get(url)
    assert download.status_code == 200
    assert download.content == replacement.encode()
    assert download["Content-Type"] == "text/csv"
    assert download["Content-Disposition"] == "attachment; filename=v2.csv"
    assert (
        api.get(f"/disbursements/{draft['id']}").json()["status_history"][-1]["status"]
        == "READY"
    )


def test_delete_draft_returns_json_and_removes_payments(api, wallet, usdc):
    body = create_with_csv(api, wallet, usdc).json()
    response = api.delete(f"/disbursements/{body['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == body["id"]
    assert not Disbursement.objects.exists()
    assert not Payment.objects.exists()


def test_started_disbursement_cannot_be_deleted(api, organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, status="STARTED", wallet=wallet, asset=usdc
    )
    response = api.delete(f"/disbursements/{disbursement.pk}")
    assert response.status_code == 400
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()


def test_start_moves_everything_and_writes_invitations(
    api, wallet, usdc, django_capture_on_commit_callbacks
):
    body = create_with_csv(api, wallet, usdc).json()
    with django_capture_on_commit_callbacks():
        response = api.patch(
            f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json() == {"message": "Disbursement started"}
    disbursement = Disbursement.objects.get(pk=body["id"])
    assert disbursement.status == "STARTED"
    assert set(disbursement.payments.values_list("status", flat=True)) == {"READY"}
    wallets = ReceiverWallet.objects.filter(payments__disbursement=disbursement)
    assert set(wallets.values_list("status", flat=True)) == {"READY"}
    invitations = Message.objects.filter(disbursement_id=disbursement.pk)
    assert invitations.count() == 2
    assert set(invitations.values_list("recipient", flat=True)) == {
        "+14155550101",
        "+14155550102",
    }
    details = api.get(f"/disbursements/{body['id']}").json()
    assert details["started_by"]["id"] == details["created_by"]["id"]
    assert [h["status"] for h in details["status_history"]] == [
        "DRAFT",
        "READY",
        "STARTED",
    ]


def test_start_hands_off_payments_of_registered_wallets(
    api, organization, wallet, usdc
):
    receiver = ReceiverFactory(organization=organization, phone_number="+14155550101")
    ReceiverWalletFactory(
        receiver=receiver,
        wallet=wallet,
        status="REGISTERED",
        stellar_address="GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
    )
    ReceiverVerification.objects.create(
        receiver=receiver, verification_field="DATE_OF_BIRTH", hashed_value="x"
    )
    body = create_with_csv(api, wallet, usdc).json()
    api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    payment = Payment.objects.get(receiver=receiver)
    assert payment.status == "PENDING"
    transaction = SubmitterTransaction.objects.get(external_id=str(payment.pk))
    assert transaction.amount == Decimal("10.5")
    assert transaction.destination.startswith("GBRPY")
    # The other receiver is not registered yet: invited, not paid.
    other = Payment.objects.exclude(receiver=receiver).get()
    assert other.status == "READY"
    assert Message.objects.filter(receiver_id=other.receiver_id).count() == 1
    assert not Message.objects.filter(receiver_id=receiver.pk).exists()


def test_start_refused_when_balance_does_not_cover_in_flight(
    api, organization, wallet, usdc, ledger
):
    ledger.balances[("USDC", usdc.issuer)] = Decimal("40")
    other = DisbursementFactory(
        organization=organization, status="STARTED", wallet=wallet, asset=usdc
    )
    from tests.factories import PaymentFactory

    PaymentFactory(disbursement=other, status="READY", amount=Decimal("15"))
    body = create_with_csv(api, wallet, usdc).json()
    response = api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 409
    message = response.json()["error"]
    assert "40" in message
    assert "15" in message
    assert "5.5000000" in message
    assert Disbursement.objects.get(pk=body["id"]).status == "READY"
    assert not Message.objects.exists()


def test_start_reads_the_network_balance_before_its_transaction(
    api, wallet, usdc, ledger, monkeypatch
):
    """The Horizon read runs with no transaction of the service open (so no row
    lock is held across it); the check itself runs inside, under the lock."""
    import sys

    from django.db import connection

    ledger.balances[("USDC", usdc.issuer)] = Decimal("1000")
    body = create_with_csv(api, wallet, usdc).json()
    module = sys.modules["tss.accounts"]
    read = module.balances
    depths = []

    def balances(tenant_id):
        depths.append(len(connection.atomic_blocks))
        return read(tenant_id)

    monkeypatch.setattr(module, "balances", balances)
    outside = len(connection.atomic_blocks)  # the test's own transaction(s)
    response = api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert depths == [outside]


def test_start_counts_what_the_tss_paid_after_the_balance_was_read(
    api, organization, wallet, usdc, ledger, monkeypatch
):
    """A transaction that completes between the network read and the check may
    not show in the balance read: it still counts as in flight."""
    import sys

    from django.utils import timezone

    from tests.factories import SubmitterTransactionFactory

    ledger.balances[("USDC", usdc.issuer)] = Decimal("40")  # needs 30.5
    body = create_with_csv(api, wallet, usdc).json()
    module = sys.modules["tss.accounts"]
    read = module.balances

    def balances(tenant_id):
        result = read(tenant_id)
        SubmitterTransactionFactory(
            tenant_id=organization.id,
            asset_code="USDC",
            asset_issuer=usdc.issuer,
            amount=Decimal("15"),
            status=SubmitterTransaction.Status.SUCCESS,
            completed_at=timezone.now(),
        )
        return result

    monkeypatch.setattr(module, "balances", balances)
    response = api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 409
    assert "5.5000000" in response.json()["error"]
    assert Disbursement.objects.get(pk=body["id"]).status == "READY"
    # Paid before the read: the balance shows it, it is not counted again.
    monkeypatch.setattr(module, "balances", read)
    response = api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_start_refused_without_trustline(api, wallet, usdc, ledger):
    del ledger.balances[("USDC", usdc.issuer)]
    body = create_with_csv(api, wallet, usdc).json()
    response = api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 409
    assert "trustline" in response.json()["error"]


def test_approval_rule_forbids_the_uploader(api, organization, wallet, usdc):
    organization.is_approval_required = True
    organization.save()
    body = create_with_csv(api, wallet, usdc).json()
    url = f"/disbursements/{body['id']}/status"
    response = api.patch(url, {"status": "STARTED"}, format="json")
    assert response.status_code == 403
    assert Disbursement.objects.get(pk=body["id"]).status == "READY"
    approver = client_for(role_user(organization, Role.APPROVER))
    response = approver.patch(url, {"status": "STARTED"}, format="json")
    assert response.status_code == 200
    history = api.get(f"/disbursements/{body['id']}").json()
    assert history["started_by"]["id"] != history["created_by"]["id"]


def test_pause_and_resume(api, wallet, usdc):
    body = create_with_csv(api, wallet, usdc).json()
    url = f"/disbursements/{body['id']}/status"
    api.patch(url, {"status": "STARTED"}, format="json")
    response = api.patch(url, {"status": "PAUSED"}, format="json")
    assert response.json() == {"message": "Disbursement paused"}
    assert set(Payment.objects.values_list("status", flat=True)) == {"PAUSED"}
    response = api.patch(url, {"status": "STARTED"}, format="json")
    assert response.json() == {"message": "Disbursement started"}
    assert set(Payment.objects.values_list("status", flat=True)) == {"READY"}
    statuses = [
        h["status"]
        for h in api.get(f"/disbursements/{body['id']}").json()["status_history"]
    ]
    assert statuses == ["DRAFT", "READY", "STARTED", "PAUSED", "STARTED"]


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        ("DRAFT", {"status": "STARTED"}, 400),
        ("COMPLETED", {"status": "PAUSED"}, 400),
        ("READY", {"status": "COMPLETED"}, 400),
        ("READY", {"status": ""}, 400),
    ],
)
def test_status_changes_refused(api, organization, wallet, usdc, status, body, code):
    disbursement = DisbursementFactory(
        organization=organization, status=status, wallet=wallet, asset=usdc
    )
    response = api.patch(
        f"/disbursements/{disbursement.pk}/status", body, format="json"
    )
    assert response.status_code == code
    assert Disbursement.objects.get(pk=disbursement.pk).status == status


def test_disbursement_receivers(api, wallet, usdc):
    body = create_with_csv(api, wallet, usdc).json()
    response = api.get(f"/disbursements/{body['id']}/receivers?page=1&page_limit=20")
    assert response.status_code == 200
    data = response.json()["data"]
    assert response.json()["pagination"]["total"] == 2
    first = data[0]
    assert first["phone_number"] == "+14155550101"
    assert first["external_id"] == "r-1"
    assert first["receiver_wallet"]["wallet"] == {
        "id": str(wallet.pk),
        "name": "Demo Wallet",
    }
    assert first["receiver_wallet"]["receiver"] == {"id": first["id"]}
    assert first["payment"]["amount"] == "10.5000000"
    assert first["payment"]["asset"]["code"] == "USDC"
    assert first["payment"]["status"] == "DRAFT"


def test_details_read_the_rows_as_the_dashboard_expects(
    api, organization, owner, wallet, usdc
):
    # What PostgreSQL writes for the edge cases: a deleted asset of the wallet
    # is not listed; started_by is the user of the last start, null when that
    # start had none; a history entry without a user has user_id ""; the
    # average is rounded half to even (0.00000025 -> 0.0000002).
    eurc = AssetFactory(organization=organization, code="EURC")
    gone = AssetFactory(
        organization=organization, code="OLD", deleted_at=timezone.now()
    )
    wallet.assets.add(eurc, gone)
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )
    now = timezone.now()
    for seconds, (status, actor) in enumerate(
        [("STARTED", owner), ("PAUSED", owner), ("STARTED", None)]
    ):
        DisbursementStatusChange.objects.create(
            disbursement=disbursement,
            to_status=status,
            actor=actor,
            created_at=now + timedelta(seconds=seconds),
        )
    for amount, status in [("0.0000001", "SUCCESS"), ("0.0000004", "FAILED")]:
        PaymentFactory(
            disbursement=disbursement,
            organization=organization,
            asset=usdc,
            amount=Decimal(amount),
            status=status,
        )
    body = api.get(f"/disbursements/{disbursement.pk}").json()
    assert [a["code"] for a in body["wallet"]["assets"]] == ["USDC", "EURC"]
    assert [h["user_id"] for h in body["status_history"]] == [str(owner.pk)] * 2 + [""]
    assert body["created_by"] is None
    assert body["started_by"] is None
    assert {k: v for k, v in body.items() if "amount" in k or "payments" in k} == {
        "total_payments": 2,
        "total_payments_sent": 1,
        "total_payments_failed": 1,
        "total_payments_canceled": 0,
        "total_payments_remaining": 0,
        "total_amount": "0.0000005",
        "amount_disbursed": "0.0000001",
        "average_amount": "0.0000002",
    }
    listed = api.get("/disbursements?status=STARTED").json()["data"]
    assert listed == [body]


def test_other_tenants_disbursement_is_404(api, organization):
    other = DisbursementFactory()
    for method, url in [
        ("get", f"/disbursements/{other.pk}"),
        ("delete", f"/disbursements/{other.pk}"),
        ("get", f"/disbursements/{other.pk}/instructions"),
        ("get", f"/disbursements/{other.pk}/receivers"),
        ("patch", f"/disbursements/{other.pk}/status"),
        ("get", f"/statistics/{other.pk}"),
    ]:
        response = (
            getattr(api, method)(url, {"status": "STARTED"}, format="json")
            if method == "patch"
            else getattr(api, method)(url)
        )
        assert response.status_code == 404, url
    assert Disbursement.objects.get(pk=other.pk).status == "DRAFT"


def test_start_hands_a_contract_address_to_the_tss(api, organization, wallet, usdc):
    """A wallet registered with a contract (C...) address: the start hands its
    payment to the TSS like any other, with no memo."""
    from stellar_sdk import StrKey

    receiver = ReceiverFactory(
        organization=organization, phone_number="+14155550101", external_id="r-1"
    )
    receiver_wallet = ReceiverWalletFactory(
        receiver=receiver, wallet=wallet, status="REGISTERED",
        stellar_address="GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
    )  # fmt: skip
    ReceiverVerification.objects.create(
        receiver=receiver, verification_field="DATE_OF_BIRTH", hashed_value="x"
    )
    body = create_with_csv(api, wallet, usdc).json()
    contract = StrKey.encode_contract(bytes(range(32)))
    ReceiverWallet.objects.filter(pk=receiver_wallet.pk).update(
        stellar_address=contract, stellar_memo="123", stellar_memo_type="id"
    )
    response = api.patch(
        f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
    )
    assert response.status_code == 200, response.json()
    row = SubmitterTransaction.objects.get()
    assert (row.destination, row.memo) == (contract, "")
