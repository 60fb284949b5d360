import hashlib

from stellar_sdk import (
    Account,
    Asset,
    Keypair,
    MuxedAccount,
    Network,
    TransactionBuilder,
)

from localnet.envelope import parse_envelope

PASSPHRASE = Network.STANDALONE_NETWORK_PASSPHRASE
NETWORK_ID = hashlib.sha256(PASSPHRASE.encode()).digest()


def _payment(channel, distribution, destination):
    tx = (
        TransactionBuilder(Account(channel.public_key, 7), PASSPHRASE, base_fee=100)
        .append_payment_op(
            destination.public_key,
            Asset("USDC", distribution.public_key),
            "12.5",
            source=distribution.public_key,
        )
        .add_text_memo("payment 1")
        .set_timeout(300)
        .set_ledger_bounds(0, 1234)
        .build()
    )
    tx.sign(channel)
    tx.sign(distribution)
    return tx


def test_hashes_match_the_sdk_for_plain_and_fee_bump_envelopes():
    channel, distribution, destination = (Keypair.random() for _ in range(3))
    tx = _payment(channel, distribution, destination)
    fee_bump = TransactionBuilder.build_fee_bump_transaction(
        distribution.public_key, 1000, tx, PASSPHRASE
    )
    fee_bump.sign(distribution)

    plain = parse_envelope(tx.to_xdr(), NETWORK_ID)
    bumped = parse_envelope(fee_bump.to_xdr(), NETWORK_ID)

    assert plain.hash_hex == tx.hash_hex()
    assert bumped.hash_hex == fee_bump.hash_hex()
    assert bumped.inner.hash.hex() == tx.hash_hex()
    assert bumped.op_count == 2
    assert bumped.fee_payer == distribution.public_key
    assert bumped.inner.max_ledger == 1234


def test_muxed_fee_source_hash_matches_the_sdk():
    channel, distribution, destination = (Keypair.random() for _ in range(3))
    tx = _payment(channel, distribution, destination)
    muxed = MuxedAccount(distribution.public_key, 42)
    fee_bump = TransactionBuilder.build_fee_bump_transaction(
        muxed, 1000, tx, PASSPHRASE
    )
    fee_bump.sign(distribution)

    bumped = parse_envelope(fee_bump.to_xdr(), NETWORK_ID)

    assert bumped.hash_hex == fee_bump.hash_hex()
    assert bumped.inner.hash.hex() == tx.hash_hex()
    assert bumped.fee_source == distribution.public_key


def test_operation_fields_are_decoded():
    channel, distribution, destination = (Keypair.random() for _ in range(3))
    op = parse_envelope(
        _payment(channel, distribution, destination).to_xdr(), NETWORK_ID
    ).inner.operations[0]
    assert op.source == distribution.public_key
    assert op.fields["amount"] == 125_000_000
    assert op.fields["asset"] == ("USDC", distribution.public_key)
