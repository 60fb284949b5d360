"""One disbursement end to end at scale, against a localnet, through the services
the API calls and a real Celery TSS worker.

    python -m bench.scale [--payments 1000000] [--channels C] [--ledger-close S]
                          [--max-ops-per-ledger N] [--timeout S]

Set-up (bench.tss.setup_network: channel accounts, the tenant's funded
distribution account, one funded receiver account per payment) runs on fast
ledgers and is not timed. Then the localnet takes the ledger shape asked for
(5 s ledgers of 1,000 operations by default) and the phases run:

- upload: a CSV of N rows (phone, id, amount, wallet address) written to a
  temporary file and uploaded from it (bench.csv's machinery): the receivers
  are created, their known addresses registered;
- start: approval rule, the balance read from the network, DRAFT -> READY;
- invitations: the receivers that need one (READY, not invited) are counted and
  their messages queued as the start does (dry run: no messaging worker runs);
- hand-off: the READY payments of registered receivers go to the TSS (the
  start's last step, timed with it; the count handed off is printed);
- payment: until no payment is PENDING (the TSS worker submits them);
- completion: until the disbursement is COMPLETED.

Each phase prints its figures (seconds, rows/s, CPU of this process and of its
PostgreSQL backend, peak RSS so far); the last line is key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid

from bench.tss import _log, _metric, _peak_rss_mb, setup_network, start_worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=600)
    parser.add_argument("--ledger-close", type=float, default=5.0)
    parser.add_argument("--max-ops-per-ledger", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=4 * 3600)
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


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Phase:
    """Wall seconds, CPU of this process and of its PostgreSQL backend, and the
    process's peak RSS at its end."""

    def __init__(self, name: str, rows: int, figures: dict):
        self.name, self.rows, self.figures = name, rows, figures

    def __enter__(self):
        from bench.csv import backend_cpu, process_cpu

        self.py, self.pg = process_cpu(), backend_cpu()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        from bench.csv import backend_cpu, process_cpu

        seconds = time.perf_counter() - self.start
        py = process_cpu() - self.py
        pg_end = backend_cpu()
        pg = pg_end - self.pg if pg_end is not None and self.pg is not None else -1
        name = self.name
        self.figures.update(
            {
                f"{name}_s": round(seconds, 2),
                f"{name}_per_s": round(self.rows / seconds, 1) if seconds else 0,
                f"{name}_py_cpu_s": round(py, 2),
                f"{name}_pg_cpu_s": round(pg, 2),
                f"{name}_peak_rss_mb": round(_rss_mb()),
            }
        )
        print(
            f"{name}: {self.rows} in {seconds:.2f} s "
            f"({self.rows / seconds if seconds else 0:,.1f}/s), CPU {py:.2f} s here, "
            f"{pg:.2f} s PostgreSQL, peak RSS {_rss_mb():.0f} MB, "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )


def write_csv(destinations: list[str], file) -> int:
    file.write(b"phone,id,amount,walletAddress\n")
    for n, destination in enumerate(destinations):
        phone = f"+1415{201 + n // 10000}{n % 10000:04d}"
        file.write(f"{phone},scale-{n},0.5,{destination}\n".encode())
    file.flush()
    size = file.tell()
    file.seek(0)
    return size


def _wait(condition, deadline: float, every: float = 0.5) -> bool:
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def run(args, net, prefix: str) -> None:
    import requests
    from django.conf import settings

    from disbursements.models import Disbursement, Payment, RegistrationContactType
    from disbursements.services import (
        create_disbursement,
        start_disbursement,
        upload_instructions,
    )
    from messaging.models import Message
    from receivers.models import ReceiverWallet

    n = args.payments
    org, asset, wallet, destinations, _, _ = setup_network(args, net)
    figures: dict = {"payments": n}
    disbursement = create_disbursement(
        org,
        actor=None,
        name="scale",
        wallet=wallet,
        asset=asset,
        registration_contact_type=(
            RegistrationContactType.PHONE_NUMBER_AND_WALLET_ADDRESS
        ),
        verification_field="",
    )
    port = 9400 + os.getpid() % 500
    worker = start_worker(net, prefix, port)
    try:
        net.configure(
            ledger_close=args.ledger_close, max_ops_per_ledger=args.max_ops_per_ledger
        )
        time.sleep(args.ledger_close * 2)
        with tempfile.TemporaryFile() as content:
            size = write_csv(destinations, content)
            del destinations
            settings.CSV_MAX_BYTES = max(settings.CSV_MAX_BYTES, size)
            with Phase("upload", n, figures):
                upload_instructions(
                    disbursement,
                    actor=None,
                    file_name="scale.csv",
                    content=content,
                    max_rows=max(n, settings.CSV_MAX_ROWS),
                )
        figures["file_mb"] = round(size / 1e6, 1)

        wallets = ReceiverWallet.objects.filter(
            pk__in=Payment.objects.filter(disbursement=disbursement).values(
                "receiver_wallet_id"
            )
        )
        messages_before = Message.objects.filter(disbursement_id=disbursement.pk)
        with Phase("start", n, figures):
            start_disbursement(disbursement, actor=None)
        started = time.monotonic()
        with Phase("invitations", n, figures):
            figures["invited"] = messages_before.count()
            figures["not_registered"] = wallets.exclude(
                status=ReceiverWallet.Status.REGISTERED
            ).count()
        # The hand-off is the start's last step (timed with it): what it gave
        # the TSS.
        figures["handed_off"] = (
            Payment.objects.filter(disbursement=disbursement)
            .exclude(status__in=[Payment.Status.DRAFT, Payment.Status.READY])
            .count()
        )
        deadline = started + args.timeout
        pending = Payment.objects.filter(
            disbursement=disbursement, status=Payment.Status.PENDING
        )
        with Phase("payment", n, figures):
            _wait(lambda: not pending.exists(), deadline)
        figures["paid_after_start_s"] = round(time.monotonic() - started, 2)
        with Phase("completion", 1, figures):
            _wait(
                lambda: Disbursement.objects.filter(
                    pk=disbursement.pk, status=Disbursement.Status.COMPLETED
                ).exists(),
                min(deadline, time.monotonic() + 120),
            )
        metrics_text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        figures["worker_peak_rss_mb"] = round(_peak_rss_mb(worker.pid))
    finally:
        worker.terminate()
        worker.wait(30)
    succeeded = Payment.objects.filter(
        disbursement=disbursement, status=Payment.Status.SUCCESS
    ).count()
    disbursement.refresh_from_db(fields=["status"])
    elapsed = figures["paid_after_start_s"]
    figures.update(
        {
            "succeeded": succeeded,
            "completed": int(disbursement.status == Disbursement.Status.COMPLETED),
            "payments_per_s": round(succeeded / elapsed, 1) if elapsed else 0,
            "horizon_calls_per_payment": round(
                _metric(metrics_text, "tss_horizon_client_request_count_total")
                / max(1, n),
                2,
            ),
            "peak_rss_mb": round(_rss_mb()),
            "ledger_close": args.ledger_close,
            "max_ops_per_ledger": args.max_ops_per_ledger,
            "channels": args.channels,
        }
    )
    rate = figures["payments_per_s"] or 1
    figures["million_payment_h_at_this_rate"] = round(1_000_000 / rate / 3600, 2)
    figures["million_upload_s_at_this_rate"] = round(
        1_000_000 / max(figures["upload_per_s"], 1), 1
    )
    _log(f"{succeeded}/{n} paid in {elapsed:.1f} s")
    print(" ".join(f"{k}={v}" for k, v in figures.items()), file=sys.stdout)


if __name__ == "__main__":
    main()
