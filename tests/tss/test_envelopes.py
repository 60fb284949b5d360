"""The packed envelope is byte for byte the one stellar-sdk's builder makes, for
every memo and asset kind; bad input raises ValueError as the builder does."""

from decimal import Decimal

import pytest
from stellar_sdk import FeeBumpTransactionEnvelope, Keypair

from tss import batching, envelopes
from tss.models import SubmitterTransaction

PASSPHRASE = "Standalone Network ; February 2017"
# A fixed issuer: it is in the test ids, which must be the same on every run
# (and in every pytest-xdist worker).
ISSUER = Keypair.from_raw_ed25519_seed(bytes(range(32))).public_key


def _row(**fields) -> SubmitterTransaction:
    values = {
        "destination": Keypair.random().public_key,
        "asset_code": "XLM",
        "asset_issuer": "",
        "amount": Decimal("12.3456789"),
        "memo": "",
        "memo_type": "",
        "locked_until_ledger_number": 1234,
    }
    values.update(fields)
    return SubmitterTransaction(**values)


def _both(row, settings, sequence=2**40 + 7, base_fee=10_000):
    settings.NETWORK_PASSPHRASE = PASSPHRASE
    settings.MAX_BASE_FEE = base_fee
    channel, distribution = Keypair.random(), Keypair.random()
    reference = batching.build_with_sdk(
        [row],
        batching.Signers(channel, distribution),
        sequence,
        row.locked_until_ledger_number,
    )
    packed = envelopes.payment_envelope(
        channel=channel,
        distribution=distribution,
        sequence=sequence,
        max_ledger=row.locked_until_ledger_number,
        destination=row.destination,
        asset=envelopes.asset_xdr(row.asset_code, row.asset_issuer),
        amount_stroops=envelopes.stroops(row.amount),
        memo=envelopes.memo_xdr(row.memo, row.memo_type),
        base_fee=base_fee,
        passphrase=PASSPHRASE,
    )
    return (reference.hash_hex(), reference.to_xdr()), packed


@pytest.mark.parametrize(
    ("asset_code", "asset_issuer"),
    [("XLM", ""), ("USDC", ISSUER), ("AB", ISSUER), ("LONGASSET12", ISSUER)],
)
@pytest.mark.parametrize(
    ("memo", "memo_type"),
    [
        ("", ""),
        ("hello", "text"),
        ("abc", ""),  # no type: text, as the builder's default
        ("exactly-twenty-eight-bytes!!", "text"),
        ("héllo wörld", "text"),  # UTF-8 bytes, padded
        ("18446744073709551615", "id"),
        ("ab" * 32, "hash"),
        ("cd" * 32, "return"),
    ],
)
def test_packed_envelope_is_the_builders(
    settings, asset_code, asset_issuer, memo, memo_type
):
    row = _row(
        asset_code=asset_code, asset_issuer=asset_issuer, memo=memo, memo_type=memo_type
    )
    reference, packed = _both(row, settings)
    assert packed == reference


@pytest.mark.parametrize("amount", ["0.0000001", "1", "922337203685.4775807"])
def test_amount_edges(settings, amount):
    reference, packed = _both(_row(amount=Decimal(amount)), settings, sequence=1)
    assert packed == reference


def test_packed_envelope_verifies():
    """Signatures over the network's hashes: the inner transaction by the channel
    and the distribution account, the fee bump by the distribution account."""
    channel, distribution = Keypair.random(), Keypair.random()
    tx_hash, envelope_xdr = envelopes.payment_envelope(
        channel=channel,
        distribution=distribution,
        sequence=5,
        max_ledger=1234,
        destination=Keypair.random().public_key,
        asset=envelopes.asset_xdr("XLM", ""),
        amount_stroops=1,
        memo=envelopes.memo_xdr("42", "id"),
        base_fee=10_000,
        passphrase=PASSPHRASE,
    )
    envelope = FeeBumpTransactionEnvelope.from_xdr(envelope_xdr, PASSPHRASE)
    assert envelope.hash_hex() == tx_hash
    assert envelope.transaction.fee == 2 * 10_000
    inner = envelope.transaction.inner_transaction_envelope
    assert inner.transaction.preconditions.ledger_bounds.max_ledger == 1234
    signers = [(channel, inner.hash()), (distribution, inner.hash())]
    signers.append((distribution, envelope.hash()))
    signatures = [*inner.signatures, *envelope.signatures]
    for (keypair, signed), signature in zip(signers, signatures, strict=True):
        assert signature.signature_hint == keypair.signature_hint()
        keypair.verify(signed, signature.signature)  # raises when invalid


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (envelopes.memo_xdr, ("x" * 29, "text")),
        (envelopes.memo_xdr, ("-1", "id")),
        (envelopes.memo_xdr, ("ab", "hash")),
        (envelopes.memo_xdr, ("zz" * 32, "return")),
        (envelopes.memo_xdr, ("1", "weird")),
        (envelopes.stroops, (Decimal("0"),)),
        (envelopes.stroops, (Decimal("0.00000001"),)),
        (envelopes.stroops, (Decimal("922337203685.4775808"),)),
        (envelopes.asset_xdr, ("TOOLONGASSETX", ISSUER)),
        (envelopes.asset_xdr, ("US-D", ISSUER)),
        (envelopes.asset_xdr, ("USDC", "GNOTAKEY")),
    ],
)
def test_bad_input_is_a_value_error(call, args):
    with pytest.raises(ValueError, match=r"."):
        call(*args)


def test_bad_destination_is_a_value_error():
    keypair = Keypair.random()
    with pytest.raises(ValueError, match=r"Invalid Ed25519 Public Key"):
        envelopes.payment_envelope(
            channel=keypair,
            distribution=keypair,
            sequence=1,
            max_ledger=10,
            destination="G" + "A" * 55,
            asset=envelopes.asset_xdr("XLM", ""),
            amount_stroops=1,
            memo=envelopes.memo_xdr("", ""),
            base_fee=100,
            passphrase=PASSPHRASE,
        )
