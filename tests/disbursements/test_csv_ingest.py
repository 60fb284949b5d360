"""What a valid file stores (reference §5 "Processing")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from stellar_sdk import Keypair, MuxedAccount, StrKey

from disbursements.models import Payment
from receivers.models import (
    Receiver,
    ReceiverStellarAddress,
    ReceiverVerification,
    ReceiverWallet,
)
from receivers.verification_hash import verification_value_matches
from tests.factories import DisbursementFactory, ReceiverFactory

pytestmark = pytest.mark.django_db

G1 = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"
G2 = Keypair.from_raw_ed25519_seed(bytes([2]) * 32).public_key
G3 = Keypair.from_raw_ed25519_seed(bytes([3]) * 32).public_key
G4 = Keypair.from_raw_ed25519_seed(bytes([4]) * 32).public_key
# A contract address (C...), which the platform cannot pay yet.
C1 = StrKey.encode_contract(bytes(range(32)))


def upload(api, disbursement, content: bytes | str, name="payroll.csv"):
    if isinstance(content, str):
        content = content.encode()
    return api.post(
        f"/disbursements/{disbursement.pk}/instructions",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
    )


@pytest.fixture
def make(organization, wallet, usdc):
    def make(contact_type="PHONE_NUMBER", verification_field="DATE_OF_BIRTH"):
        return DisbursementFactory(
            organization=organization,
            wallet=wallet,
            asset=usdc,
            registration_contact_type=contact_type,
            verification_field=verification_field,
        )

    return make


def test_bom_trimming_and_lower_casing(api, make):
    disbursement = make("EMAIL")
    content = (
        b"\xef\xbb\xbf email , id , amount , verification \r\n"
        b"  Ann@Example.ORG ,  r-1 , 12.3400000 , 1990-01-30 \r\n"
    )
    response = upload(api, disbursement, content)
    assert response.status_code == 200, response.json()
    receiver = Receiver.objects.get()
    assert receiver.email == "ann@example.org"
    assert receiver.external_id == "r-1"
    assert Payment.objects.get().amount == Decimal("12.34")
    verification = ReceiverVerification.objects.get()
    assert verification_value_matches(verification.hashed_value, "1990-01-30")
    assert not verification_value_matches(verification.hashed_value, "1990-01-31")


def test_existing_receivers_are_reused_and_unconfirmed_values_overwritten(
    api, make, organization
):
    receiver = ReceiverFactory(
        organization=organization, phone_number="+14155550101", external_id="old"
    )
    ReceiverVerification.objects.create(
        receiver=receiver, verification_field="DATE_OF_BIRTH", hashed_value="stale"
    )
    response = upload(
        api, make(), "phone,id,amount,verification\n+14155550101,r-1,5,1990-01-30\n"
    )
    assert response.status_code == 200
    assert Receiver.objects.count() == 1
    verification = ReceiverVerification.objects.get()
    assert verification_value_matches(verification.hashed_value, "1990-01-30")
    assert Payment.objects.get().receiver_id == receiver.pk


def test_wallet_addresses_register_at_upload_with_memo_types(api, make):
    disbursement = make("PHONE_NUMBER_AND_WALLET_ADDRESS", "")
    hash_memo = "ab" * 32
    content = (
        "phone,id,amount,walletAddress,walletAddressMemo\n"
        f"+14155550101,r-1,5,{G1.lower()},12345\n"
        f"+14155550102,r-2,5,{G2},hello world\n"
        f"+14155550103,r-3,5,{G4},\n"
        f"+14155550104,r-4,5,{G3},{hash_memo}\n"
    )
    response = upload(api, disbursement, content)
    assert response.status_code == 200, response.json()
    wallets = {
        w.receiver.phone_number: w
        for w in ReceiverWallet.objects.select_related("receiver")
    }
    assert wallets["+14155550101"].stellar_address == G1
    assert (
        wallets["+14155550101"].stellar_memo_type,
        wallets["+14155550101"].stellar_memo,
    ) == ("id", "12345")
    assert wallets["+14155550102"].stellar_memo_type == "text"
    assert wallets["+14155550103"].stellar_address == G4
    assert wallets["+14155550103"].stellar_memo_type == ""
    assert wallets["+14155550104"].stellar_memo_type == "hash"
    assert {w.status for w in wallets.values()} == {"REGISTERED"}
    assert ReceiverStellarAddress.objects.count() == 4
    assert set(Payment.objects.values_list("status", flat=True)) == {"DRAFT"}


def test_reupload_replaces_payments_and_keeps_receivers(api, make):
    disbursement = make()
    upload(
        api,
        disbursement,
        "phone,id,amount,verification\n+14155550101,r-1,5,1990-01-30\n+14155550102,r-2,5,1990-01-30\n",
    )
    response = upload(
        api,
        disbursement,
        "phone,id,amount,verification\n+14155550101,r-1,9,1990-01-30\n",
    )
    assert response.status_code == 200
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("9")]
    assert Receiver.objects.count() == 2
    disbursement.refresh_from_db()
    assert disbursement.status == "READY"
    assert list(disbursement.status_changes.values_list("to_status", flat=True)) == [
        "READY",
        "READY",
    ]


def test_payment_ids_and_amount_precision_kept(api, make):
    response = upload(
        api,
        make(),
        "phone,id,amount,verification,paymentID\n"
        "+14155550101,r-1,0.0000001,1990-01-30,pay-1\n",
    )
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.amount == Decimal("0.0000001")
    assert payment.external_payment_id == "pay-1"


def test_pin_and_national_id_and_year_month(api, make):
    for field, value in [
        ("PIN", "1234"),
        ("NATIONAL_ID_NUMBER", "AB-123"),
        ("YEAR_MONTH", "1990-12"),
    ]:
        Payment.objects.all().delete()
        response = upload(
            api,
            make(verification_field=field),
            f"phone,id,amount,verification\n+14155550101,r-1,1,{value}\n",
        )
        assert response.status_code == 200, (field, response.json())
        stored = ReceiverVerification.objects.get(verification_field=field)
        assert verification_value_matches(stored.hashed_value, value)


def test_new_rows_get_time_ordered_keys_in_the_files_order(api, make):
    # core.ids: rows of an upload append at the right edge of each index.
    response = upload(
        api,
        make(),
        "phone,id,amount,verification\n"
        + "".join(f"+1415555{i:04d},r-{i},1,1990-01-30\n" for i in range(30)),
    )
    assert response.status_code == 200, response.json()
    payments = Payment.objects.select_related("receiver")
    by_external = sorted(payments, key=lambda p: int(p.receiver.external_id[2:]))
    for rows in (
        [p.pk for p in by_external],
        [p.receiver_id for p in by_external],
        [p.receiver_wallet_id for p in by_external],
    ):
        assert len(rows) == 30
        assert {key.version for key in rows} == {7}
        assert rows == sorted(rows)


def test_a_contract_address_is_accepted_and_a_memo_on_one_refused(api, make):
    """Contract (C...) addresses are paid (the asset contract's transfer): a
    row with one is taken; a memo on one is refused naming the row and the
    field, and nothing is written."""
    disbursement = make("PHONE_NUMBER_AND_WALLET_ADDRESS", "")
    with_memo = (
        "phone,id,amount,walletAddress,walletAddressMemo\n"
        f"+14155550101,r-1,5,{G1},\n"
        f"+14155550102,r-2,5,{C1.lower()},123\n"
    )
    response = upload(api, disbursement, with_memo)
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert list(extras) == ["line 3 - walletAddressMemo"]
    assert "takes no memo" in extras["line 3 - walletAddressMemo"]
    assert not Payment.objects.exists()
    assert not ReceiverWallet.objects.exists()

    content = with_memo.replace(",123\n", ",\n")
    response = upload(api, disbursement, content)
    assert response.status_code in (200, 201), response.json()
    assert set(ReceiverWallet.objects.values_list("stellar_address", flat=True)) == {
        G1,
        C1,
    }
    assert Payment.objects.count() == 2


def test_a_muxed_address_is_kept_whole_and_a_memo_on_one_refused(api, make):
    """A muxed (M...) address carries its own id: a row with one is taken and
    stored whole (69 characters); a memo on one is refused naming the row and
    the field, and nothing is written."""
    muxed = MuxedAccount(G1, 2**64 - 1).account_muxed
    disbursement = make("PHONE_NUMBER_AND_WALLET_ADDRESS", "")
    with_memo = (
        "phone,id,amount,walletAddress,walletAddressMemo\n"
        f"+14155550101,r-1,5,{muxed.lower()},7\n"
    )
    response = upload(api, disbursement, with_memo)
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "line 2 - walletAddressMemo": (
            "a muxed address (M...) carries its own id and takes no memo"
        )
    }
    assert not ReceiverWallet.objects.exists()

    response = upload(api, disbursement, with_memo.replace(",7\n", ",\n"))
    assert response.status_code in (200, 201), response.json()
    [wallet] = ReceiverWallet.objects.all()
    assert (wallet.stellar_address, wallet.stellar_memo) == (muxed, "")
    assert len(muxed) == 69
