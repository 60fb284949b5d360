"""Benchmark of the localnet: transactions accepted and applied per second.

    python -m bench.localnet [--txs 3000] [--rounds 2] [--threads 8]

Starts `python -m localnet` (ledgers closed by hand), creates one channel
account per transaction, then per round: submits fee-bumped payments shaped
like the TSS's (channel account as source, distribution account paying as
operation source, ledger bound, memo, fee bump) to POST /transactions_async
from several client threads, and closes one ledger holding them all.

- accepted/s: submissions answered PENDING per second of wall time (HTTP,
  XDR decoding, hashing, three signature checks, validation, queueing);
- applied/s: transactions applied per second of the server's ledger-close
  time (fees, re-validation, operations, result XDR, history indexes);
- peak memory: the server process's peak resident set (VmHWM).

The client runs on the same 2-core machine and competes for CPU. The last
line is key=value pairs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlencode, urlsplit

from stellar_sdk import Account as SdkAccount
from stellar_sdk import Asset, Keypair, TransactionBuilder

from localnet.testing import start_localnet


def _post(conn: http.client.HTTPConnection, path: str, body: dict) -> tuple[int, dict]:
    data = urlencode(body)
    conn.request(
        "POST", path, data, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def _submit_and_close(net, envelopes):
    root = net.root_keypair()
    for envelope in envelopes:
        envelope.sign(root)
    for envelope in envelopes:
        response = net.server().submit_transaction_async(envelope)
        assert response["tx_status"] == "PENDING", response
    net.close_ledger()


def _setup(net, count: int):
    """Distribution account, receivers and `count` channel accounts."""
    root = net.root_keypair()
    server = net.server()
    distribution = Keypair.random()
    receivers = [Keypair.random() for _ in range(10)]
    creators = [Keypair.random() for _ in range((count + 99) // 100)]
    b = TransactionBuilder(
        server.load_account(root.public_key), net.passphrase, base_fee=100
    ).set_timeout(600)
    b.append_create_account_op(distribution.public_key, "1000000")
    for keypair in receivers:
        b.append_create_account_op(keypair.public_key, "10")
    for keypair in creators:
        b.append_create_account_op(keypair.public_key, "1000")
    _submit_and_close(net, [b.build()])
    channels = [Keypair.random() for _ in range(count)]
    txs = []
    for index, creator in enumerate(creators):
        cb = TransactionBuilder(
            server.load_account(creator.public_key), net.passphrase, base_fee=100
        ).set_timeout(600)
        for channel in channels[index * 100 : (index + 1) * 100]:
            cb.append_create_account_op(channel.public_key, "2")
        tx = cb.build()
        tx.sign(creator)
        txs.append(tx)
    for tx in txs:
        assert server.submit_transaction_async(tx)["tx_status"] == "PENDING"
    net.close_ledger()
    sequences = {
        c.public_key: int(server.accounts().account_id(c.public_key).call()["sequence"])
        for c in channels[:1]
    }
    start_sequence = next(iter(sequences.values()))  # all created in one ledger
    return distribution, receivers, channels, start_sequence


def _payments(net, distribution, receivers, channels, sequence, max_ledger):
    envelopes = []
    for index, channel in enumerate(channels):
        inner = (
            TransactionBuilder(
                SdkAccount(channel.public_key, sequence), net.passphrase, base_fee=100
            )
            .append_payment_op(
                receivers[index % len(receivers)].public_key,
                Asset.native(),
                "0.0100000",
                source=distribution.public_key,
            )
            .add_text_memo(f"payment {index}")
            .set_timeout(600)
            .set_ledger_bounds(0, max_ledger)
            .build()
        )
        inner.sign(channel)
        inner.sign(distribution)
        fee_bump = TransactionBuilder.build_fee_bump_transaction(
            distribution.public_key, 1000, inner, net.passphrase
        )
        fee_bump.sign(distribution)
        envelopes.append(fee_bump.to_xdr())
    return envelopes


def _submit_all(url: str, envelopes: list[str], threads: int) -> tuple[float, int]:
    parts = urlsplit(url)
    accepted = [0] * threads

    def worker(slot: int):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        for envelope in envelopes[slot::threads]:
            status, body = _post(conn, "/transactions_async", {"tx": envelope})
            if status == 201:
                accepted[slot] += 1
            else:
                raise RuntimeError(f"submission answered {status}: {body}")
        conn.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - started, sum(accepted)


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.localnet")
    parser.add_argument(
        "--txs",
        type=int,
        default=3000,
        help="transactions per round (= channel accounts)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    options = parser.parse_args(argv)

    net = start_localnet(ledger_close=0, max_ops_per_ledger=10 * options.txs + 1000)
    try:
        print(f"localnet at {net.url}; setting up {options.txs} channel accounts")
        distribution, receivers, channels, sequence = _setup(net, options.txs)
        submit_seconds = apply_seconds = 0.0
        accepted = applied = 0
        for round_ in range(1, options.rounds + 1):
            envelopes = _payments(
                net,
                distribution,
                receivers,
                channels,
                sequence,
                net.latest_ledger() + 100,
            )
            sequence += 1  # the builder used sequence + 1
            seconds, count = _submit_all(net.url, envelopes, options.threads)
            before = net.stats()
            net.close_ledger()
            after = net.stats()
            round_applied = after["applied"] - before["applied"]
            round_apply = after["apply_seconds"] - before["apply_seconds"]
            print(
                f"round {round_}: {count} accepted in {seconds:.2f} s "
                f"({count / seconds:.0f}/s); {round_applied} applied in "
                f"{round_apply:.3f} s ({round_applied / round_apply:.0f}/s)"
            )
            submit_seconds += seconds
            apply_seconds += round_apply
            accepted += count
            applied += round_applied
        stats = net.stats()
        assert stats["total_native"] + stats["fee_pool"] == stats["total_coins"]
        failed = (
            net.server()
            .ledgers()
            .order(desc=True)
            .limit(1)
            .call()["_embedded"]["records"][0]["failed_transaction_count"]
        )
        peak = _peak_rss_mb(net.process.pid)
    finally:
        net.stop()
    accepted_tps = accepted / submit_seconds
    applied_tps = applied / apply_seconds
    print(
        f"accepted {accepted} transactions at {accepted_tps:.0f}/s, applied "
        f"{applied} at {applied_tps:.0f}/s (failed in last ledger: {failed}); "
        f"server peak memory {peak:.0f} MiB"
    )
    print(
        f"accepted_tps={accepted_tps:.0f} applied_tps={applied_tps:.0f} "
        f"transactions={applied} failed_last_ledger={failed} "
        f"peak_rss_mib={peak:.0f} target_applied_tps=1000 "
        f"meets_target={'yes' if applied_tps >= 1000 else 'no'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
