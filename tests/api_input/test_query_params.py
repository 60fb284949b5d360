"""Query parameters of the lists and exports (issue 17 item 15, issue 16 item 13):
one declaration per list (core.params) validates and documents them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import DisbursementFactory, PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_receivers(organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="STARTED",
        name="Aid May",
    )  # fmt: skip
    payments = [
        PaymentFactory(
            disbursement=disbursement,
            status=status,
            amount=Decimal("5"),
            asset=usdc,
            receiver_wallet__wallet=wallet,
        )
        for status in ("SUCCESS", "READY")
    ]
    return disbursement, payments


# The dashboard 6.5's requests, exactly as it sends them.
DASHBOARD_LISTS = [
    "/disbursements?status=STARTED%2CPAUSED%2CCOMPLETED",
    "/disbursements?status=DRAFT%2CREADY&page_limit=100",
    "/disbursements?status=STARTED&page=1&page_limit=20&q=Aid",
    "/disbursements?page=1&page_limit=20&sort=name&direction=asc"
    "&created_at_after=2020-01-01&created_at_before=2099-12-31",
    "/payments/?page=1&page_limit=20",
    "/payments/?page=1&page_limit=20&status=SUCCESS&q=Aid",
    "/payments/?page=1&page_limit=20&created_at_after=2020-01-01"
    "&created_at_before=2099-12-31&type=disbursement&sort=created_at&direction=DESC",
    "/receivers/?page=1&page_limit=20",
    "/receivers?q=555&page=1&page_limit=5",
    "/receivers/?page=1&page_limit=20&status=READY&sort=created_at&direction=asc"
    "&created_at_after=2020-01-01&created_at_before=2099-12-31",
    "/assets?enabled=true",
    "/wallets?supported_assets=USDC",
    "/wallets?supported_assets=USDC&user_managed=false",
    "/wallets?enabled=true&include_deleted=false",
    "/users?sort=email&direction=asc",
    "/exports/disbursements?status=STARTED&q=Aid",
    "/exports/payments?status=SUCCESS&created_at_after=2020-01-01",
    "/exports/receivers?q=555",
    "/exports/payments?page=1&page_limit=20&status=SUCCESS",
]


@pytest.mark.parametrize("url", DASHBOARD_LISTS)
def test_dashboard_list_requests_are_accepted(api, two_receivers, url):
    assert api.get(url).status_code == 200, url


def test_payments_of_one_receiver_and_of_one_wallet(api, two_receivers, wallet):
    _, (paid, _ready) = two_receivers
    body = api.get(f"/payments/?page=1&page_limit=20&receiver_id={paid.receiver_id}")
    assert [p["id"] for p in body.json()["data"]] == [str(paid.pk)]
    assert api.get(f"/assets?wallet={wallet.pk}").json()[0]["code"] == "USDC"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        # Today: every payment of the tenant, the filter silently dropped.
        ("/payments?disbursement_id={disbursement}", "disbursement_id"),
        ("/payments/?page=1&page_limit=20&receiverId={receiver}", "receiverId"),
        ("/disbursements?status=STARTED&wallet_id=x", "wallet_id"),
        ("/receivers/?page=1&phone=555", "phone"),
        ("/exports/payments?disbursement_id={disbursement}", "disbursement_id"),
        ("/exports/receivers?external_id=x", "external_id"),
        ("/exports/disbursements?name=x", "name"),
        ("/assets?wallet_id=x", "wallet_id"),
        ("/wallets?supported_asset=USDC", "supported_asset"),
        ("/disbursements/{disbursement}/receivers?page=1&q=x", "q"),
        ("/users?role=owner", "role"),
        ("/api-keys?x=1", "x"),
    ],
)
def test_unknown_parameter_is_a_400_naming_it(api, two_receivers, url, name):
    disbursement, (paid, _) = two_receivers
    url = url.format(disbursement=disbursement.pk, receiver=paid.receiver_id)
    response = api.get(url)
    assert response.status_code == 400, url
    extras = response.json()["extras"]
    assert name in extras, extras
    assert extras[name].startswith("unknown parameter"), extras


HOSTILE = [
    # a NUL byte reached PostgreSQL: 500
    ("/disbursements?q=a%00b", "q"),
    ("/payments?q=%00", "q"),
    ("/receivers?q=x%00", "q"),
    ("/exports/disbursements?q=%00", "q"),
    ("/exports/payments?q=%00", "q"),
    ("/exports/receivers?q=%00", "q"),
    ("/exports/payments?status=SUCCESS%00", "status"),
    ("/exports/disbursements?created_at_after=2024-01-01%00", "created_at_after"),
    ("/wallets?supported_assets=USDC%00", "supported_assets"),
    # an OFFSET past bigint: 500
    ("/disbursements?page=9223372036854775808", "page"),
    ("/payments?page=9223372036854775807", "page"),
    ("/receivers?page=99999999999999999999999", "page"),
    ("/disbursements/{disbursement}/receivers?page=9223372036854775808", "page"),
    ("/payments?page=-1", "page"),
    ("/payments?page_limit=0", "page_limit"),
    ("/payments?page=%D9%A1", "page"),  # an Arabic-Indic digit
    ("/payments?status=PAID", "status"),
    ("/payments?type=refund", "type"),
    ("/payments?receiver_id=nope", "receiver_id"),
    ("/disbursements?sort=amount", "sort"),
    ("/disbursements?direction=up", "direction"),
    ("/disbursements?created_at_after=2024-13-01", "created_at_after"),
    ("/receivers?created_at_before=20240101", "created_at_before"),
    ("/assets?enabled=maybe", "enabled"),
    ("/assets?wallet=x", "wallet"),
    ("/wallets?include_deleted=2", "include_deleted"),
    ("/receivers?q=" + "x" * 300, "q"),
]


@pytest.mark.parametrize(("url", "name"), HOSTILE)
def test_hostile_parameters_are_a_400_naming_them(api, two_receivers, url, name):
    disbursement, _ = two_receivers
    response = api.get(url.format(disbursement=disbursement.pk))
    assert response.status_code == 400, (url, response.content[:200])
    assert name in response.json()["extras"], response.json()


def test_every_bad_parameter_is_named_at_once(api):
    response = api.get("/payments?status=PAID&type=x&page=0&color=red&sort=amount")
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert set(extras) == {"status", "type", "page", "color", "sort"}
    assert extras["status"] == (
        "invalid value 'PAID'; allowed values: "
        "DRAFT, READY, PENDING, PAUSED, SUCCESS, FAILED, CANCELED"
    )


def test_page_limit_above_100_is_capped_as_sdp_does(api, two_receivers):
    body = api.get("/payments?page_limit=1000").json()
    assert body["pagination"]["total"] == 2


def test_parameters_are_checked_after_authentication(client):
    # Unauthenticated: 401, not a 400 telling what the list accepts.
    assert client.get("/payments?disbursement_id=x").status_code == 401


def test_openapi_documents_each_lists_parameters(client):
    schema = client.get("/openapi.json").json()

    def parameters(path, method="get"):
        return {p["name"]: p for p in schema["paths"][path][method]["parameters"]}

    payments = parameters("/payments")
    assert set(payments) >= {
        "page", "page_limit", "status", "receiver_id", "type", "q",
        "created_at_after", "created_at_before", "sort", "direction",
    }  # fmt: skip
    assert payments["receiver_id"]["schema"]["format"] == "uuid"
    assert payments["type"]["schema"]["enum"] == ["DIRECT", "DISBURSEMENT"]
    assert payments["sort"]["schema"]["enum"] == ["created_at", "updated_at"]
    assert payments["page"]["schema"]["type"] == "integer"
    assert payments["created_at_after"]["schema"]["format"] == "date"
    assert "COMPLETED" in parameters("/disbursements")["status"]["description"]
    assert set(parameters("/exports/receivers")) == set(parameters("/receivers"))
    export_page = parameters("/exports/payments")["page"]
    assert export_page["description"].startswith("Accepted and ignored")
    assert set(parameters("/wallets")) == {
        "enabled", "user_managed", "include_deleted", "supported_assets",
    }  # fmt: skip
    assert set(parameters("/assets")) == {"wallet", "enabled"}
    receivers = parameters("/disbursements/{id}/receivers")
    assert set(receivers) == {"id", "page", "page_limit", "sort", "direction"}
    assert payments["page"]["schema"]["maximum"] == 2**31 - 1


def test_assets_with_trustlines_while_horizon_is_down_is_a_503(api, usdc, monkeypatch):
    from tss import accounts
    from tss.errors import HorizonError

    def unreachable(tenant_id):
        raise HorizonError("Horizon unreachable: ConnectionError")

    monkeypatch.setattr(accounts, "balances", unreachable)
    response = api.get("/assets?enabled=true")
    assert response.status_code == 503
    assert "unreachable" in response.json()["error"]


def test_disbursement_receivers_sort_as_sdp_does(api, organization, wallet, usdc):
    from datetime import timedelta

    from django.utils import timezone

    from receivers.models import Receiver

    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    payments = [
        PaymentFactory(
            disbursement=disbursement, amount=Decimal("1"), asset=usdc,
            receiver_wallet__wallet=wallet,
        )
        for _ in range(3)
    ]  # fmt: skip
    # Receivers updated in the reverse of the upload order.
    now = timezone.now()
    for age, payment in enumerate(payments):
        Receiver.objects.filter(pk=payment.receiver_id).update(
            updated_at=now - timedelta(hours=age)
        )
    url = f"/disbursements/{disbursement.pk}/receivers?page=1&page_limit=20"

    def order(query=""):
        return [row["payment"]["id"] for row in api.get(url + query).json()["data"]]

    ids = [str(p.pk) for p in payments]
    assert order() == ids  # upload order
    assert order("&sort=updated_at") == ids  # newest first: the first payment's
    assert order("&sort=updated_at&direction=ASC") == ids[::-1]
    assert order("&direction=desc") == ids[::-1]
    assert api.get(url + "&status=READY").status_code == 400
