"""Pre-flight benchmark: GET /disbursements/{id}/preflight's work for a READY
disbursement of N payments (default 10,000) against a localnet.

    DATABASE_URL=... REDIS_URL=... python -m bench.preflight [--payments 10000]

Set-up (not timed): a tenant whose distribution account holds XLM, N receivers,
of whom 5% are not registered (they wait for an invitation), 5% registered with
an account that does not exist (they fail) and the rest registered with an
account on the ledger (they are paid), and a duplicate of an earlier payment
every 100 receivers. Then four timings of ``preflight``:

- ``cold_s``: nothing cached (every destination asked of the localnet's RPC,
  ``getLedgerEntries``, 200 keys a request);
- ``accounts_cached_s``: the answer recomputed (a payment changed) while the
  destinations seen in the last minute are still cached;
- ``cached_s``: nothing changed, the stored answer;
- ``cold_horizon_s``: nothing cached and RPC not configured (the fallback: one
  Horizon ``/accounts`` request per destination), the same answer.

The last line is key=value pairs. Every row it creates is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from decimal import Decimal


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
    from localnet.testing import start_localnet

    net = start_localnet(ledger_close=0.1, max_ops_per_ledger=100_000)
    os.environ["HORIZON_URL"] = net.url
    import django

    django.setup()
    try:
        run(args, net)
    finally:
        net.stop()


def setup(args, net):
    from django.core.management import call_command
    from stellar_sdk import AccountMerge, CreateAccount, Keypair
    from stellar_sdk import Asset as StellarAsset
    from stellar_sdk import Payment as StellarPayment

    from auth_org.models import Asset, Organization, Wallet
    from disbursements.models import Disbursement, Payment, RegistrationContactType
    from receivers.models import Receiver, ReceiverWallet
    from tss import accounts, keys

    call_command("migrate", verbosity=0)
    host = keys.host_keypair()
    net.friendbot(host.public_key)
    for _ in range(3):  # the host needs lumens for 10,000 receivers
        funder = Keypair.random()
        net.friendbot(funder.public_key)
        accounts.run_transaction(
            funder, [AccountMerge(destination=host.public_key)], signers=[funder]
        )
    name = "bench-" + "".join(c for c in uuid.uuid4().hex if c.isalpha())[:8]
    org = Organization.objects.create(name=name, display_name=name)
    accounts.create_distribution_account(org.id)
    accounts.run_transaction(
        host,
        [
            StellarPayment(
                destination=accounts.distribution_account_for(org.id),
                asset=StellarAsset.native(),
                amount=str(args.payments * 2),
            )
        ],
    )
    n = args.payments
    unregistered, missing = n // 20, n // 20
    existing = n - unregistered - missing
    t = time.monotonic()
    addresses = [Keypair.random().public_key for _ in range(existing + missing)]
    created = addresses[:existing]
    for start in range(0, len(created), 100):
        accounts.run_transaction(
            host,
            [
                CreateAccount(destination=d, starting_balance="1")
                for d in created[start : start + 100]
            ],
        )
    _log(f"{existing} receiver accounts in {time.monotonic() - t:.1f}s")
    asset = Asset.objects.create(organization=org, code="XLM", issuer="")
    wallet = Wallet.objects.create(
        organization=org,
        name="Bench wallet",
        homepage="https://bench.example.org",
        deep_link_schema="bench://sdp",
    )
    wallet.assets.add(asset)
    receivers = Receiver.objects.bulk_create(
        [
            Receiver(
                organization=org, external_id=f"r{i}", phone_number=f"+1555{i:07d}"
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    wallets = ReceiverWallet.objects.bulk_create(
        [
            ReceiverWallet(
                organization=org,
                receiver=receiver,
                wallet=wallet,
                status=(
                    ReceiverWallet.Status.REGISTERED
                    if i < len(addresses)
                    else ReceiverWallet.Status.DRAFT
                ),
                stellar_address=addresses[i] if i < len(addresses) else None,
            )
            for i, receiver in enumerate(receivers)
        ],
        batch_size=2000,
    )
    earlier = Disbursement.objects.create(
        organization=org,
        name="earlier",
        asset=asset,
        wallet=wallet,
        status=Disbursement.Status.COMPLETED,
        registration_contact_type=RegistrationContactType.PHONE_NUMBER,
    )
    Payment.objects.bulk_create(
        [
            Payment(
                organization=org,
                disbursement=earlier,
                receiver=rw.receiver,
                receiver_wallet=rw,
                asset=asset,
                amount=Decimal("1.5"),
                status=Payment.Status.SUCCESS,
            )
            for rw in wallets[::100]
        ]
    )
    disbursement = Disbursement.objects.create(
        organization=org,
        name="bench",
        asset=asset,
        wallet=wallet,
        status=Disbursement.Status.READY,
        registration_contact_type=RegistrationContactType.PHONE_NUMBER,
    )
    Payment.objects.bulk_create(
        [
            Payment(
                organization=org,
                disbursement=disbursement,
                receiver=rw.receiver,
                receiver_wallet=rw,
                asset=asset,
                amount=Decimal("1.5"),
            )
            for rw in wallets
        ],
        batch_size=2000,
    )
    return org, disbursement, (existing, missing, unregistered)


def cleanup(org) -> None:
    """The bench's rows go (``sdp.purge``: the money guards let a whole test
    organization be removed in this transaction)."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL sdp.purge = 'on'")
        _delete(org)


def _delete(org) -> None:
    from auth_org.models import Asset, Organization, Wallet
    from disbursements.models import Disbursement, Payment
    from receivers.models import Receiver, ReceiverWallet

    Payment.objects.filter(organization=org).delete()
    Disbursement.objects.filter(organization=org).delete()
    ReceiverWallet.objects.filter(organization=org).delete()
    Receiver.objects.filter(organization=org).delete()
    Wallet.objects.filter(organization=org).delete()
    Asset.objects.filter(organization=org).delete()
    Organization.objects.filter(pk=org.pk).delete()


def run(args, net) -> None:
    from django.core.cache import cache
    from django.test import override_settings

    from disbursements.models import Payment
    from disbursements.preflight import preflight

    org, disbursement, (existing, missing, unregistered) = setup(args, net)
    try:
        cache.clear()
        t = time.perf_counter()
        cold = preflight(disbursement)
        cold_s = time.perf_counter() - t
        assert not cold["cached"]
        assert cold["payments"]["ready"]["count"] == existing, cold["payments"]
        assert cold["payments"]["failing"]["count"] == missing
        assert cold["payments"]["waiting"]["count"] == unregistered

        first = Payment.objects.filter(disbursement=disbursement).first()
        Payment.objects.filter(pk=first.pk).update(amount=Decimal("1.6"))
        t = time.perf_counter()
        warm = preflight(disbursement)
        warm_s = time.perf_counter() - t
        assert not warm["cached"]

        t = time.perf_counter()
        again = preflight(disbursement)
        cached_s = time.perf_counter() - t
        assert again["cached"]

        # The fallback: the same cold pre-flight with RPC not configured.
        cache.clear()
        with override_settings(RPC_URL=""):
            t = time.perf_counter()
            by_horizon = preflight(disbursement)
            horizon_s = time.perf_counter() - t
        assert by_horizon["payments"] == warm["payments"]
        assert by_horizon["reasons"] == warm["reasons"]
        load = os.getloadavg()[0]
        print(
            f"payments={args.payments} ready={existing} failing={missing} "
            f"waiting={unregistered} duplicates={len(cold['duplicates'])} "
            f"cold_s={cold_s:.2f} cold_horizon_s={horizon_s:.2f} "
            f"accounts_cached_s={warm_s:.2f} "
            f"cached_s={cached_s:.3f} "
            f"seconds_to_pay={cold['forecast'].get('seconds_to_pay')} "
            f"fees_xlm={cold['forecast']['network_fees']['total_xlm']} "
            f"load1={load:.2f}"
        )
    finally:
        cleanup(org)


if __name__ == "__main__":
    main()
