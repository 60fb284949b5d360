"""No network call inside a database transaction (issue 19, item 8a), with or
without an ``Idempotency-Key``: the start of a disbursement and a direct payment
read the distribution account's balances from Horizon, and must do so with no
transaction open (no row lock held across an HTTP call).

The guard wraps the Horizon boundary (``tss.accounts.balances``, which the
``ledger`` fixture stands in for, and the Horizon client itself) and records
whether a transaction was open at each call. The tests run outside pytest's
own per-test transaction (``transaction=True``), so ``in_atomic_block`` is the
application's own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from disbursements.models import Disbursement, Payment
from tests.api2_fixtures import client_for
from tests.factories import (
    DisbursementFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
)

ADDRESS = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"


@pytest.fixture
def network_calls(ledger, monkeypatch):
    """[(what, inside a transaction?)] of every call to the network."""
    from tss import accounts, horizon

    calls: list[tuple[str, bool]] = []
    balances, request = accounts.balances, horizon.request

    def guarded_balances(tenant_id):
        calls.append(("balances", connection.in_atomic_block))
        return balances(tenant_id)

    def guarded_request(method, path, **kwargs):
        calls.append((f"{method} {path}", connection.in_atomic_block))
        return request(method, path, **kwargs)

    monkeypatch.setattr(accounts, "balances", guarded_balances)
    monkeypatch.setattr(horizon, "request", guarded_request)
    return calls


def _registered(organization, wallet):
    return ReceiverWalletFactory(
        receiver=ReceiverFactory(organization=organization),
        wallet=wallet,
        status="REGISTERED",
        stellar_address=ADDRESS,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", ["start-1", None])
def test_start_reads_balances_outside_transactions(
    organization, owner, wallet, usdc, network_calls, key
):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    PaymentFactory(
        disbursement=disbursement,
        receiver_wallet=_registered(organization, wallet),
        amount=Decimal("20"),
    )
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    api = client_for(owner, **headers)
    url = f"/disbursements/{disbursement.pk}/status"
    first = api.patch(url, {"status": "STARTED"}, format="json")
    assert first.status_code == 200, first.content
    disbursement.refresh_from_db()
    assert disbursement.status == Disbursement.Status.STARTED
    assert network_calls, "the start read no balance: the guard saw nothing"
    assert [call for call in network_calls if call[1]] == []
    if key:
        calls = len(network_calls)
        again = api.patch(url, {"status": "STARTED"}, format="json")
        assert (again.status_code, again.json()) == (200, first.json())
        assert again["Idempotent-Replayed"] == "true"
        assert len(network_calls) == calls  # the replay calls nothing


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", ["direct-1", None])
def test_direct_payment_reads_balances_outside_transactions(
    organization, owner, wallet, usdc, network_calls, key
):
    registered = _registered(organization, wallet)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    api = client_for(owner, **headers)
    payment = {
        "amount": "5.5",
        "asset": {"id": str(usdc.pk)},
        "receiver": {"id": str(registered.receiver_id)},
        "wallet": {"id": str(registered.wallet_id)},
    }
    first = api.post("/payments", payment, format="json")
    assert first.status_code == 201, first.content
    assert network_calls, "the payment read no balance: the guard saw nothing"
    assert [call for call in network_calls if call[1]] == []
    if key:
        again = api.post("/payments", payment, format="json")
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
