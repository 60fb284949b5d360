import pytest
from stellar_sdk import Keypair, TransactionBuilder


def pytest_configure(config):
    # The root conftest registers localnet.testing as a plugin; this keeps
    # these tests runnable on their own too.
    if not config.pluginmanager.has_plugin("localnet.testing"):
        config.pluginmanager.import_plugin("localnet.testing")


def create_accounts(net, count: int, starting_balance: str = "1000", sponsor=None):
    """`count` new keypairs created by the root account in one transaction."""
    from localnet.testing import submit

    root = net.root_keypair()
    keypairs = [Keypair.random() for _ in range(count)]
    builder = TransactionBuilder(
        net.server().load_account(root.public_key), net.passphrase, base_fee=100
    ).set_timeout(60)
    for keypair in keypairs:
        builder.append_create_account_op(keypair.public_key, starting_balance)
    tx = builder.build()
    tx.sign(root)
    status, body = submit(net, tx)
    assert status == 200, body
    return keypairs


@pytest.fixture
def accounts(localnet):
    """accounts(n, balance="1000") -> n funded keypairs, created in one ledger."""

    def make(count: int = 1, starting_balance: str = "1000"):
        return create_accounts(localnet, count, starting_balance)

    return make
