"""Keys the TSS signs with: the host account (``DISTRIBUTION_SEED``), each
tenant's distribution account and the channel accounts, the last two stored
encrypted (tss.crypto). Decrypted keys are kept in process memory only."""

from __future__ import annotations

import functools

from django.conf import settings
from stellar_sdk import Keypair

from tss import crypto
from tss.errors import NoDistributionAccount
from tss.models import DistributionAccount


def host_keypair() -> Keypair:
    return _keypair(settings.DISTRIBUTION_SEED)


@functools.lru_cache(maxsize=4096)
def _keypair(secret: str) -> Keypair:
    return Keypair.from_secret(secret)


def encrypt_distribution_secret(keypair: Keypair) -> str:
    return crypto.encrypt(
        keypair.secret,
        passphrase=settings.DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE,
        associated_data=keypair.public_key,
    )


def encrypt_channel_secret(keypair: Keypair) -> str:
    return crypto.encrypt(
        keypair.secret,
        passphrase=settings.CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE,
        associated_data=keypair.public_key,
    )


@functools.lru_cache(maxsize=4096)
def _decrypt(token: str, passphrase: str, public_key: str) -> Keypair:
    keypair = Keypair.from_secret(
        crypto.decrypt(token, passphrase=passphrase, associated_data=public_key)
    )
    if keypair.public_key != public_key:
        raise crypto.DecryptionError(f"the secret stored for {public_key} is not its")
    return keypair


def channel_keypair(public_key: str, encrypted_secret: str) -> Keypair:
    return _decrypt(
        encrypted_secret, settings.CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE, public_key
    )


def live_distribution_account(tenant_id) -> DistributionAccount | None:
    return DistributionAccount.objects.filter(
        tenant_id=tenant_id, retired_at__isnull=True
    ).first()


_round_cache: dict = {}


def clear_round_cache() -> None:
    """Forget tenants' keys looked up during the last engine round (a rotation
    shows from the next round on)."""
    _round_cache.clear()


def distribution_keypair(tenant_id) -> Keypair:
    """The key a tenant pays with: its own (DB vault) or, with none stored, the
    host account (SDP's DISTRIBUTION_ACCOUNT.STELLAR.ENV)."""
    if tenant_id in _round_cache:
        return _round_cache[tenant_id]
    _round_cache[tenant_id] = keypair = _distribution_keypair(tenant_id)
    return keypair


def _distribution_keypair(tenant_id) -> Keypair:
    row = live_distribution_account(tenant_id)
    if row is None:
        if not settings.DISTRIBUTION_SEED:
            raise NoDistributionAccount(f"tenant {tenant_id} has no distribution key")
        return host_keypair()
    return _decrypt(
        row.encrypted_secret,
        settings.DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE,
        row.public_key,
    )
