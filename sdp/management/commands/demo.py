"""`make demo`: the whole platform on this machine, with a demo organization.

Starts (and on Ctrl-C stops) the web server, a Celery worker and beat; PostgreSQL
and Redis are the embedded ones unless DATABASE_URL / REDIS_URL say otherwise.
Seeding is idempotent: a second run reuses the demo organization.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from auth_org.models import Organization, User
from auth_org.provisioning import provision_tenant

DEMO_TENANT = "demo"
DEMO_EMAIL = "owner@demo.example.org"
DEMO_PASSWORD = "Demo-Password-2026!"  # noqa: S105 - a published demo login
OPERATOR_EMAIL = "operator@demo.example.org"


class Command(BaseCommand):
    help = "Run the whole platform locally with a demo organization."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="seed and exit (used by tests)"
        )

    def handle(self, *args, **options):
        call_command("migrate", verbosity=0)
        self.seed()
        if options["no_serve"]:
            return
        port = options["port"]
        processes = self.start(port)
        try:
            self.wait_until_up(port, processes)
            self.print_welcome(port)
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
            dead = [
                name
                for name, process in processes.items()
                if process.poll() is not None
            ]
            self.stderr.write(f"stopped because {', '.join(dead)} exited")
        except KeyboardInterrupt:
            self.stdout.write("\nstopping...")
        finally:
            self.stop(processes)

    def seed(self) -> None:
        if not Organization.objects.filter(name=DEMO_TENANT).exists():
            provision_tenant(
                DEMO_TENANT,
                owner_email=DEMO_EMAIL,
                owner_first_name="Demo",
                owner_last_name="Owner",
                owner_password=DEMO_PASSWORD,
                display_name="Demo Organization",
                is_default=True,
            )
        if not User.objects.filter(email=OPERATOR_EMAIL, organization=None).exists():
            User.objects.create_superuser(OPERATOR_EMAIL, DEMO_PASSWORD)

    def start(self, port: int) -> dict[str, subprocess.Popen]:
        python = sys.executable
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        commands = {
            "web": [
                python,
                "manage.py",
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "sdp",
                "worker",
                "-Q",
                "tss,messages,default",
                "--loglevel",
                "WARNING",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "sdp",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(settings.BASE_DIR / ".sdp" / "celerybeat-schedule"),
            ],
        }
        return {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)  # noqa: S603
            for name, command in commands.items()
        }

    def wait_until_up(self, port: int, processes: dict[str, subprocess.Popen]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health", timeout=2
                ):
                    return
            except OSError:
                if processes["web"].poll() is not None:
                    raise SystemExit("the web server did not start") from None
                time.sleep(0.3)
        raise SystemExit("the web server did not answer /health within 60 s")

    def print_welcome(self, port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Stellar Disbursement Platform demo is running.",
                    f"  Django admin:  {base}/admin/   "
                    f"login {OPERATOR_EMAIL} / {DEMO_PASSWORD}",
                    f"  API:           {base}/   tenant '{DEMO_TENANT}', "
                    f"login {DEMO_EMAIL} / {DEMO_PASSWORD}",
                    f"  Health:        {base}/health",
                    "Press Ctrl-C to stop.",
                    "",
                ]
            )
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
