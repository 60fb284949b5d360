"""Issue 16.16: the redaction filter hides secrets and contacts, and keeps the
ids that a log is read by (payment UUIDs, public keys, hashes, amounts)."""

import logging

import pytest
from stellar_sdk import Keypair

from core.logfilters import RedactingFilter, redact

PAYMENT_ID = "0190a3b2-7c4e-7d2f-8a1b-123456789012"
OTHER_IDS = [
    "01937e2a-0000-7000-8000-000000000000",
    "12345678-1234-1234-1234-123456789012",  # all digits: still an id
    "a" * 64,  # a transaction hash
    "0123456789" * 6 + "abcd",
]


@pytest.mark.parametrize("identifier", [PAYMENT_ID, *OTHER_IDS])
def test_ids_stay_readable(identifier):
    text = f"payment {identifier} submitted; tx {identifier}"
    assert redact(text) == text


def test_public_keys_amounts_and_ledgers_stay_readable():
    public = Keypair.random().public_key
    text = (
        f"paid 1234567.1234567 XLM from {public} in ledger 12345678 "
        f"asset_code=USDC status_code=404 page=2"
    )
    assert redact(text) == text


def test_stellar_secret_seeds_are_redacted():
    seed = Keypair.random().secret
    out = redact(f"channel account seed {seed} loaded")
    assert seed not in out
    assert "[secret-seed]" in out


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login password=hunter2 for user", "hunter2"),
        ('{"password": "hunter2", "email_ok": 1}', "hunter2"),
        ("refresh_token=abc.def.ghi", "abc.def.ghi"),
        ("client_secret: s3cr3t-value", "s3cr3t-value"),
        ("api_key=k_123456abcdef", "k_123456abcdef"),
        ("otp=123456 sent", "123456"),
        ("verification_code=987654", "987654"),
        ("Authorization: Bearer abc123xyz", "abc123xyz"),
        ("your code is 482913", "482913"),
        ("pin=4321", "4321"),
        ("private_key=deadbeef", "deadbeef"),
    ],
)
def test_secrets_are_redacted(text, secret):
    assert secret not in redact(text)


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("invite to +14155550123 failed", "+14155550123"),
        ("invite to +1 415 555 0123 failed", "+1 415 555 0123"),
        ("invite to 14155550123 failed", "14155550123"),
        ("mail to jane.doe@example.org bounced", "jane.doe@example.org"),
    ],
)
def test_contacts_are_redacted(text, contact):
    assert contact not in redact(text)


def test_the_filter_keeps_the_payment_id_and_hides_the_phone():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1,
        "payment %s to %s failed", (PAYMENT_ID, "+14155550123"), None,
    )  # fmt: skip
    RedactingFilter().filter(record)
    assert record.getMessage() == f"payment {PAYMENT_ID} to [phone] failed"
