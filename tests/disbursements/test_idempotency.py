"""Idempotency-Key on POST and PATCH (issue 6, item 8)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from core.models import IdempotencyKey
from disbursements.models import Disbursement, Payment
from tests.api2_fixtures import client_for
from tests.factories import (
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
)


def body(wallet, asset, name="Idem"):
    return {
        "name": name,
        "wallet_id": str(wallet.pk),
        "asset_id": str(asset.pk),
        "registration_contact_type": "PHONE_NUMBER",
        "verification_field": "DATE_OF_BIRTH",
    }


@pytest.mark.django_db
def test_replay_returns_the_first_answer(owner, wallet, usdc):
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-1")
    first = api.post("/disbursements", body(wallet, usdc), format="json")
    second = api.post("/disbursements", body(wallet, usdc), format="json")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Disbursement.objects.count() == 1


@pytest.mark.django_db
def test_replay_of_a_body_postgresql_wrote(organization, owner, wallet, usdc):
    # POST /payments answers JSON that PostgreSQL wrote (an HttpResponse, not a
    # DRF Response): its bytes are stored and replayed as they are.
    registered = ReceiverWalletFactory(
        receiver=ReceiverFactory(organization=organization),
        wallet=wallet,
        status="REGISTERED",
        stellar_address="GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
    )
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-direct")
    payment = {
        "amount": "5.5",
        "asset": {"id": str(usdc.pk)},
        "receiver": {"id": str(registered.receiver_id)},
        "wallet": {"id": str(registered.wallet_id)},
    }
    first = api.post("/payments", payment, format="json")
    second = api.post("/payments", payment, format="json")
    assert first.status_code == second.status_code == 201, first.content
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_errors_are_replayed_too(owner, wallet, usdc):
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-err")
    bad = {**body(wallet, usdc), "registration_contact_type": "PIGEON"}
    first = api.post("/disbursements", bad, format="json")
    assert first.status_code == 400
    second = api.post("/disbursements", bad, format="json")
    assert (second.status_code, second.json()) == (400, first.json())
    assert second["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_same_key_other_body_is_422(owner, wallet, usdc):
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-2")
    api.post("/disbursements", body(wallet, usdc), format="json")
    response = api.post("/disbursements", body(wallet, usdc, "Other"), format="json")
    assert response.status_code == 422
    assert Disbursement.objects.count() == 1


@pytest.mark.django_db
def test_patch_replay_does_not_move_twice(organization, owner, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED"
    )
    payment = PaymentFactory(disbursement=disbursement, status="READY")
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="cancel-1")
    url = f"/payments/{payment.pk}/status"
    first = api.patch(url, {"status": "CANCELED"}, format="json")
    second = api.patch(url, {"status": "CANCELED"}, format="json")
    assert first.json() == second.json() == {"message": "Payment canceled"}
    assert payment.status_changes.filter(to_status="CANCELED").count() == 1


@pytest.mark.django_db
def test_key_expires_after_24_hours(owner, wallet, usdc):
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k-3")
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        api.post("/disbursements", body(wallet, usdc, "Old"), format="json")
    response = api.post("/disbursements", body(wallet, usdc, "New"), format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "New"
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_tenant(owner, wallet, usdc):
    from tests.factories import AssetFactory, UserFactory, WalletFactory

    other_owner = UserFactory()
    other_wallet = WalletFactory(organization=other_owner.organization)
    other_asset = AssetFactory(organization=other_owner.organization)
    first = client_for(owner, HTTP_IDEMPOTENCY_KEY="shared")
    second = client_for(other_owner, HTTP_IDEMPOTENCY_KEY="shared")
    assert (
        first.post("/disbursements", body(wallet, usdc), format="json").status_code
        == 201
    )
    response = second.post(
        "/disbursements", body(other_wallet, other_asset), format="json"
    )
    assert response.status_code == 201
    assert Disbursement.objects.count() == 2


@pytest.mark.django_db
def test_multipart_replay_with_a_new_boundary(owner, wallet, usdc):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="mp-1")
    csv = b"phone,id,amount,verification\n+14155550101,r-1,1,1990-01-30\n"
    for _ in range(2):
        response = api.post(
            "/disbursements",
            {
                "data": json.dumps(body(wallet, usdc)),
                "file": SimpleUploadedFile("a.csv", csv, content_type="text/csv"),
            },
            format="multipart",
        )
        assert response.status_code == 201, response.json()
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_oversized_key_is_refused(owner, wallet, usdc):
    api = client_for(owner, HTTP_IDEMPOTENCY_KEY="k" * 256)
    response = api.post("/disbursements", body(wallet, usdc), format="json")
    assert response.status_code == 400
    assert not Disbursement.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_have_one_effect(
    organization, wallet, usdc, ledger
):
    from tests.factories import UserFactory

    owner = UserFactory(organization=organization)
    results = []
    barrier = threading.Barrier(4)

    def send():
        api = client_for(owner, HTTP_IDEMPOTENCY_KEY="race")
        barrier.wait()
        try:
            response = api.post("/disbursements", body(wallet, usdc), format="json")
            results.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in results] == [201] * 4
    assert len({disbursement_id for _, disbursement_id in results}) == 1
    assert Disbursement.objects.count() == 1
