"""Channel accounts: sponsored accounts used only for their sequence numbers.

Created by the host account (it sponsors their reserves: BeginSponsoring +
CreateAccount with a 0 balance + EndSponsoring) and deleted by giving each its
reserve, revoking the sponsorship and merging it back into the host. A batch
holds at most 19 accounts, so a transaction carries at most 20 signatures.
A PostgreSQL advisory lock serializes operators running the command at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from stellar_sdk import (
    AccountMerge,
    Asset,
    BeginSponsoringFutureReserves,
    CreateAccount,
    EndSponsoringFutureReserves,
    Keypair,
    Payment,
    RevokeSponsorship,
)

from tss import horizon, keys
from tss.accounts import run_transaction
from tss.errors import HorizonError, TransactionFailed, TSSError
from tss.models import ChannelAccount

logger = logging.getLogger(__name__)

BATCH = 19  # + the host = 20 signatures, Stellar's limit per transaction
MAX_CHANNELS = 1000
_LOCK_ID = 0x7355_0001  # advisory lock id of channel-account maintenance
# A lease no ledger reaches: keeps the engine away from an account being deleted.
DELETING = 2**62


@contextmanager
def maintenance_lock() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_ID])
        try:
            yield
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_ID])


def create(count: int) -> list[str]:
    """Create ``count`` channel accounts; returns their public keys."""
    if count < 1:
        return []
    with maintenance_lock():
        return _create(count)


def _create(count: int) -> list[str]:
    host = keys.host_keypair()
    created: list[str] = []
    for start in range(0, count, BATCH):
        batch = [Keypair.random() for _ in range(min(BATCH, count - start))]
        # Stored first: a crash after the network created them keeps the keys.
        ChannelAccount.objects.bulk_create(
            [
                ChannelAccount(
                    public_key=keypair.public_key,
                    encrypted_secret=keys.encrypt_channel_secret(keypair),
                    locked_until_ledger_number=DELETING,
                )
                for keypair in batch
            ]
        )
        ops = []
        for keypair in batch:
            ops += [
                BeginSponsoringFutureReserves(sponsored_id=keypair.public_key),
                CreateAccount(destination=keypair.public_key, starting_balance="0"),
                EndSponsoringFutureReserves(source=keypair.public_key),
            ]
        public_keys = [keypair.public_key for keypair in batch]
        try:
            record = run_transaction(host, ops, signers=batch)
        except TransactionFailed:
            ChannelAccount.objects.filter(pk__in=public_keys).delete()
            raise
        # An account created in ledger L starts at sequence number L << 32 (the
        # protocol's rule): known now, the engine need not load it first.
        ledger = record.get("ledger")
        ChannelAccount.objects.filter(pk__in=public_keys).update(
            locked_until_ledger_number=None,
            sequence=int(ledger) << 32 if ledger else None,
        )
        created += public_keys
        logger.info("created %d channel accounts", len(created))
    return created


def delete(public_keys: list[str] | None = None) -> list[str]:
    """Delete the given channel accounts (all when None) that are not leased;
    returns the keys deleted."""
    with maintenance_lock():
        return _delete(public_keys)


def _claim_for_deletion(
    public_keys: list[str] | None, limit: int | None
) -> list[ChannelAccount]:
    with transaction.atomic():
        query = ChannelAccount.objects.select_for_update(skip_locked=True).filter(
            locked_until_ledger_number__isnull=True
        )
        if public_keys is not None:
            query = query.filter(pk__in=public_keys)
        rows = list(query.order_by("created_at")[:limit] if limit else query)
        ChannelAccount.objects.filter(pk__in=[r.pk for r in rows]).update(
            locked_until_ledger_number=DELETING
        )
    return rows


def _delete(public_keys: list[str] | None, limit: int | None = None) -> list[str]:
    host = keys.host_keypair()
    rows = _claim_for_deletion(public_keys, limit)
    deleted: list[str] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        ops, signers = [], []
        for row in batch:
            if horizon.account(row.public_key) is None:
                continue  # never created or already merged: only the row remains
            ops += [
                Payment(destination=row.public_key, asset=Asset.native(), amount="1"),
                RevokeSponsorship.revoke_account_sponsorship(row.public_key),
                AccountMerge(destination=host.public_key, source=row.public_key),
            ]
            signers.append(keys.channel_keypair(row.public_key, row.encrypted_secret))
        try:
            if ops:
                run_transaction(host, ops, signers=signers)
        except (TransactionFailed, HorizonError):
            ChannelAccount.objects.filter(pk__in=[r.pk for r in batch]).update(
                locked_until_ledger_number=None
            )
            raise
        keys_done = [row.public_key for row in batch]
        ChannelAccount.objects.filter(pk__in=keys_done).delete()
        deleted += keys_done
    return deleted


def ensure(count: int) -> tuple[int, int]:
    """Create or delete accounts to have exactly ``count``; (created, deleted)."""
    if not 1 <= count <= MAX_CHANNELS:
        raise TSSError(f"the number of channel accounts must be 1 to {MAX_CHANNELS}")
    with maintenance_lock():
        have = ChannelAccount.objects.count()
        if have < count:
            return len(_create(count - have)), 0
        if have > count:
            return 0, len(_delete(None, limit=have - count))
        return 0, 0


def verify(*, delete_invalid: bool = False) -> list[str]:
    """Channel accounts missing on the network (or whose key does not decrypt);
    with ``delete_invalid`` their rows are removed."""
    with maintenance_lock():
        invalid = []
        for row in ChannelAccount.objects.exclude(locked_until_ledger_number=DELETING):
            try:
                keys.channel_keypair(row.public_key, row.encrypted_secret)
            except Exception:
                invalid.append(row.public_key)
                continue
            if horizon.account(row.public_key) is None:
                invalid.append(row.public_key)
        if delete_invalid and invalid:
            ChannelAccount.objects.filter(
                pk__in=invalid, locked_until_ledger_number__isnull=True
            ).delete()
        return invalid
