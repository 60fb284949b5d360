"""What the streamed ingestion (staging table, receivers.ingest, payments by
INSERT ... SELECT) stores for a small file with every kind of row, checked row by
row against what the previous in-memory path stored; and the errors it names.
Through the API, with the dashboard's exact multipart request."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from stellar_sdk import Keypair

from disbursements.models import Payment, PaymentStatusChange
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
)
from receivers.verification import hash_verification_value
from receivers.verification_hash import verification_value_matches
from tests.factories import (
    DisbursementFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
    WalletFactory,
)

pytestmark = pytest.mark.django_db

G1, G2, G3, G4, G5 = (
    Keypair.from_raw_ed25519_seed(bytes([n]) * 32).public_key
    for n in (11, 12, 13, 14, 15)
)


def upload(api, disbursement, content: str):
    return api.post(
        f"/disbursements/{disbursement.pk}/instructions",
        {
            "file": SimpleUploadedFile(
                "payroll.csv", content.encode(), content_type="text/csv"
            )
        },
        format="multipart",
    )


def _nothing_written(disbursement, receivers_before: int):
    assert not Payment.objects.filter(disbursement=disbursement).exists()
    assert Receiver.objects.count() == receivers_before
    disbursement.refresh_from_db()
    assert disbursement.status == "DRAFT"


def test_phone_file_stores_every_kind_of_row(api, organization, wallet, usdc):
    # An existing receiver with a confirmed date of birth and a wallet here; one
    # with an unconfirmed value and no wallet here; the rest are new.
    confirmed = ReceiverFactory(
        organization=organization, phone_number="+14155550102", external_id="old-2"
    )
    confirmed_wallet = ReceiverWalletFactory(receiver=confirmed, wallet=wallet)
    ReceiverVerification.objects.create(
        receiver=confirmed,
        verification_field="DATE_OF_BIRTH",
        hashed_value=hash_verification_value("DATE_OF_BIRTH", "1980-02-03"),
        confirmed_at=timezone.now(),
    )
    unconfirmed = ReceiverFactory(
        organization=organization, phone_number="+14155550103", external_id="old-3"
    )
    ReceiverVerification.objects.create(
        receiver=unconfirmed,
        verification_field="DATE_OF_BIRTH",
        hashed_value=hash_verification_value("DATE_OF_BIRTH", "1970-01-01"),
    )
    disbursement = DisbursementFactory(
        organization=organization,
        wallet=wallet,
        asset=usdc,
        registration_contact_type="PHONE_NUMBER",
        verification_field="DATE_OF_BIRTH",
    )
    content = (
        "phone,id,amount,verification,paymentID\n"
        "+14155550101,new-1,10.5,1990-01-30,pay-1\n"  # new receiver
        "+14155550102,ignored,0.0000001,1980-02-03,\n"  # existing, confirmed, equal
        "\n"  # a blank line: no instruction, lines keep their numbers
        "+14155550103,ignored-too,7,1999-12-31,pay-3\n"  # existing, not confirmed
        "+14155550104,new-4,1000000,2001-05-06,pay-4\n"
    )
    response = upload(api, disbursement, content)
    assert response.status_code == 200, response.content

    # Receivers: the new ones with the file's id; the existing ones unchanged.
    receivers = {
        r.phone_number: r for r in Receiver.objects.filter(organization=organization)
    }
    assert set(receivers) == {f"+1415555010{n}" for n in (1, 2, 3, 4)}
    assert receivers["+14155550101"].external_id == "new-1"
    assert receivers["+14155550104"].external_id == "new-4"
    assert receivers["+14155550102"].external_id == "old-2"
    assert receivers["+14155550103"].external_id == "old-3"

    # Receiver wallets: the existing one kept, one DRAFT wallet for each other.
    wallets = {
        w.receiver.phone_number: w
        for w in ReceiverWallet.objects.filter(wallet=wallet).select_related("receiver")
    }
    assert set(wallets) == set(receivers)
    assert wallets["+14155550102"].pk == confirmed_wallet.pk
    for phone in ("+14155550101", "+14155550103", "+14155550104"):
        new = wallets[phone]
        assert (new.status, new.organization_id) == ("DRAFT", organization.pk)
        assert (new.stellar_address, new.stellar_memo, new.otp_attempts) == (
            None,
            "",
            0,
        )
        assert not new.status_changes.exists()

    # Verifications: one per receiver, each matching the file's value; the
    # confirmed one stays confirmed, rewritten with a new salt.
    values = {
        "+14155550101": "1990-01-30",
        "+14155550102": "1980-02-03",
        "+14155550103": "1999-12-31",
        "+14155550104": "2001-05-06",
    }
    for phone, value in values.items():
        (verification,) = ReceiverVerification.objects.filter(receiver=receivers[phone])
        assert verification.verification_field == "DATE_OF_BIRTH"
        assert verification_value_matches(verification.hashed_value, value)
        assert verification.attempts == 0
        assert (verification.confirmed_at is not None) == (phone == "+14155550102")

    # Payments: in the file's order, a microsecond apart, with their history.
    payments = list(
        Payment.objects.filter(disbursement=disbursement).order_by("created_at")
    )
    assert [
        (
            p.receiver.phone_number,
            p.amount,
            p.external_payment_id,
            p.status,
            p.type,
            p.asset_id,
            p.organization_id,
            p.receiver_wallet_id,
            p.stellar_transaction_id,
        )
        for p in payments
    ] == [
        (
            phone,
            Decimal(amount),
            payment_id,
            "DRAFT",
            "DISBURSEMENT",
            usdc.pk,
            organization.pk,
            wallets[phone].pk,
            "",
        )
        for phone, amount, payment_id in (
            ("+14155550101", "10.5000000", "pay-1"),
            ("+14155550102", "0.0000001", ""),
            ("+14155550103", "7.0000000", "pay-3"),
            ("+14155550104", "1000000.0000000", "pay-4"),
        )
    ]
    gaps = [(b.created_at - a.created_at) for a, b in itertools.pairwise(payments)]
    assert all(gap.total_seconds() == 0.000001 for gap in gaps)
    assert payments[0].created_at == payments[0].updated_at
    history = PaymentStatusChange.objects.filter(payment__disbursement=disbursement)
    assert sorted(
        (h.payment_id, h.from_status, h.to_status, h.note, h.actor_id) for h in history
    ) == sorted((p.pk, "", "DRAFT", "instructions uploaded", None) for p in payments)
    disbursement.refresh_from_db()
    assert disbursement.status == "READY"
    assert bytes(disbursement.file_content) == content.encode()

    # A second upload replaces the payments and reuses every receiver.
    again = upload(api, disbursement, content.replace("10.5", "11"))
    assert again.status_code == 200, again.content
    assert Receiver.objects.filter(organization=organization).count() == 4
    assert ReceiverWallet.objects.filter(wallet=wallet).count() == 4
    assert Payment.objects.filter(disbursement=disbursement).count() == 4
    assert (
        PaymentStatusChange.objects.filter(payment__disbursement=disbursement).count()
        == 4
    )
    assert Payment.objects.get(
        disbursement=disbursement, external_payment_id="pay-1"
    ).amount == Decimal("11")


def test_every_error_names_its_row_and_nothing_is_written(
    api, organization, wallet, usdc
):
    confirmed = ReceiverFactory(organization=organization, phone_number="+14155550109")
    ReceiverVerification.objects.create(
        receiver=confirmed,
        verification_field="DATE_OF_BIRTH",
        hashed_value=hash_verification_value("DATE_OF_BIRTH", "1980-02-03"),
        confirmed_at=timezone.now(),
    )
    disbursement = DisbursementFactory(
        organization=organization,
        wallet=wallet,
        asset=usdc,
        registration_contact_type="PHONE_NUMBER",
        verification_field="DATE_OF_BIRTH",
    )
    before = Receiver.objects.count()
    # The file's own errors come first (the database is not asked).
    response = upload(
        api,
        disbursement,
        "phone,id,amount,verification,paymentID\n"
        "+14155550101,r-1,10,1990-01-30,p-1\n"
        "not-a-phone,r-2,-1,1990-01-30,p-2\n"
        "+14155550101,r-3,10,1990-01-30,p-3\n"
        "+14155550104,r-4,10,1990-01-30,p-1\n"
        "+14155550105,r-5,10\n"
        "+14155550109,r-9,10,1980-02-04,p-9\n",
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "line 3 - amount": "invalid amount: must be greater than zero",
        "line 3 - phone": "invalid phone format. Correct format: +380445555555",
        "line 4 - phone": "duplicate contact information. Also found on line 2",
        "line 5 - paymentID": "duplicate payment id. Also found on line 2",
        "line 6 - row": "wrong number of fields: expected 5, got 3",
    }
    assert next(iter(response.json()["extras"])) == "line 3 - amount"
    _nothing_written(disbursement, before)

    # Valid on its own: the database's check names the row.
    response = upload(
        api,
        disbursement,
        "phone,id,amount,verification\n"
        "+14155550101,r-1,10,1990-01-30\n"
        "+14155550109,r-9,10,1980-02-04\n",
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "line 3 - verification": "receiver verification mismatch"
    }
    _nothing_written(disbursement, before)


def test_wallet_address_file(api, organization, wallet, usdc):
    flagged = ReceiverWalletFactory(
        receiver=ReceiverFactory(
            organization=organization, phone_number="+14155550201"
        ),
        wallet=wallet,
        status="FLAGGED",
    )
    owner = ReceiverFactory(organization=organization, phone_number="+14155550299")
    ReceiverStellarAddress.objects.create(
        organization=organization, stellar_address=G4, receiver=owner
    )
    registered = ReceiverWalletFactory(
        receiver=ReceiverFactory(
            organization=organization, phone_number="+14155550202"
        ),
        wallet=wallet,
        status="REGISTERED",
        stellar_address=G2,
    )
    disbursement = DisbursementFactory(
        organization=organization,
        wallet=WalletFactory(organization=organization),
        asset=usdc,
        registration_contact_type="PHONE_NUMBER_AND_WALLET_ADDRESS",
        verification_field="",
    )
    disbursement.wallet = wallet
    disbursement.save()
    before = Receiver.objects.count()
    header = "phone,id,amount,walletAddress,walletAddressMemo\n"
    response = upload(
        api,
        disbursement,
        header + f"+14155550201,r-1,1,{G1},\n"  # flagged wallet
        f"+14155550202,r-2,1,{G3},\n"  # another address registered
        f"+14155550203,r-3,1,{G4},\n"  # the address of another receiver
        f"+14155550204,r-4,1,{G5},\n",  # fine
    )
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "line 2 - walletAddress": "the receiver's wallet is flagged",
        "line 3 - walletAddress": (
            "wallet address does not match the receiver's registered address"
        ),
        "line 4 - walletAddress": (
            "wallet address is already registered to another receiver"
        ),
    }
    _nothing_written(disbursement, before)
    flagged.refresh_from_db()
    assert flagged.status == "FLAGGED"

    response = upload(
        api,
        disbursement,
        header + f"+14155550202,r-2,1,{G2},\n"  # its registered address
        f"+14155550205,r-5,2,{G1},12345\n"  # new, with an id memo
        f"+14155550206,r-6,3,{G3},hello\n",  # new, with a text memo
    )
    assert response.status_code == 200, response.content
    wallets = {
        w.receiver.phone_number: w
        for w in ReceiverWallet.objects.filter(wallet=wallet).select_related("receiver")
    }
    assert wallets["+14155550202"].pk == registered.pk
    for phone, address, memo, memo_type in (
        ("+14155550202", G2, "", ""),
        ("+14155550205", G1, "12345", "id"),
        ("+14155550206", G3, "hello", "text"),
    ):
        receiver_wallet = wallets[phone]
        assert receiver_wallet.status == "REGISTERED"
        assert (
            receiver_wallet.stellar_address,
            receiver_wallet.stellar_memo,
            receiver_wallet.stellar_memo_type,
        ) == (address, memo, memo_type)
        assert ReceiverStellarAddress.objects.filter(
            organization=organization,
            stellar_address=address,
            receiver=receiver_wallet.receiver,
        ).exists()
    new = wallets["+14155550205"]
    assert [
        (c.from_status, c.to_status, c.note)
        for c in new.status_changes.order_by("created_at", "pk")
    ] == [
        (frm, to, "wallet address uploaded with the disbursement instructions")
        for frm, to in (("DRAFT", "READY"), ("READY", "REGISTERED"))
    ]
    assert not wallets["+14155550202"].status_changes.exists()
    assert not ReceiverVerification.objects.filter(
        receiver__organization=organization
    ).exists()
    assert Payment.objects.filter(disbursement=disbursement).count() == 3
