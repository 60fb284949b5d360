from decimal import Decimal

from stellar_sdk import Keypair

from localnet.seed import seed_demo


def test_demo_seed_funds_distribution_and_issues_the_asset_once(localnet):
    distribution = Keypair.random()
    first = seed_demo(localnet.url, distribution.secret, "USDC", Decimal("5000"))
    assert first.distribution_account == distribution.public_key
    assert first.distribution_asset_balance == "5000.0000000"
    assert first.distribution_xlm_balance.startswith("9999.99")
    again = seed_demo(localnet.url, distribution.secret, "USDC", Decimal("5000"))
    assert again.issuer_account == first.issuer_account
    assert again.distribution_asset_balance == "5000.0000000"
