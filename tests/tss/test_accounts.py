"""Distribution accounts, trustlines, balances and channel accounts, against the
localnet."""

import uuid
from decimal import Decimal

import pytest
from stellar_sdk import Asset, Keypair, Payment

from tss import accounts, channels, horizon, keys, services
from tss.errors import TrustlineNotEmpty
from tss.models import ChannelAccount, DistributionAccount

pytestmark = pytest.mark.django_db


def test_distribution_account_is_created_funded_and_encrypted(network):
    tenant = uuid.uuid4()
    public_key = accounts.create_distribution_account(tenant)
    row = DistributionAccount.objects.get(tenant_id=tenant)
    assert row.public_key == public_key
    assert keys.distribution_keypair(tenant).public_key == public_key
    assert keys.distribution_keypair(tenant).secret not in row.encrypted_secret
    assert accounts.balances(tenant) == {("XLM", ""): Decimal("50.0000000")}
    # a second call keeps the same account and does not fund it again
    assert accounts.create_distribution_account(tenant) == public_key
    assert accounts.balances(tenant) == {("XLM", ""): Decimal("50.0000000")}
    assert accounts.distribution_account_for(tenant) == public_key


def test_tenant_without_its_own_account_pays_from_the_host(network):
    tenant = uuid.uuid4()
    host = keys.host_keypair().public_key
    assert accounts.create_distribution_account(tenant, use_host=True) == host
    assert accounts.distribution_account_for(tenant) == host


def _issue(issuer: Keypair, tenant, code: str, amount: str) -> Asset:
    asset = Asset(code, issuer.public_key)
    accounts.run_transaction(
        issuer,
        [
            Payment(
                destination=accounts.distribution_account_for(tenant),
                asset=asset,
                amount=amount,
            )
        ],
    )
    return asset


def test_trustline_added_funded_and_removal_refused_while_it_holds_a_balance(
    network, tenant_id
):
    issuer = Keypair.random()
    network.friendbot(issuer.public_key)
    assert accounts.ensure_trustline(tenant_id, "USDC", issuer.public_key) is True
    assert accounts.ensure_trustline(tenant_id, "USDC", issuer.public_key) is False
    _issue(issuer, tenant_id, "USDC", "12.5")
    assert accounts.balances(tenant_id)[("USDC", issuer.public_key)] == Decimal("12.5")
    with pytest.raises(TrustlineNotEmpty, match=r"still holds 12\.5000000 USDC"):
        accounts.remove_trustline(tenant_id, "USDC", issuer.public_key)
    # send it back, then the trustline can go
    accounts.run_transaction(
        keys.distribution_keypair(tenant_id),
        [
            Payment(
                destination=issuer.public_key,
                asset=Asset("USDC", issuer.public_key),
                amount="12.5",
            )
        ],
    )
    assert accounts.remove_trustline(tenant_id, "USDC", issuer.public_key) is True
    assert ("USDC", issuer.public_key) not in accounts.balances(tenant_id)


def test_amount_in_flight_counts_pending_and_processing_only(db):
    from tests.factories import SubmitterTransactionFactory

    tenant, issuer = uuid.uuid4(), Keypair.random().public_key
    for status, amount in [
        ("PENDING", "1.5"),
        ("PROCESSING", "2.25"),
        ("SUCCESS", "100"),
        ("ERROR", "100"),
    ]:
        SubmitterTransactionFactory(
            tenant_id=tenant, asset_issuer=issuer, status=status, amount=Decimal(amount)
        )
    SubmitterTransactionFactory(asset_issuer=issuer, amount=Decimal("7"))
    assert services.amount_in_flight(tenant, "USDC", issuer) == Decimal("3.75")
    assert services.amount_in_flight(uuid.uuid4(), "USDC", issuer) == Decimal("0")


def test_channel_accounts_are_sponsored_by_the_host_and_merged_back(network):
    host = keys.host_keypair().public_key
    sponsoring_before = horizon.account(host).get("num_sponsoring", 0)
    created = channels.create(3)
    assert ChannelAccount.objects.filter(pk__in=created).count() == 3
    for key in created:
        record = horizon.account(key)
        assert record["balances"][0]["balance"] in ("0.0000000", "0")
        assert record.get("sponsor") == host
        # stored at creation (ledger << 32): the engine need not load it
        stored = ChannelAccount.objects.get(pk=key).sequence
        assert stored == int(record["sequence"])
    assert horizon.account(host)["num_sponsoring"] == sponsoring_before + 6
    assert channels.verify() == []
    deleted = channels.delete([created[0]])
    assert deleted == [created[0]]
    assert horizon.account(created[0]) is None
    assert not ChannelAccount.objects.filter(pk=created[0]).exists()
    before = ChannelAccount.objects.count()
    assert channels.ensure(1) == (0, before - 1)
    assert ChannelAccount.objects.count() == 1


def test_verify_reports_and_deletes_accounts_missing_on_the_network(network):
    keypair = Keypair.random()
    ChannelAccount.objects.create(
        public_key=keypair.public_key,
        encrypted_secret=keys.encrypt_channel_secret(keypair),
    )
    assert channels.verify() == [keypair.public_key]
    assert channels.verify(delete_invalid=True) == [keypair.public_key]
    assert not ChannelAccount.objects.filter(pk=keypair.public_key).exists()
