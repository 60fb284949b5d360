import pytest
from stellar_sdk import Keypair

from tss import crypto, keys
from tss.models import ChannelAccount


def test_secret_round_trips_and_is_not_stored_in_clear():
    keypair = Keypair.random()
    token = crypto.encrypt(
        keypair.secret, passphrase="pass-one", associated_data=keypair.public_key
    )
    assert keypair.secret not in token
    assert token.startswith("v1$")
    clear = crypto.decrypt(
        token, passphrase="pass-one", associated_data=keypair.public_key
    )
    assert clear == keypair.secret


def test_wrong_passphrase_is_refused():
    keypair = Keypair.random()
    token = crypto.encrypt(
        keypair.secret, passphrase="pass-one", associated_data=keypair.public_key
    )
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, passphrase="pass-two", associated_data=keypair.public_key)


def test_ciphertext_moved_to_another_account_is_refused():
    keypair, other = Keypair.random(), Keypair.random()
    token = crypto.encrypt(
        keypair.secret, passphrase="pass-one", associated_data=keypair.public_key
    )
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, passphrase="pass-one", associated_data=other.public_key)


def test_tampered_ciphertext_is_refused():
    keypair = Keypair.random()
    token = crypto.encrypt(
        keypair.secret, passphrase="pass-one", associated_data=keypair.public_key
    )
    version, salt, payload = token.split("$")
    flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(
            f"{version}${salt}${flipped}",
            passphrase="pass-one",
            associated_data=keypair.public_key,
        )


@pytest.mark.django_db
def test_channel_key_is_stored_encrypted_with_the_channel_passphrase(settings):
    keypair = Keypair.random()
    row = ChannelAccount.objects.create(
        public_key=keypair.public_key,
        encrypted_secret=keys.encrypt_channel_secret(keypair),
    )
    assert keypair.secret not in row.encrypted_secret
    assert keys.channel_keypair(row.public_key, row.encrypted_secret).secret == (
        keypair.secret
    )
