"""Distribution accounts and their trustlines: the TSS's entry points for tenant
provisioning and the dashboard. Tenants are known by id only.

Operator actions submit one transaction at a time and wait for it (they are
rare); payments go through the engine instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from stellar_sdk import Account, Asset, Keypair, TransactionBuilder
from stellar_sdk.operation import Operation

from tss import horizon, keys
from tss.errors import TransactionFailed, TrustlineNotEmpty
from tss.models import DistributionAccount

logger = logging.getLogger(__name__)

LEDGER_BOUND = 60  # ledgers an operator transaction may take to land (fast nets)


def run_transaction(
    source: Keypair,
    operations: Iterable[Operation],
    *,
    signers: Iterable[Keypair] = (),
    memo_text: str | None = None,
) -> dict:
    """Build, sign and submit one transaction from ``source``; wait for it.

    Raises TransactionFailed with a readable reason, HorizonError when Horizon
    cannot be reached."""
    record = horizon.account(source.public_key)
    if record is None:
        raise TransactionFailed(f"account {source.public_key} does not exist")
    state = horizon.ledger_state(max_age=0)
    max_ledger = state.core + LEDGER_BOUND
    builder = TransactionBuilder(
        Account(source.public_key, int(record["sequence"])),
        network_passphrase=settings.NETWORK_PASSPHRASE,
        base_fee=settings.MAX_BASE_FEE,
    )
    # The ledger bound is what makes an envelope expire; a time bound would
    # also depend on the network's clock agreeing with ours.
    builder.add_time_bounds(0, 0)
    builder.set_ledger_bounds(0, max_ledger)
    for operation in operations:
        builder.append_operation(operation)
    if memo_text:
        builder.add_text_memo(memo_text)
    envelope = builder.build()
    envelope.sign(source)
    for signer in signers:
        if signer.public_key != source.public_key:
            envelope.sign(signer)
    try:
        return horizon.submit_and_wait(
            envelope.to_xdr(), envelope.hash_hex(), max_ledger
        )
    except TransactionFailed as exc:
        from tss.results import describe_result_xdr

        raise TransactionFailed(
            describe_result_xdr(exc.result_codes.get("result_xdr", "")),
            result_codes=exc.result_codes,
        ) from exc


def distribution_account_for(tenant_id) -> str:
    """The public key the tenant pays from: its own account, or the host
    account when it has none (SDP's ENV distribution account type)."""
    row = keys.live_distribution_account(tenant_id)
    return row.public_key if row else keys.host_keypair().public_key


def create_distribution_account(tenant_id, *, use_host: bool = False) -> str:
    """Create and fund the tenant's own distribution account (SDP's DB vault
    type), or with ``use_host`` answer the host account (ENV type).

    Idempotent: a tenant that has an account keeps it (funded now if an earlier
    call stored the key but could not fund it). The key is stored, encrypted,
    before the account is created on the network, so a crash can never lose the
    key of a funded account. Returns the public key."""
    if use_host:
        return keys.host_keypair().public_key
    row = keys.live_distribution_account(tenant_id)
    if row is None:
        keypair = Keypair.random()
        try:
            with transaction.atomic():
                row = DistributionAccount.objects.create(
                    public_key=keypair.public_key,
                    tenant_id=tenant_id,
                    encrypted_secret=keys.encrypt_distribution_secret(keypair),
                )
        except IntegrityError:
            row = keys.live_distribution_account(tenant_id)
    if horizon.account(row.public_key) is None:
        _fund(row.public_key, settings.TENANT_XLM_BOOTSTRAP_AMOUNT)
        logger.info("funded distribution account %s", row.public_key)
    return row.public_key


def _fund(public_key: str, amount: Decimal) -> None:
    from stellar_sdk import CreateAccount

    run_transaction(
        keys.host_keypair(),
        [CreateAccount(destination=public_key, starting_balance=f"{amount:.7f}")],
    )


def _asset(asset_code: str, asset_issuer: str) -> Asset:
    if asset_code.upper() in ("XLM", "NATIVE") and not asset_issuer:
        return Asset.native()
    return Asset(asset_code, asset_issuer)


def balances(tenant_id) -> dict[tuple[str, str], Decimal]:
    """The distribution account's balances on the network, keyed by
    (asset code, issuer); XLM is ("XLM", "")."""
    record = horizon.account(distribution_account_for(tenant_id))
    if record is None:
        return {}
    return _balances(record)


def _balances(record: dict) -> dict[tuple[str, str], Decimal]:
    result: dict[tuple[str, str], Decimal] = {}
    for line in record.get("balances", []):
        if line["asset_type"] == "native":
            key = ("XLM", "")
        else:
            key = (line["asset_code"], line["asset_issuer"])
        result[key] = Decimal(line["balance"])
    return result


def ensure_trustline(tenant_id, asset_code: str, asset_issuer: str) -> bool:
    """Make the tenant's distribution account trust the asset; True if a
    trustline was added. XLM needs none."""
    from stellar_sdk import ChangeTrust

    asset = _asset(asset_code, asset_issuer)
    if asset.is_native():
        return False
    keypair = keys.distribution_keypair(tenant_id)
    record = horizon.account(keypair.public_key)
    if record is not None and (asset_code, asset_issuer) in _balances(record):
        return False
    run_transaction(keypair, [ChangeTrust(asset=asset)])
    return True


def remove_trustline(tenant_id, asset_code: str, asset_issuer: str) -> bool:
    """Remove the trustline; True if one was removed.

    Raises TrustlineNotEmpty while the account still holds the asset."""
    from stellar_sdk import ChangeTrust

    asset = _asset(asset_code, asset_issuer)
    if asset.is_native():
        return False
    keypair = keys.distribution_keypair(tenant_id)
    record = horizon.account(keypair.public_key)
    held = _balances(record) if record else {}
    if (asset_code, asset_issuer) not in held:
        return False
    if held[(asset_code, asset_issuer)] > 0:
        raise TrustlineNotEmpty(
            f"the distribution account still holds {held[(asset_code, asset_issuer)]}"
            f" {asset_code}; send it elsewhere before removing the asset"
        )
    run_transaction(keypair, [ChangeTrust(asset=asset, limit="0")])
    return True


def rotate_distribution_account(tenant_id) -> str:
    """Give the tenant a new distribution account: create it (funded by the old
    one), move every trustline and balance over, merge the old account into it.

    One transaction signed by both keys, so the move is all or nothing. Refuses
    while payments are in flight from the old account."""
    from stellar_sdk import AccountMerge, ChangeTrust, CreateAccount, Payment

    from tss.errors import TSSError
    from tss.models import SubmitterTransaction

    old_row = keys.live_distribution_account(tenant_id)
    if old_row is None:
        raise TSSError(f"tenant {tenant_id} has no distribution account of its own")
    if SubmitterTransaction.objects.filter(
        tenant_id=tenant_id, status__in=["PENDING", "PROCESSING"]
    ).exists():
        raise TSSError("payments are in flight; rotate once they are final")
    old = keys.distribution_keypair(tenant_id)
    new = Keypair.random()
    record = horizon.account(old.public_key)
    held = _balances(record)
    ops: list[Operation] = [
        CreateAccount(destination=new.public_key, starting_balance="2")
    ]
    for (code, issuer), amount in held.items():
        if code == "XLM":
            continue
        ops.append(ChangeTrust(asset=_asset(code, issuer), source=new.public_key))
        if amount > 0:
            ops.append(
                Payment(
                    destination=new.public_key,
                    asset=_asset(code, issuer),
                    amount=f"{amount:.7f}",
                )
            )
        ops.append(ChangeTrust(asset=_asset(code, issuer), limit="0"))
    ops.append(AccountMerge(destination=new.public_key))
    with transaction.atomic():
        DistributionAccount.objects.filter(pk=old_row.pk).update(
            retired_at=timezone.now()
        )
        DistributionAccount.objects.create(
            public_key=new.public_key,
            tenant_id=tenant_id,
            encrypted_secret=keys.encrypt_distribution_secret(new),
        )
    try:
        run_transaction(old, ops, signers=[new])
    except TransactionFailed:
        # Refused or failed on the ledger: nothing moved; the old key stays live.
        with transaction.atomic():
            DistributionAccount.objects.filter(pk=new.public_key).delete()
            DistributionAccount.objects.filter(pk=old_row.pk).update(retired_at=None)
        raise
    return new.public_key
