"""manage.py demo_wallet --invite <link or phone> [--contact PHONE] [--wait]

Plays the recipient's wallet against a running platform (``make demo``): a
keypair funded by friendbot, SEP-10, SEP-24, the registration pages with the
code from the dry-run outbox and the verification value from the sample CSV,
then (``--wait``) the payment as the network shows it. It runs where the
platform's database is, because the code is read from the outbox.

Client attribution: only if the platform answers that SEP-10 requires it
(``SEP10_CLIENT_ATTRIBUTION_REQUIRED``; ``make demo`` runs with it off), the
challenge names the wallet provider's client domain (``--client-domain``,
default the provider of the receiver's READY wallet) and is also signed with
``--client-domain-secret`` (default ``$DEMO_WALLET_CLIENT_DOMAIN_SECRET``): the
secret of the key that domain's stellar.toml publishes as SIGNING_KEY, which
the platform fetches from ``SEP10_CLIENT_DOMAIN_TOML_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from stellar_sdk import Keypair

from receivers import demo_wallet


class Command(BaseCommand):
    help = "Play a recipient's wallet: register through SEP-10/SEP-24 and get paid."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contract",
            action="store_true",
            help="play a contract wallet (C...): print a new contract address to "
            "pay (a CSV's walletAddress, or the user-managed wallet), and with "
            "--wait watch its balance in --asset's contract through Stellar RPC",
        )
        parser.add_argument(
            "--contract-address",
            default="",
            help="with --contract: watch this address instead of a new one",
        )
        parser.add_argument(
            "--asset",
            default="XLM",
            help="with --contract: CODE:ISSUER, or XLM (default)",
        )
        parser.add_argument(
            "--rpc-url",
            default=settings.RPC_URL,
            help="with --contract: Stellar RPC (default: RPC_URL)",
        )
        parser.add_argument(
            "--invite",
            default="",
            help="the invitation link (short or deep link) or the phone number "
            "(or email) the invitation went to",
        )
        parser.add_argument(
            "--contact",
            default="",
            help="with a link: the phone number (or email) to register, when "
            "the link went to several receivers",
        )
        parser.add_argument(
            "--base-url",
            default=settings.BASE_URL,
            help="where the platform answers (default: BASE_URL)",
        )
        parser.add_argument("--tenant", default="demo", help="the tenant's name")
        parser.add_argument(
            "--csv",
            # Where `manage.py demo` writes it (SDP_STATE_DIR moves .sdp/).
            default=str(
                Path(os.environ.get("SDP_STATE_DIR") or settings.BASE_DIR / ".sdp")
                / "demo"
                / "receivers.csv"
            ),
            help="the CSV with the receiver's verification value "
            "(columns phone,id,amount,verification)",
        )
        parser.add_argument(
            "--verification",
            default=None,
            help="the verification value, instead of reading it from --csv",
        )
        parser.add_argument(
            "--secret", default="", help="the wallet's secret key (default: random)"
        )
        parser.add_argument("--client-domain", default="")
        parser.add_argument(
            "--client-domain-secret",
            default=os.environ.get("DEMO_WALLET_CLIENT_DOMAIN_SECRET", ""),
        )
        parser.add_argument(
            "--wait", action="store_true", help="wait for the payment to arrive"
        )
        parser.add_argument(
            "--wait-timeout",
            type=float,
            default=120.0,
            help="seconds to wait for the payment (default 120)",
        )

    def handle(self, *args, **options):
        if options["contract"]:
            self._contract(options)
            return
        if not options["invite"]:
            raise CommandError("--invite is required (or --contract)")
        try:
            outcome = demo_wallet.play(
                base_url=options["base_url"],
                tenant=options["tenant"],
                invite=options["invite"],
                contact=options["contact"],
                verification_value=options["verification"],
                csv_path=options["csv"],
                secret=options["secret"],
                attribution=self._attribution(options),
                wait=options["wait_timeout"] if options["wait"] else None,
                say=self.stdout.write,
            )
        except demo_wallet.DemoWalletError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"wallet account: {outcome.address}")
        self.stdout.write(f"wallet secret:  {outcome.secret} (demo network only)")
        payment = outcome.payment
        if payment is None:
            self.stdout.write(
                "registered; the payment follows (run again with --wait and "
                "--secret to watch it)"
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"paid {payment.amount} {payment.asset_code} in transaction "
                f"{payment.transaction_hash}"
            )
        )
        memo = f"{payment.memo} ({payment.memo_type})" if payment.memo else "none"
        self.stdout.write(f"memo: {memo}")

    def _contract(self, options) -> None:
        """A contract wallet: an address, and its balance as RPC shows it."""
        code, _, issuer = options["asset"].partition(":")
        wallet = demo_wallet.ContractWallet(
            rpc_url=options["rpc_url"], passphrase=settings.NETWORK_PASSPHRASE
        )
        if options["contract_address"]:
            wallet.address = options["contract_address"]
        self.stdout.write(f"contract wallet: {wallet.address}")
        if not options["wait"]:
            self.stdout.write(
                "pay it (a disbursement's walletAddress, no memo), then run again "
                "with --wait --contract-address to watch its balance"
            )
            return
        try:
            balance = wallet.wait_for_balance(options["wait_timeout"], code, issuer)
        except demo_wallet.DemoWalletError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"balance: {balance} {code} (in the asset's contract)")
        )

    def _attribution(self, options) -> demo_wallet.Attribution | None:
        """Used only if the platform asks for client attribution."""
        secret = options["client_domain_secret"]
        if not secret:
            return None
        try:
            keypair = Keypair.from_secret(secret)
        except Exception as exc:
            raise CommandError("--client-domain-secret is not a secret key") from exc
        return demo_wallet.Attribution(domain=options["client_domain"], keypair=keypair)
