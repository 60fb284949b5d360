# ruff: noqa: E501 - tables of literal hostile inputs, one per line
"""Wallets and assets routes (dashboard-api.md §2.7, flow 10)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stellar_sdk import Keypair

from auth_org.models import Asset, Role, Wallet
from tests.api2_fixtures import client_for, role_user
from tests.factories import AssetFactory, ReceiverWalletFactory, WalletFactory

pytestmark = pytest.mark.django_db

ISSUER = Keypair.from_raw_ed25519_seed(bytes([9]) * 32).public_key


def wallet_body(**overrides):
    body = {
        "name": "Vibrant",
        "homepage": "https://vibrant.example.org",
        "deep_link_schema": "vibrant://sdp",
        "sep_10_client_domain": "vibrant.example.org",
        "enabled": True,
        "assets": [],
    }
    body.update(overrides)
    return body


def test_wallet_list_shape_and_filters(api, organization, wallet, usdc):
    WalletFactory(organization=organization, name="Off", enabled=False)
    WalletFactory(organization=organization, name="Mine", user_managed=True)
    WalletFactory(name="Other tenant")
    body = api.get("/wallets").json()
    assert [w["name"] for w in body] == ["Demo Wallet", "Mine", "Off"]
    demo = body[0]
    assert set(demo) >= {
        "id", "name", "homepage", "deep_link_schema", "sep_10_client_domain",
        "enabled", "user_managed", "embedded", "assets", "created_at", "updated_at",
    }  # fmt: skip
    assert [a["code"] for a in demo["assets"]] == ["USDC"]
    assert [w["name"] for w in api.get("/wallets?enabled=false").json()] == ["Off"]
    assert [w["name"] for w in api.get("/wallets?user_managed=true").json()] == ["Mine"]
    assert [w["name"] for w in api.get("/wallets?supported_assets=USDC").json()] == [
        "Demo Wallet"
    ]
    assert [
        w["name"] for w in api.get(f"/wallets?supported_assets={usdc.pk}").json()
    ] == ["Demo Wallet"]
    assert api.get("/wallets?enabled=maybe").status_code == 400


def test_create_patch_delete_wallet(api, organization, usdc):
    response = api.post(
        "/wallets", wallet_body(assets=[{"id": str(usdc.pk)}]), format="json"
    )
    assert response.status_code == 201, response.json()
    wallet_id = response.json()["id"]
    assert [a["id"] for a in response.json()["assets"]] == [str(usdc.pk)]
    response = api.patch(f"/wallets/{wallet_id}", {"enabled": False}, format="json")
    assert response.json()["enabled"] is False
    response = api.patch(f"/wallets/{wallet_id}", {"assets": []}, format="json")
    assert response.json()["assets"] == []
    response = api.delete(f"/wallets/{wallet_id}")
    assert response.status_code == 204
    assert Wallet.objects.get(pk=wallet_id).deleted_at is not None
    assert api.get("/wallets").json() == []
    assert len(api.get("/wallets?include_deleted=true").json()) == 1


def test_duplicate_wallet_is_409(api, organization):
    api.post("/wallets", wallet_body(), format="json")
    assert api.post("/wallets", wallet_body(), format="json").status_code == 409
    assert Wallet.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "extras"),
    [
        ({"name": "x" * 31}, {"name": "Ensure this field has no more than 30 characters."}),
        ({"homepage": "not a url"}, {"homepage": "Enter a valid URL."}),
        ({"homepage": "javascript:alert(1)"}, {"homepage": "Enter a valid URL."}),
        ({"assets": [{"id": "00000000-0000-0000-0000-000000000000"}]}, {"assets[0]": "asset not found"}),
        ({"name": ""}, {"name": "This field may not be blank."}),
    ],
)  # fmt: skip
def test_wallet_hostile_bodies(api, organization, overrides, extras):
    response = api.post("/wallets", wallet_body(**overrides), format="json")
    assert response.status_code == 400
    assert response.json()["extras"] == extras
    assert not Wallet.objects.exists()


def test_wallet_delete_refused_while_receivers_are_invited(api, organization, wallet):
    ReceiverWalletFactory(
        receiver__organization=organization, wallet=wallet, status="READY"
    )
    response = api.delete(f"/wallets/{wallet.pk}")
    assert response.status_code == 400
    wallet.refresh_from_db()
    assert wallet.deleted_at is None


def test_wallet_roles(organization, wallet):
    for role, code in [(Role.DEVELOPER, 200), (Role.FINANCIAL_CONTROLLER, 403)]:
        client = client_for(role_user(organization, role))
        response = client.patch(
            f"/wallets/{wallet.pk}", {"enabled": False}, format="json"
        )
        assert response.status_code == code, role
    business = client_for(role_user(organization, Role.BUSINESS))
    assert business.get("/wallets").status_code == 200
    assert business.delete(f"/wallets/{wallet.pk}").status_code == 403


def test_assets_with_trustlines_and_balances(api, organization, usdc, ledger):
    AssetFactory(organization=organization, code="XLM", issuer="")
    no_line = AssetFactory(organization=organization, code="EURC")
    ledger.balances[("USDC", usdc.issuer)] = Decimal("12.5")
    body = api.get("/assets").json()
    assert sorted(a["code"] for a in body) == ["EURC", "USDC", "XLM"]
    assert set(body[0]) == {
        "id",
        "code",
        "issuer",
        "created_at",
        "updated_at",
        "deleted_at",
    }
    enabled = api.get("/assets?enabled=true").json()
    assert {a["code"]: a["balance"] for a in enabled} == {
        "USDC": "12.5000000", "XLM": "10000.0000000",
    }  # fmt: skip
    assert all(a["has_trustline"] for a in enabled)
    disabled = api.get("/assets?enabled=false").json()
    assert [a["id"] for a in disabled] == [str(no_line.pk)]


def test_assets_of_a_wallet(api, wallet, usdc, organization):
    AssetFactory(organization=organization, code="EURC")
    assert [a["code"] for a in api.get(f"/assets?wallet={wallet.pk}").json()] == [
        "USDC"
    ]


def test_add_asset_adds_trustline_and_is_idempotent(api, organization, ledger):
    response = api.post("/assets", {"code": "EURC", "issuer": ISSUER}, format="json")
    assert response.status_code == 201, response.json()
    assert ("ensure_trustline", organization.id, "EURC", ISSUER) in ledger.calls
    again = api.post("/assets", {"code": "EURC", "issuer": ISSUER}, format="json")
    assert again.json()["id"] == response.json()["id"]
    assert Asset.objects.filter(code="EURC").count() == 1


@pytest.mark.parametrize(
    ("body", "extras"),
    [
        ({"code": "TOOLONGCODE13", "issuer": ISSUER}, {"code": "Ensure this field has no more than 12 characters."}),
        ({"code": "EURC", "issuer": "GBAD"}, {"issuer": "invalid issuer"}),
        ({"code": "XLM", "issuer": ISSUER}, {"issuer": "the native asset has no issuer"}),
        ({"code": "EU-RC", "issuer": ISSUER}, {"code": "invalid asset code"}),
        ({"code": "", "issuer": ISSUER}, {"code": "This field may not be blank."}),
    ],
)  # fmt: skip
def test_asset_hostile_bodies(api, organization, ledger, body, extras):
    response = api.post("/assets", body, format="json")
    assert response.status_code == 400
    assert response.json()["extras"] == extras
    assert not Asset.objects.exists()
    assert not [c for c in ledger.calls if c[0] == "ensure_trustline"]


def test_delete_asset_removes_trustline(api, organization, ledger):
    asset = AssetFactory(organization=organization, code="EURC", issuer=ISSUER)
    ledger.balances[("EURC", ISSUER)] = Decimal("0")
    response = api.delete(f"/assets/{asset.pk}")
    assert response.status_code == 200
    assert response.json()["deleted_at"] is not None
    assert ("EURC", ISSUER) not in ledger.balances


def test_delete_asset_refused_while_balance_remains(api, organization, ledger):
    asset = AssetFactory(organization=organization, code="EURC", issuer=ISSUER)
    ledger.balances[("EURC", ISSUER)] = Decimal("3")
    response = api.delete(f"/assets/{asset.pk}")
    assert response.status_code == 422
    asset.refresh_from_db()
    assert asset.deleted_at is None
    assert ("EURC", ISSUER) in ledger.balances


def test_asset_roles_and_isolation(organization, usdc):
    business = client_for(role_user(organization, Role.BUSINESS))
    assert business.get("/assets").status_code == 200
    assert (
        business.post(
            "/assets", {"code": "EURC", "issuer": ISSUER}, format="json"
        ).status_code
        == 403
    )
    other = AssetFactory()
    owner = client_for(role_user(organization, Role.OWNER))
    assert owner.delete(f"/assets/{other.pk}").status_code == 404


def test_create_wallet_with_a_new_classic_asset_creates_it(api, organization, usdc):
    """The dashboard's wallet form sends asset references; SDP creates a
    classic (or native) asset the organization does not have yet."""
    response = api.post(
        "/wallets",
        wallet_body(
            assets=[
                {"type": "classic", "code": "EURC", "issuer": ISSUER},
                {"type": "native"},
                {"id": str(usdc.pk)},
            ]
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    eurc = Asset.objects.get(organization=organization, code="EURC")
    assert eurc.issuer == ISSUER
    xlm = Asset.objects.get(organization=organization, code="XLM")
    assert {a["id"] for a in response.json()["assets"]} == {
        str(eurc.pk),
        str(xlm.pk),
        str(usdc.pk),
    }
    # The same reference again finds it, on create and on edit.
    response = api.patch(
        f"/wallets/{response.json()['id']}",
        {"assets": [{"type": "classic", "code": "EURC", "issuer": ISSUER}]},
        format="json",
    )
    assert [a["id"] for a in response.json()["assets"]] == [str(eurc.pk)]
    assert Asset.objects.filter(code="EURC").count() == 1


@pytest.mark.parametrize(
    ("asset", "extras"),
    [
        ({"type": "classic", "code": "EURC", "issuer": "GBAD"}, {"assets[0].issuer": "invalid issuer"}),
        ({"type": "classic", "code": "TOO-LONG-CODE", "issuer": ISSUER}, {"assets[0].code": "invalid asset code"}),
        ({"type": "classic", "code": ["x"], "issuer": ISSUER}, {"assets[0].code": "invalid asset code"}),
        ({"type": "classic", "code": "ÉURC", "issuer": ISSUER}, {"assets[0].code": "invalid asset code"}),
        ({"type": "classic", "code": "XLM", "issuer": ISSUER}, {"assets[0].issuer": "the native asset has no issuer"}),
        ({"type": "contract", "contract_id": "C"}, {"assets[0].type": "contract assets are not supported"}),
        ({"type": "classic"}, {"assets[0]": "asset id, or type with code and issuer"}),
    ],
)  # fmt: skip
def test_wallet_asset_references_refused(api, organization, asset, extras):
    response = api.post("/wallets", wallet_body(assets=[asset]), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["extras"] == extras
    assert not Wallet.objects.exists()
    assert not Asset.objects.exists()
