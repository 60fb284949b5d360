"""Tenant provisioning on the network: the distribution account and trustlines."""

from io import StringIO

import pytest
from django.core.management import call_command
from stellar_sdk import Keypair

from auth_org.models import Asset, Organization

pytestmark = pytest.mark.django_db


def test_create_tenant_sets_up_a_funded_distribution_account_with_trustlines(network):
    from tss import accounts

    issuer = Keypair.random()
    network.friendbot(issuer.public_key)
    out = StringIO()
    call_command(
        "create_tenant",
        "paid-org",
        "--owner-email",
        "o@example.org",
        "--owner-first-name",
        "A",
        "--owner-last-name",
        "B",
        stdout=out,
    )
    organization = Organization.objects.get(name="paid-org")
    Asset.objects.create(
        organization=organization, code="USDC", issuer=issuer.public_key
    )
    call_command("distribution_account", "create", "--tenant", "paid-org", stdout=out)
    organization.refresh_from_db()
    address = organization.distribution_account_address
    assert address == accounts.distribution_account_for(organization.id)
    assert f"distribution account {address}" in out.getvalue()
    balances = accounts.balances(organization.id)
    assert balances[("XLM", "")] > 0
    assert balances[("USDC", issuer.public_key)] == 0  # the trustline exists
