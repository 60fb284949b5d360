"""distribution_account.low_balance on the localnet: the threshold set through
the dashboard's route, the distribution account's USDC balance read from
Horizon by the beat task, told once per fall below the threshold."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import pytest
from stellar_sdk import Asset as StellarAsset
from stellar_sdk import Payment

from auth_org import low_balance
from auth_org.controls import update_controls
from auth_org.models import AssetControls
from auth_org.tasks import watch_low_balances_task
from circle import services as circle_services
from tests.api2_fixtures import client_for
from tests.circle.conftest import (  # noqa: F401 - fixtures
    circle_keys,
    circle_org,
    offline_circle,
)
from tests.disbursements.test_preflight import tenant  # noqa: F401 - fixtures
from tests.disbursements.test_retry_wakeup import usdc_balance
from tests.factories import AssetFactory, UserFactory
from tests.redis_server import free_port
from tests.tss.conftest import (  # noqa: F401 - fixtures
    network,
    tss_network,
    tss_worker,
)
from tss import accounts, keys
from webhooks import services
from webhooks.models import Delivery, Event

LOW = "distribution_account.low_balance"


def move(source, destination: str, issuer, amount: str) -> None:
    accounts.run_transaction(
        source,
        [
            Payment(
                destination=destination,
                asset=StellarAsset("USDC", issuer.public_key),
                amount=amount,
            )
        ],
    )


def low_events() -> list[dict]:
    return [
        json.loads(data) if isinstance(data, str) else data
        for data in Event.objects.filter(type=LOW)
        .order_by("id")
        .values_list("data", flat=True)
    ]


@pytest.mark.django_db(transaction=True)
def test_told_once_per_fall_below_the_threshold(network, tenant, tss_worker):  # noqa: F811
    organization, usdc, _, issuer = tenant
    endpoint, _ = services.create_endpoint(
        tenant_id=organization.pk,
        url="http://127.0.0.1:9/hooks",
        event_types=[LOW],
    )
    owner = UserFactory(organization=organization)
    client = client_for(owner)
    address = accounts.distribution_account_for(organization.id)
    distribution = keys.distribution_keypair(organization.id)
    assert usdc_balance(address, issuer) == Decimal("1000")

    # 1000 held, threshold 500: nothing to tell.
    answer = client.patch(
        f"/assets/{usdc.pk}/controls",
        {"low_balance_threshold": "500"},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["low_balance_threshold"] == "500.0000000"
    watch_low_balances_task()
    assert low_events() == []

    # Paid out to 400: exactly one event with the figures.
    move(distribution, issuer.public_key, issuer, "600")
    watch_low_balances_task()
    (event,) = low_events()
    assert event["balance"] == "400.0000000"
    assert event["threshold"] == "500.0000000"
    assert event["asset"]["id"] == str(usdc.pk)
    assert event["asset"]["code"] == "USDC"
    assert event["asset"]["issuer"] == issuer.public_key
    (listed,) = [a for a in client.get("/assets").json() if a["id"] == str(usdc.pk)]
    assert event["asset"] == listed  # as the dashboard renders it
    assert event["distribution_account"]["address"] == address
    assert event["tenant"] == {"id": str(organization.pk), "name": organization.name}
    stored = Event.objects.get(type=LOW)
    assert stored.object_id == str(usdc.pk)
    assert stored.tenant_id == organization.pk
    assert Delivery.objects.get(event=stored).endpoint_id == endpoint.pk
    assert AssetControls.objects.get(asset=usdc).low_balance_since is not None

    # Still low on the next runs: nothing more.
    watch_low_balances_task()
    watch_low_balances_task()
    assert len(low_events()) == 1

    # Funded back above: the state resets, no event.
    move(issuer, address, issuer, "200")
    watch_low_balances_task()
    assert AssetControls.objects.get(asset=usdc).low_balance_since is None
    assert len(low_events()) == 1

    # Falls again: told again, with the new balance, by the task as beat sends
    # it, on a real worker.
    move(distribution, issuer.public_key, issuer, "300")
    # On the tss queue, which only this test's worker (on this localnet) takes:
    # the session's default-queue worker, if a test started it, knows no network.
    watch_low_balances_task.apply_async(queue="tss")
    deadline = time.monotonic() + 30
    while len(events := low_events()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(events) == 2
    assert events[1]["balance"] == "300.0000000"

    # A new threshold is watched afresh: raised above the balance while low,
    # told against it; removed, nothing more is told.
    client.patch(
        f"/assets/{usdc.pk}/controls",
        {"low_balance_threshold": "350.5"},
        format="json",
    )
    watch_low_balances_task()
    events = low_events()
    assert len(events) == 3
    assert events[2]["threshold"] == "350.5000000"
    client.patch(
        f"/assets/{usdc.pk}/controls", {"low_balance_threshold": None}, format="json"
    )
    move(distribution, issuer.public_key, issuer, "100")
    watch_low_balances_task()
    assert len(low_events()) == 3


@pytest.mark.django_db(transaction=True)
def test_horizon_down_logs_and_tells_nothing(network, tenant, settings, caplog):  # noqa: F811
    organization, usdc, _, _ = tenant
    services.create_endpoint(
        tenant_id=organization.pk, url="http://127.0.0.1:9/hooks", event_types=[LOW]
    )
    client = client_for(UserFactory(organization=organization))
    answer = client.patch(
        f"/assets/{usdc.pk}/controls",
        {"low_balance_threshold": "5000"},  # above the 1000 held
        format="json",
    )
    assert answer.status_code == 200
    settings.HORIZON_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens
    with caplog.at_level(logging.WARNING, logger="auth_org.low_balance"):
        watch_low_balances_task()  # returns: nothing escapes the beat
    assert "cannot read the balances" in caplog.text
    assert low_events() == []
    assert AssetControls.objects.get(asset=usdc).low_balance_since is None
    assert client.get(f"/assets/{usdc.pk}/controls").status_code == 200

    # The network back: told.
    settings.HORIZON_URL = network.url
    watch_low_balances_task()
    (event,) = low_events()
    assert event["balance"] == "1000.0000000"
    assert event["threshold"] == "5000.0000000"


@pytest.mark.django_db(transaction=True)
def test_a_circle_tenant_is_watched_on_its_circle_wallet(
    offline_circle,  # noqa: F811
    circle_keys,  # noqa: F811
    circle_org,  # noqa: F811
    settings,
    caplog,
):
    usdc = AssetFactory(organization=circle_org, code="USDC")
    services.create_endpoint(
        tenant_id=circle_org.pk, url="http://127.0.0.1:9/hooks", event_types=[LOW]
    )
    update_controls(circle_org, usdc, {"low_balance_threshold": "80"}, actor=None)

    # Not yet configured (PENDING_USER_ACTIVATION): skipped, logged.
    with caplog.at_level(logging.WARNING, logger="auth_org.low_balance"):
        watch_low_balances_task()
    assert "cannot read the balances" in caplog.text
    assert low_events() == []

    key, wallet_id = circle_keys
    circle_services.configure(circle_org.id, wallet_id=wallet_id, api_key=key)
    watch_low_balances_task()  # 100 USD held
    assert low_events() == []

    with offline_circle.lock:
        offline_circle.state.wallets[wallet_id]["USD"] = Decimal("40")
    watch_low_balances_task()
    watch_low_balances_task()
    (event,) = low_events()
    assert event["balance"] == "40.0000000"
    assert event["threshold"] == "80.0000000"
    assert event["asset"]["id"] == str(usdc.pk)
    assert event["distribution_account"]["circle_wallet_id"] == wallet_id
    assert event["distribution_account"]["type"] == (
        "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT"
    )

    # Circle away: logged, nothing told, the state kept.
    with offline_circle.lock:
        offline_circle.state.wallets[wallet_id]["USD"] = Decimal("100")
    url = settings.CIRCLE_API_BASE_URL
    settings.CIRCLE_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="auth_org.low_balance"):
        watch_low_balances_task()
    assert "cannot read the balances" in caplog.text
    settings.CIRCLE_API_BASE_URL = url
    assert AssetControls.objects.get(asset=usdc).low_balance_since is not None

    # Back above: cleared; below again: told again.
    watch_low_balances_task()
    assert AssetControls.objects.get(asset=usdc).low_balance_since is None
    with offline_circle.lock:
        offline_circle.state.wallets[wallet_id]["USD"] = Decimal("79.99")
    watch_low_balances_task()
    assert [e["balance"] for e in low_events()] == ["40.0000000", "79.9900000"]


@pytest.mark.django_db
def test_the_watch_never_reads_the_network_inside_a_transaction(caplog):
    # pytest-django's non-transactional tests run inside a transaction.
    with pytest.raises(RuntimeError, match="no transaction"):
        low_balance.watch()
    watch_low_balances_task()  # the beat's task logs it, nothing escapes
    assert "low-balance watch failed" in caplog.text
