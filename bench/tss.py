"""Benchmark of the TSS: a disbursement of N payments, end to end, through a
real Celery worker and a localnet.

    python -m bench.tss [--payments 10000] [--channels C] [--ledger-close S]
                        [--max-ops-per-ledger N] [--contract-share 0.5]

With ``--contract-share``, that share of the payments goes to contract
addresses (C...), paid through Stellar RPC with the native asset contract's
transfer; those ride the ledger's Soroban lane, bounded by its resource limits
(the figures say how much of each limit the run used, and the RPC calls per
contract payment).

Set-up (receiver accounts on the ledger, channel accounts, the tenant) runs on
fast ledgers and is not timed; then the localnet takes the ledger shape asked
for, the disbursement's payments are handed off as its start does, and the clock
runs until every payment is final. The last line is key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=600)
    parser.add_argument("--ledger-close", type=float, default=5.0)
    parser.add_argument("--max-ops-per-ledger", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="the tenant has a webhook endpoint: every payment's events are "
        "written in the TSS's transactions (bench.webhooks times their delivery)",
    )
    parser.add_argument("--contract-share", type=float, default=0.0)
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    os.environ["CELERY_KEY_PREFIX"] = prefix
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")

    from localnet.testing import start_localnet

    net = start_localnet(ledger_close=0.1, max_ops_per_ledger=100_000)
    os.environ["HORIZON_URL"] = net.url
    import django

    django.setup()
    try:
        run(args, net, prefix)
    finally:
        net.stop()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup_network(args, net):
    """Not timed: migrations, the host's lumens, ``args.channels`` channel
    accounts, a tenant with its funded distribution account, one funded account
    per classic payment (``destinations``), ``args.contract_share`` of the
    payments to new contract addresses (``contracts``), an XLM asset and a
    wallet."""
    from django.core.management import call_command
    from stellar_sdk import CreateAccount, Keypair, StrKey

    from auth_org.models import Asset, Organization, Wallet
    from tss import accounts, channels, keys
    from tss.models import ChannelAccount

    call_command("migrate", verbosity=0)
    host = keys.host_keypair()
    net.friendbot(host.public_key)
    # The host needs lumens: 1 XLM per receiver account and the payments' sum
    # for the distribution account (a friendbot grant is 10,000 XLM).
    for _ in range(3 + 2 * args.payments // 10_000):
        funder = Keypair.random()
        net.friendbot(funder.public_key)
        from stellar_sdk import AccountMerge

        accounts.run_transaction(
            funder, [AccountMerge(destination=host.public_key)], signers=[funder]
        )
    ChannelAccount.objects.all().delete()  # rows of an earlier localnet
    t = time.monotonic()
    channels.create(args.channels)
    _log(f"{args.channels} channel accounts in {time.monotonic() - t:.1f}s")
    name = "bench-" + "".join(c for c in uuid.uuid4().hex if c.isalpha())[:8]
    org = Organization.objects.create(name=name, display_name=name)
    accounts.create_distribution_account(org.id)
    distribution = accounts.distribution_account_for(org.id)
    accounts.run_transaction(
        host,
        [
            __import__("stellar_sdk").Payment(
                destination=distribution,
                asset=__import__("stellar_sdk").Asset.native(),
                amount=str(args.payments + 100),
            )
        ],
    )
    t = time.monotonic()
    contract_count = round(args.payments * getattr(args, "contract_share", 0.0))
    destinations = [
        Keypair.random().public_key for _ in range(args.payments - contract_count)
    ]
    contracts = [StrKey.encode_contract(os.urandom(32)) for _ in range(contract_count)]
    if contracts:
        _deploy_native_sac(net, host)
    batches = [destinations[i : i + 100] for i in range(0, len(destinations), 100)]
    for batch in batches:
        accounts.run_transaction(
            host, [CreateAccount(destination=d, starting_balance="1") for d in batch]
        )
    _log(f"{len(destinations)} receiver accounts in {time.monotonic() - t:.1f}s")
    asset = Asset.objects.create(organization=org, code="XLM", issuer="")
    wallet = Wallet.objects.create(
        organization=org,
        name="Bench wallet",
        homepage="https://bench.example.org",
        deep_link_schema="bench://sdp",
        sep_10_client_domain="bench.example.org",
    )
    return org, asset, wallet, destinations, contracts, distribution


def setup_disbursement(args, net):
    org, asset, wallet, destinations, contracts, distribution = setup_network(args, net)
    disbursement, _ = started_disbursement(org, asset, wallet, destinations + contracts)
    return org, disbursement, destinations, contracts, distribution


def started_disbursement(org, asset, wallet, addresses: list[str]):
    """A STARTED disbursement paying 0.5 of ``asset`` to one registered receiver
    per address (the same address may repeat): (disbursement, its READY
    payments)."""
    from disbursements.models import Disbursement, Payment, RegistrationContactType
    from receivers.models import Receiver, ReceiverWallet

    disbursement = Disbursement.objects.create(
        organization=org,
        name="bench",
        asset=asset,
        wallet=wallet,
        status=Disbursement.Status.STARTED,
        registration_contact_type=(
            RegistrationContactType.PHONE_NUMBER_AND_WALLET_ADDRESS
        ),
    )
    receivers = Receiver.objects.bulk_create(
        [
            Receiver(
                organization=org, external_id=f"r{i}", phone_number=f"+1555{i:07d}"
            )
            for i in range(len(addresses))
        ],
        batch_size=2000,
    )
    wallets = ReceiverWallet.objects.bulk_create(
        [
            ReceiverWallet(
                organization=org,
                receiver=receiver,
                wallet=wallet,
                status=ReceiverWallet.Status.REGISTERED,
                stellar_address=address,
            )
            for receiver, address in zip(receivers, addresses, strict=True)
        ],
        batch_size=2000,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(
                organization=org,
                disbursement=disbursement,
                receiver=receiver_wallet.receiver,
                receiver_wallet=receiver_wallet,
                asset=asset,
                amount=Decimal("0.5"),
                status=Payment.Status.READY,
            )
            for receiver_wallet in wallets
        ],
        batch_size=2000,
    )
    return disbursement, payments


def _deploy_native_sac(net, host) -> None:
    """The native asset's contract, deployed before the clock runs."""
    from stellar_sdk import Asset as SdkAsset
    from stellar_sdk import TransactionBuilder

    rpc = net.soroban_server()
    tx = rpc.prepare_transaction(
        TransactionBuilder(rpc.load_account(host.public_key), net.passphrase)
        .set_timeout(60)
        .append_create_stellar_asset_contract_from_asset_op(SdkAsset.native())
        .build()
    )
    tx.sign(host)
    sent = rpc.send_transaction(tx)
    for _ in range(100):
        if rpc.get_transaction(sent.hash).status.value != "NOT_FOUND":
            return
        time.sleep(0.1)


def _contract_counts(net, contracts: list[str]) -> list[int]:
    """Payments (of 0.5 XLM) each contract received, read through RPC's
    getLedgerEntries, 200 balances a call."""
    from stellar_sdk import Address, scval
    from stellar_sdk import Asset as SdkAsset
    from stellar_sdk import xdr as X

    rpc = net.soroban_server()
    sac = SdkAsset.native().contract_id(net.passphrase)
    amounts: dict[str, int] = {}
    for start in range(0, len(contracts), 200):
        batch = contracts[start : start + 200]
        keys = [
            X.LedgerKey(
                X.LedgerEntryType.CONTRACT_DATA,
                contract_data=X.LedgerKeyContractData(
                    contract=Address(sac).to_xdr_sc_address(),
                    key=scval.to_vec([scval.to_symbol("Balance"), scval.to_address(c)]),
                    durability=X.ContractDataDurability.PERSISTENT,
                ),
            )
            for c in batch
        ]
        for entry in rpc.get_ledger_entries(keys).entries or []:
            data = X.LedgerEntryData.from_xdr(entry.xdr).contract_data
            holder = scval.from_address(scval.from_vec(data.key)[1]).address
            fields = {
                scval.from_symbol(k): v for k, v in scval.from_map(data.val).items()
            }
            amounts[holder] = scval.from_int128(fields["amount"])
    return [amounts.get(c, 0) // 5_000_000 for c in contracts]


def start_worker(net, prefix: str, metrics_port: int) -> subprocess.Popen:
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        HORIZON_URL=net.url,
        NETWORK_PASSPHRASE=net.passphrase,
        CELERY_KEY_PREFIX=prefix,
        TSS_WORKER_METRICS_PORT=str(metrics_port),
        DATABASE_NAME=settings.DATABASES["default"]["NAME"],
        LOG_LEVEL="WARNING",
    )
    log = open(ROOT / ".sdp" / "bench-tss-worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sdp",
            "worker",
            "-Q",
            "tss",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("worker did not start; see .sdp/bench-tss-worker.log")


def _metric(text: str, name: str) -> float:
    """The sum of a counter's samples (``name`` may include label text, e.g.
    ``x_total{endpoint="ledgers"``)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _native_balance(distribution: str) -> Decimal:
    from tss import horizon

    record = horizon.account(distribution) or {}
    for balance in record.get("balances", []):
        if balance.get("asset_type") == "native":
            return Decimal(balance["balance"])
    return Decimal(0)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _events_of(tenant_id) -> int:
    from webhooks.models import Event

    return Event.objects.filter(tenant_id=tenant_id).count()


def _setting(name: str, default: int) -> int:
    from django.conf import settings

    return getattr(settings, name, default)


def run(args, net, prefix: str) -> None:
    import requests
    from django.db.models import Count

    from disbursements.handoff import hand_off_payments
    from disbursements.models import Payment
    from tests.tss.conftest import payments_on_ledger
    from tss.models import SubmitterTransaction

    org, disbursement, destinations, contracts, distribution = setup_disbursement(
        args, net
    )
    if args.webhooks:
        from webhooks.services import create_endpoint

        create_endpoint(tenant_id=org.id, url="http://127.0.0.1:9/not-delivered")
    port = 9400 + os.getpid() % 500
    worker = start_worker(net, prefix, port)
    try:
        net.configure(
            ledger_close=args.ledger_close, max_ops_per_ledger=args.max_ops_per_ledger
        )
        time.sleep(args.ledger_close * 2)
        balance_before = _native_balance(distribution)
        first_ledger = net.latest_ledger()
        started = time.monotonic()
        handed = hand_off_payments(Payment.objects.filter(disbursement=disbursement))
        _log(f"handed off {handed} in {time.monotonic() - started:.2f}s")
        deadline = started + args.timeout
        pending = handed
        while time.monotonic() < deadline:
            pending = Payment.objects.filter(
                disbursement=disbursement, status=Payment.Status.PENDING
            ).count()
            if not pending:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        metrics_text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        peak = _peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(30)
    rows = SubmitterTransaction.objects.filter(tenant_id=org.id)
    latencies = sorted(
        (row.completed_at - row.created_at).total_seconds()
        for row in rows.filter(status="SUCCESS").only("completed_at", "created_at")
    )
    statuses = dict(
        Payment.objects.filter(disbursement=disbursement)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    with ThreadPoolExecutor(16) as pool:
        counts = list(
            pool.map(
                lambda d: len(payments_on_ledger(net, d, distribution)), destinations
            )
        )
    counts += _contract_counts(net, contracts)
    usage = net.request("GET", "/_localnet/soroban_usage")[1]
    ledgers = [
        item["usage"] for item in usage["ledgers"] if item["sequence"] > first_ledger
    ]
    shares = {
        f"share_{name}": round(
            sum(u.get(name, 0) for u in ledgers) / (limit * len(ledgers)), 3
        )
        if ledgers
        else 0
        for name, limit in usage["limits"].items()
    }
    contract_rows = rows.filter(destination__startswith="C")
    contract_success = contract_rows.filter(status="SUCCESS").count()
    success = statuses.get("SUCCESS", 0)
    # Fees: what left the distribution account beyond the payments' amounts.
    paid = sum(
        (row.amount for row in rows.filter(status="SUCCESS").only("amount")),
        Decimal(0),
    )
    fees = balance_before - _native_balance(distribution) - paid
    envelopes = (
        rows.exclude(stellar_transaction_hash=None)
        .values("stellar_transaction_hash")
        .distinct()
        .count()
    )
    ops_per_payment = (success + envelopes) / success if success else 0.0
    calls_by = {
        endpoint: _metric(
            metrics_text,
            f'tss_horizon_client_request_count_total{{endpoint="{endpoint}"',
        )
        for endpoint in ("accounts", "transactions", "transactions_async", "ledgers")
    }
    send_confirm = (
        calls_by["transactions"] + calls_by["transactions_async"] + calls_by["ledgers"]
    )
    per_s = success / elapsed if elapsed else 0.0
    capacity = args.max_ops_per_ledger / 2 / args.ledger_close
    ops_capacity = args.max_ops_per_ledger / args.ledger_close
    calls = _metric(metrics_text, "tss_horizon_client_request_count_total")
    figures = {
        "payments": args.payments,
        "succeeded": success,
        "pending_left": pending,
        "elapsed_s": round(elapsed, 1),
        "payments_per_s": round(per_s, 1),
        "ledger_capacity_ratio": round(per_s / capacity, 3),
        "p50_confirm_s": round(statistics.median(latencies), 2) if latencies else -1,
        "p99_confirm_s": round(latencies[int(len(latencies) * 0.99) - 1], 2)
        if latencies
        else -1,
        "horizon_calls_per_payment": round(calls / max(1, args.payments), 3),
        "horizon_send_confirm_per_payment": round(
            send_confirm / max(1, args.payments), 3
        ),
        "horizon_account_reads_per_payment": round(
            calls_by["accounts"] / max(1, args.payments), 3
        ),
        "ops_per_payment": round(ops_per_payment, 3),
        "ledger_ops_used_ratio": round(per_s * ops_per_payment / ops_capacity, 3),
        "fee_per_payment_stroops": round(fees * 10_000_000 / max(1, success)),
        "max_payments_per_tx": _setting("TSS_MAX_PAYMENTS_PER_TX", 1),
        "contract_payments": len(contracts),
        "contract_succeeded": contract_success,
        "contract_payments_per_s": round(contract_success / elapsed, 1)
        if elapsed
        else 0.0,
        "rpc_calls_per_contract_payment": round(
            _metric(metrics_text, "tss_rpc_client_request_count_total")
            / max(1, len(contracts)),
            2,
        ),
        "soroban_ledgers": len(ledgers),
        **shares,
        "bad_seq": int(_metric(metrics_text, "tss_bad_seq_count_total")),
        "double_payments": sum(1 for c in counts if c > 1),
        "lost_payments": sum(1 for c in counts if c == 0),
        "peak_rss_mb": round(peak, 1),
        "channels": args.channels,
        "ledger_close": args.ledger_close,
        "max_ops_per_ledger": args.max_ops_per_ledger,
        "webhook_events": _events_of(org.id),
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
