"""`make demo`: the whole platform on this machine, paying real (local) money.

Starts the localnet (a local Stellar network), the web server, a Celery worker
and beat, and stops them all on Ctrl-C. PostgreSQL and Redis are the embedded
ones unless DATABASE_URL / REDIS_URL say otherwise (manage.py starts them; Ctrl-C
stops those this run started). Seeding is idempotent, so a second run reuses the
demo organization, its accounts and the localnet's state. Once running, the
terminal shows the platform at work: a line per invitation sent, payment
submitted and payment confirmed, read from the database as they happen.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from auth_org.models import Asset, Organization, User, Wallet
from auth_org.provisioning import provision_distribution_account, provision_tenant

DEMO_TENANT = "demo"
DEMO_EMAIL = "owner@demo.example.org"
DEMO_PASSWORD = "Demo-Password-2026!"  # noqa: S105 - a published demo login
OPERATOR_EMAIL = "operator@demo.example.org"
DEMO_ASSET = "USDC"
DEMO_CHANNEL_ACCOUNTS = 10
SAMPLE_NAME = "Demo payroll"
# Sample receivers: (id, phone, amount, date of birth).
SAMPLE_RECEIVERS = (
    ("demo-1", "+14155550101", "15.5", "1990-01-15"),
    ("demo-2", "+14155550102", "22", "1985-06-30"),
    ("demo-3", "+14155550103", "7.25", "2001-11-02"),
)


def state_dir() -> Path:
    """Where the demo keeps its files: the checkout's .sdp/, or SDP_STATE_DIR
    as for the embedded PostgreSQL and Redis (sdp.devservices)."""
    return Path(os.environ.get("SDP_STATE_DIR") or settings.BASE_DIR / ".sdp")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the whole platform locally with a demo organization."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--localnet-port", type=int, default=8001)
        parser.add_argument("--ledger-close", type=float, default=2.0)
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="seed the database only and exit (no network, no processes)",
        )

    def step(self, text: str) -> None:
        self.stdout.write(f"- {text}")
        self.stdout.flush()

    def handle(self, *args, **options):
        self.step("migrating the database")
        call_command("migrate", verbosity=0)
        self.step("seeding the demo organization and its logins")
        organization = self.seed_database()
        if options["no_serve"]:
            return
        # The invitations' links name the platform's address: this process
        # writes some, the web checks them (SEP-10's home domain).
        settings.BASE_URL = f"http://127.0.0.1:{options['port']}"
        horizon_url = f"http://127.0.0.1:{options['localnet_port']}"
        env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            HORIZON_URL=horizon_url,
            NETWORK_PASSPHRASE=settings.LOCALNET_PASSPHRASE,
            BASE_URL=settings.BASE_URL,
            # The demo wallet has no domain of its own to prove with SEP-10.
            SEP10_CLIENT_ATTRIBUTION_REQUIRED="false",
            # No reCAPTCHA keys on a laptop: the dashboard's login would be refused.
            DISABLE_RECAPTCHA="true",
            # The MFA email only reaches the dry-run outbox; sign in without it.
            DISABLE_MFA="true",
            # Worker and beat at INFO, one short line each, Celery's per-task
            # chatter left out (LOG_FORMAT=compact in sdp/settings.py).
            LOG_FORMAT="compact",
        )
        processes: dict[str, subprocess.Popen] = {}
        # Stop everything on SIGTERM as on Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        try:
            self.step(f"starting the localnet on {horizon_url}")
            processes["localnet"] = self.start_localnet(options, env)
            self.wait_for(f"{horizon_url}/", processes["localnet"], "the localnet")
            settings.HORIZON_URL = horizon_url
            settings.NETWORK_PASSPHRASE = settings.LOCALNET_PASSPHRASE
            # The web, worker and beat take seconds to import and check; they
            # start now and get ready while the funding waits for ledgers.
            self.step(f"starting the web (port {options['port']}), worker and beat")
            processes.update(self.start_platform(options["port"], env))
            self.step("funding the demo accounts and channel accounts on the localnet")
            self.seed_network(organization, horizon_url)
            csv_path = self.write_sample_csv()
            self.start_sample_disbursement(organization, csv_path)
            activity = Activity(organization, self.stdout)
            self.step("waiting for the web and the worker to answer")
            self.wait_for(
                f"http://127.0.0.1:{options['port']}/health",
                processes["web"],
                "the web",
            )
            self.wait_for_worker(processes["worker"])
            receiver = self.unpaid_receiver(organization, csv_path)
            self.print_welcome(options["port"], horizon_url, csv_path, receiver)
            while all(process.poll() is None for process in processes.values()):
                activity.poll()
                time.sleep(0.5)
            dead = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"stopped because {', '.join(dead)} exited")
        except KeyboardInterrupt:
            self.stdout.write("\nstopping...")
        finally:
            self.stop(processes)
            self.stop_embedded_services()

    # --- seeding ---------------------------------------------------------------

    def seed_database(self) -> Organization:
        organization = Organization.objects.filter(name=DEMO_TENANT).first()
        if organization is None:
            organization = provision_tenant(
                DEMO_TENANT,
                owner_email=DEMO_EMAIL,
                owner_first_name="Demo",
                owner_last_name="Owner",
                owner_password=DEMO_PASSWORD,
                display_name="Demo Organization",
                is_default=True,
            )
        # The demo pays from the host account (SDP's ENV distribution type).
        Organization.objects.filter(pk=organization.pk).update(
            distribution_account_type=Organization.DistributionAccountType.STELLAR_ENV
        )
        organization.refresh_from_db()
        if not User.objects.filter(email=OPERATOR_EMAIL, organization=None).exists():
            User.objects.create_superuser(OPERATOR_EMAIL, DEMO_PASSWORD)
        return organization

    def seed_network(self, organization: Organization, horizon_url: str) -> None:
        from localnet.seed import seed_demo
        from tss import channels

        seeded = seed_demo(
            horizon_url, settings.DISTRIBUTION_SEED, asset_code=DEMO_ASSET
        )
        asset, _ = Asset.objects.get_or_create(
            organization=organization,
            code=DEMO_ASSET,
            issuer=seeded.asset_issuer,
            deleted_at__isnull=True,
        )
        for wallet in Wallet.objects.filter(
            organization=organization, user_managed=False
        ):
            wallet.assets.add(asset)
        provision_distribution_account(organization)
        channels.ensure(max(settings.NUM_CHANNEL_ACCOUNTS, DEMO_CHANNEL_ACCOUNTS))
        self.stdout.write(
            f"localnet: host account {seeded.distribution_account} holds "
            f"{Decimal(seeded.distribution_asset_balance):,} {DEMO_ASSET}"
        )

    def write_sample_csv(self) -> Path:
        """The sample receivers, and those added by earlier runs (kept: the
        banner may name one of them, and demo_wallet reads its verification)."""
        folder = state_dir() / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "receivers.csv"
        rows = {row[1]: [row[1], row[0], row[2], row[3]] for row in SAMPLE_RECEIVERS}
        if path.exists():
            with path.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    rows.setdefault(row["phone"], [row["phone"], row["id"],
                                    row["amount"], row["verification"]])  # fmt: skip
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["phone", "id", "amount", "verification"])
            writer.writerows(rows.values())
        return path

    def unpaid_receiver(self, organization: Organization, csv_path: Path) -> str:
        """A receiver the banner's command can pay now: one of a started demo
        disbursement whose payment waits for the wallet's registration; else a
        new receiver, in a new started disbursement of one (after a restart the
        samples are paid)."""
        from disbursements.models import Disbursement, Payment

        waiting = (
            Payment.objects.filter(
                organization=organization,
                status=Payment.Status.READY,
                disbursement__status=Disbursement.Status.STARTED,
                receiver__phone_number__isnull=False,
            )
            .select_related("receiver")
            .order_by("created_at")
        )
        with csv_path.open(newline="") as handle:
            known = {row["phone"] for row in csv.DictReader(handle)}
        for payment in waiting:
            if payment.receiver.phone_number in known:
                return payment.receiver.phone_number
        number = 4 + Payment.objects.filter(organization=organization).count()
        phone = f"+1415555{number:04d}"
        row = [phone, f"demo-{number}", "5", "1995-05-05"]
        with csv_path.open("a", newline="") as handle:
            csv.writer(handle).writerow(row)
        one = csv_path.parent / f"receiver-{number}.csv"
        with one.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["phone", "id", "amount", "verification"])
            writer.writerow(row)
        self.start_sample_disbursement(
            organization, one, name=f"{SAMPLE_NAME} {number}"
        )
        return phone

    def start_sample_disbursement(
        self, organization: Organization, csv_path: Path, name: str = SAMPLE_NAME
    ):
        """A started disbursement of the CSV, once: its invitations are in the
        outbox, so `demo_wallet` can register a receiver straight away."""
        from disbursements.models import Disbursement, RegistrationContactType
        from disbursements.services import create_disbursement, start_disbursement

        owner = User.objects.get(organization=organization, is_owner=True)
        disbursement = Disbursement.objects.filter(
            organization=organization, name=name
        ).first()
        if disbursement is not None:
            if disbursement.status == Disbursement.Status.READY:
                start_disbursement(disbursement, actor=owner)
            return
        disbursement = create_disbursement(
            organization,
            actor=owner,
            name=name,
            wallet=Wallet.objects.get(organization=organization, name="Demo Wallet"),
            asset=Asset.objects.get(
                organization=organization, code=DEMO_ASSET, deleted_at__isnull=True
            ),
            registration_contact_type=RegistrationContactType.PHONE_NUMBER,
            verification_field="DATE_OF_BIRTH",
            file_name=csv_path.name,
            file_content=csv_path.read_bytes(),
        )
        start_disbursement(disbursement, actor=owner)
        self.step(f"started the disbursement {name!r}")

    # --- processes -------------------------------------------------------------

    def start_localnet(self, options, env) -> subprocess.Popen:
        state = state_dir() / "localnet-state.json"
        command = [
            sys.executable, "-m", "localnet",
            "--port", str(options["localnet_port"]),
            "--ledger-close", str(options["ledger_close"]),
            "--state", str(state),
        ]  # fmt: skip
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)  # noqa: S603

    def start_platform(self, port: int, env) -> dict[str, subprocess.Popen]:
        python = sys.executable
        schedule = state_dir() / "celerybeat-schedule"
        commands = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}",
                    "--noreload"],
            # --quiet: no Celery banner pushing the demo's off the screen.
            "worker": [python, "-m", "celery", "-A", "sdp", "--quiet", "worker",
                       "-Q", "tss,messages,webhooks,default", "--loglevel", "INFO"],
            "beat": [python, "-m", "celery", "-A", "sdp", "--quiet", "beat",
                     "--loglevel", "INFO", "--schedule", str(schedule)],
        }  # fmt: skip
        return {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)  # noqa: S603
            for name, command in commands.items()
        }

    def wait_for(self, url: str, process: subprocess.Popen, what: str) -> None:
        if urllib.parse.urlparse(url).scheme != "http":
            raise CommandError(f"refusing to poll {url}")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - http only
                    return
            except OSError:
                if process.poll() is not None:
                    raise CommandError(f"{what} did not start") from None
                time.sleep(0.3)
        raise CommandError(f"{what} did not answer {url} within 90 s")

    def wait_for_worker(self, process: subprocess.Popen) -> None:
        """Until the worker answers a ping (its start-up lines come before the
        banner, not after it)."""
        from sdp.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError("the worker did not start")
            if app.control.ping(timeout=1.0):
                return
        raise CommandError("the worker did not answer within 60 s")

    def stop_embedded_services(self) -> None:
        from sdp import devservices

        if devservices.STARTED_HERE:
            still = devservices.stop(devservices.STARTED_HERE)
            stopped = [name for name in devservices.STARTED_HERE if name not in still]
            if stopped:
                self.stdout.write(
                    f"stopped the embedded {' and '.join(stopped)} this demo started"
                )
            if still:
                self.stderr.write(
                    f"the embedded {' and '.join(still)} did not stop: "
                    "`make stop` stops them"
                )
        elif not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
            self.stdout.write(
                "the embedded PostgreSQL and Redis were running before this demo "
                "and keep running: `make stop` stops them"
            )

    def stop(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def print_welcome(
        self, port: int, horizon_url: str, csv_path: Path, receiver: str
    ) -> None:
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"""
Stellar Disbursement Platform demo is running (a local network: no real money).

  Django admin   {base}/admin/
                 login {OPERATOR_EMAIL} / {DEMO_PASSWORD}
  Dashboard API  {base}/    tenant "{DEMO_TENANT}"
                 login {DEMO_EMAIL} / {DEMO_PASSWORD}  (no MFA in the demo)
  Localnet       {horizon_url}/  (Horizon API)
  Health         {base}/health     Metrics {base}/metrics
  Sample CSV     {csv_path}

Pay someone: {receiver} has an invitation in the outbox and a payment waiting.
Play their wallet, in another terminal:
    .venv/bin/python manage.py demo_wallet --invite {receiver} --wait \\
        --base-url {base}
and watch the payment land here, in the admin (Disbursements > Payments) or the
dashboard. To pay more people, upload the CSV again in a new disbursement from the
dashboard (Demo Wallet, {DEMO_ASSET}, PHONE_NUMBER, DATE_OF_BIRTH) and start it.

SDP dashboard 6.5.0 against this backend: serve it with public/settings/env-config.js:
  window._env_ = {{
    API_URL: "{base}",
    HORIZON_URL: "{horizon_url}",
    STELLAR_EXPERT_URL: "https://stellar.expert/explorer/testnet",
    SINGLE_TENANT_MODE: false,
    DISABLE_TENANT_PREFIL_FROM_DOMAIN: "true",
  }};
  (and CORS_ALLOWED_ORIGINS=http://localhost:3000 here, the default)

Below: a line per invitation sent, payment submitted and payment confirmed.
Press Ctrl-C to stop everything.
"""
        )
        self.stdout.flush()


class Activity:
    """What the platform does, read from the database every half second: one
    line per invitation sent, payment submitted and payment confirmed (those
    already done when the demo started are not repeated)."""

    def __init__(self, organization: Organization, stdout):
        self.organization = organization
        self.stdout = stdout
        self.sent = set(self._sent_invitations().values_list("pk", flat=True))
        self.statuses = dict(self._payments().values_list("pk", "status"))

    def _sent_invitations(self):
        from messaging.models import Message

        return Message.objects.filter(
            tenant_id=self.organization.id,
            kind=Message.Kind.RECEIVER_INVITATION,
            status=Message.Status.SUCCESS,
        )

    def _payments(self):
        from disbursements.models import Payment

        return Payment.objects.filter(
            organization=self.organization,
            status__in=[
                Payment.Status.PENDING,
                Payment.Status.SUCCESS,
                Payment.Status.FAILED,
            ],
        )

    def poll(self) -> None:
        from django.db import DatabaseError

        try:
            self._poll()
        except DatabaseError as exc:  # say it, keep the demo running
            self.stdout.write(f"(activity: database unavailable: {exc})\n")

    def _poll(self) -> None:
        from disbursements.models import Payment
        from messaging.services import mask

        for message in self._sent_invitations().exclude(pk__in=self.sent):
            self.sent.add(message.pk)
            self._say(f"invitation sent to {mask(message.recipient)} "
                      f"({message.channel}, dry run)")  # fmt: skip
        changed = self._payments().select_related("receiver", "asset")
        for payment in changed.order_by("created_at"):
            if self.statuses.get(payment.pk) == payment.status:
                continue
            self.statuses[payment.pk] = payment.status
            who = mask(payment.receiver.phone_number or payment.receiver.email or "")
            what = (
                f"payment of {payment.amount.normalize()} {payment.asset.code} to {who}"
            )
            if payment.status == Payment.Status.PENDING:
                self._say(f"{what} submitted to the network")
            elif payment.status == Payment.Status.SUCCESS:
                tx = payment.stellar_transaction_id[:12]
                self._say(f"{what} confirmed on the ledger (transaction {tx}...)")
            else:
                self._say(f"{what} FAILED (see the admin's payment history)")

    def _say(self, text: str) -> None:
        # A newline of its own: an OutputWrapper adds none then, a plain stream
        # needs it.
        self.stdout.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.stdout.flush()
