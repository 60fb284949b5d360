from django.core.management.base import BaseCommand, CommandError

from localnet.server import add_arguments, serve


class Command(BaseCommand):
    help = (
        "Run the local Horizon-compatible Stellar network (development, tests and "
        "demo only; never production)."
    )

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        keys = (
            "host",
            "port",
            "ledger_close",
            "max_ops_per_ledger",
            "state",
            "passphrase",
            "faults",
            "submit_timeout",
            "port_file",
            "log_level",
        )
        code = serve(**{key: options[key] for key in keys})
        if code:
            raise CommandError(f"localnet exited with status {code}")
