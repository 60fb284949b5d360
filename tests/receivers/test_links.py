from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from stellar_sdk import Keypair

from receivers.links import (
    asset_param,
    registration_link,
    sign_url,
    verify_signed_url,
)
from tests.factories import AssetFactory, ReceiverWalletFactory


def test_signature_is_ed25519_over_the_go_encoded_url_without_signature():
    keypair = Keypair.random()
    signed = sign_url(
        "wallet://sdp?name=Aid+Org&domain=aid.example:8000&asset=native",
        signing_seed=keypair.secret,
    )
    # Go's url.Values.Encode: keys sorted, QueryEscape'd.
    expected_text = "wallet://sdp?asset=native&domain=aid.example%3A8000&name=Aid+Org"
    assert signed.startswith(expected_text + "&signature=")
    signature = bytes.fromhex(parse_qs(urlsplit(signed).query)["signature"][0])
    # Independent check with the raw ed25519 primitive.
    Ed25519PublicKey.from_public_bytes(keypair.raw_public_key()).verify(
        signature, expected_text.encode()
    )
    assert verify_signed_url(signed, public_key=keypair.public_key)


def test_tampered_or_foreign_links_do_not_verify():
    keypair = Keypair.random()
    signed = sign_url("https://w.example/sdp?name=A", signing_seed=keypair.secret)
    assert not verify_signed_url(
        signed.replace("name=A", "name=B"), public_key=keypair.public_key
    )
    assert not verify_signed_url(signed, public_key=Keypair.random().public_key)
    assert not verify_signed_url(
        "https://w.example/sdp?name=A", public_key=keypair.public_key
    )
    assert not verify_signed_url(
        "https://w.example/sdp?name=A&signature=zz", public_key=keypair.public_key
    )


def test_parameter_order_does_not_matter_and_resigning_replaces_signature():
    keypair = Keypair.random()
    signed = sign_url("https://w.example/?b=2&a=1", signing_seed=keypair.secret)
    query = urlsplit(signed).query
    a, b, sig = query.split("&")
    assert verify_signed_url(
        f"https://w.example/?{sig}&{b}&{a}", public_key=keypair.public_key
    )
    assert sign_url(signed, signing_seed=keypair.secret) == signed


def test_asset_param():
    assert asset_param("XLM", "") == "native"
    assert asset_param("USDC", "GABC") == "USDC-GABC"


@pytest.mark.django_db
def test_registration_link_is_signed_with_the_sep10_key():
    receiver_wallet = ReceiverWalletFactory(wallet__deep_link_schema="wallet://sdp")
    organization = receiver_wallet.organization
    organization.base_url = "https://aid.sdp.example"
    asset = AssetFactory(organization=organization)
    link = registration_link(receiver_wallet, organization=organization, asset=asset)
    params = parse_qs(urlsplit(link).query)
    assert link.startswith("wallet://sdp?")
    assert params["asset"] == [f"USDC-{asset.issuer}"]
    assert params["domain"] == ["aid.sdp.example"]
    assert params["name"] == [organization.display_name]
    assert verify_signed_url(link)
    assert verify_signed_url(link, public_key=settings.SEP10_SIGNING_PUBLIC_KEY)
