"""Seed a running localnet for the demo: fund the distribution account and
issue a demo USDC-like asset to it.

    python -m localnet.seed --horizon-url http://127.0.0.1:8001 \
        --distribution-secret S... [--asset-code USDC] [--amount 1000000]

prints one JSON object (issuer, asset, balances). Safe to run again: an
account that exists isn't re-created, a trustline that exists is kept, and
the issuer's key is derived from the distribution key and asset code, so the
same asset is found again after a restart with --state.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal

import requests
from stellar_sdk import Asset, Keypair, Server, TransactionBuilder
from stellar_sdk.exceptions import NotFoundError

DEFAULT_ASSET_CODE = "USDC"
DEFAULT_AMOUNT = Decimal("1000000")


@dataclass
class DemoSeed:
    horizon_url: str
    network_passphrase: str
    distribution_account: str
    issuer_account: str
    issuer_secret: str
    asset_code: str
    asset_issuer: str
    distribution_asset_balance: str
    distribution_xlm_balance: str


def demo_issuer_keypair(distribution_secret: str, asset_code: str) -> Keypair:
    """The demo issuer: derived, so the same across restarts."""
    seed = hashlib.sha256(
        b"sdp-localnet-demo-issuer:"
        + distribution_secret.encode()
        + asset_code.encode()
    ).digest()
    return Keypair.from_raw_ed25519_seed(seed)


def fund_with_friendbot(horizon_url: str, address: str, timeout: float = 60) -> bool:
    """Create `address` with friendbot; False if it already existed."""
    server = Server(horizon_url)
    try:
        server.accounts().account_id(address).call()
        return False
    except NotFoundError:
        pass
    response = requests.get(
        f"{horizon_url.rstrip('/')}/friendbot",
        params={"addr": address},
        timeout=timeout,
    )
    if response.status_code != 200:
        raise RuntimeError(f"friendbot failed for {address}: {response.text}")
    return True


def _balance(account: dict, asset: Asset | None) -> str:
    for line in account["balances"]:
        if asset is None and line["asset_type"] == "native":
            return line["balance"]
        if (
            asset is not None
            and line.get("asset_code") == asset.code
            and (line.get("asset_issuer") == asset.issuer)
        ):
            return line["balance"]
    return "0.0000000"


def seed_demo(
    horizon_url: str,
    distribution_secret: str,
    asset_code: str = DEFAULT_ASSET_CODE,
    amount: Decimal | str = DEFAULT_AMOUNT,
    issuer_secret: str | None = None,
) -> DemoSeed:
    """Fund the distribution account, create the issuer, trust and issue the asset.

    The distribution account receives `amount` of the asset only when it holds
    none yet (so re-running doesn't mint again).
    """
    server = Server(horizon_url)
    passphrase = server.root().call()["network_passphrase"]
    distribution = Keypair.from_secret(distribution_secret)
    issuer = (
        Keypair.from_secret(issuer_secret)
        if issuer_secret
        else demo_issuer_keypair(distribution_secret, asset_code)
    )
    asset = Asset(asset_code, issuer.public_key)
    # Both at once: friendbot funds them in the same ledger (one close to wait
    # for, not two).
    with ThreadPoolExecutor(max_workers=2) as pool:
        for funded in [
            pool.submit(fund_with_friendbot, horizon_url, address)
            for address in (distribution.public_key, issuer.public_key)
        ]:
            funded.result()

    account = server.accounts().account_id(distribution.public_key).call()
    has_line = any(
        line.get("asset_code") == asset_code
        and line.get("asset_issuer") == issuer.public_key
        for line in account["balances"]
    )
    holds = Decimal(_balance(account, asset)) > 0
    if not has_line or not holds:
        builder = TransactionBuilder(
            server.load_account(distribution.public_key), passphrase, base_fee=100
        ).set_timeout(60)
        if not has_line:
            builder.append_change_trust_op(asset)
        builder.append_payment_op(
            distribution.public_key,
            asset,
            str(Decimal(amount)),
            source=issuer.public_key,
        )
        tx = builder.build()
        tx.sign(distribution)
        tx.sign(issuer)
        server.submit_transaction(tx)
        account = server.accounts().account_id(distribution.public_key).call()
    return DemoSeed(
        horizon_url=horizon_url,
        network_passphrase=passphrase,
        distribution_account=distribution.public_key,
        issuer_account=issuer.public_key,
        issuer_secret=issuer.secret,
        asset_code=asset_code,
        asset_issuer=issuer.public_key,
        distribution_asset_balance=_balance(account, asset),
        distribution_xlm_balance=_balance(account, None),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localnet.seed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--horizon-url", default="http://127.0.0.1:8001")
    parser.add_argument("--distribution-secret", required=True)
    parser.add_argument("--asset-code", default=DEFAULT_ASSET_CODE)
    parser.add_argument("--amount", default=str(DEFAULT_AMOUNT))
    parser.add_argument("--issuer-secret", default=None)
    options = parser.parse_args(argv)
    result = seed_demo(
        options.horizon_url,
        options.distribution_secret,
        options.asset_code,
        Decimal(options.amount),
        options.issuer_secret,
    )
    json.dump(asdict(result), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
