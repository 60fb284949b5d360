"""Where a tenant is reached: its home domain, and the client domains it trusts."""

from __future__ import annotations

import tomllib
from urllib.parse import urlsplit

from django.conf import settings
from stellar_sdk import Keypair
from stellar_sdk.exceptions import Ed25519PublicKeyInvalidError

from auth_org.models import Organization, Wallet
from sdp.safe_http import UnsafeURL, fetch_public

# SEP-1 caps what a client may read of a stellar.toml; so do we.
STELLAR_TOML_MAX_BYTES = 100 * 1024
CLIENT_DOMAIN_TIMEOUT_SECONDS = 5.0


class ClientDomainError(Exception):
    """The client domain's stellar.toml is missing, unreadable or has no key."""


def tenant_home_domain(organization: Organization | None) -> str:
    """The host (with port, if any) in the tenant's base URL, as in its links."""
    base_url = (organization.base_url if organization else "") or settings.BASE_URL
    return urlsplit(base_url).netloc


def accepted_home_domains(organization: Organization, request_host: str) -> list[str]:
    """A wallet may name the tenant by its configured domain or by the host it
    reached us at (the domain it read our stellar.toml from)."""
    return list(dict.fromkeys([tenant_home_domain(organization), request_host]))


def trusted_client_domains(organization: Organization) -> set[str]:
    return set(
        Wallet.objects.filter(
            organization=organization, enabled=True, deleted_at__isnull=True
        )
        .exclude(sep_10_client_domain="")
        .values_list("sep_10_client_domain", flat=True)
    )


def fetch_client_signing_key(client_domain: str) -> str:
    """The SIGNING_KEY a wallet publishes in its stellar.toml (network I/O).

    Anonymous callers choose which trusted client domain is read, so the read
    goes to public addresses only (resolved, and the connection pinned to the
    checked address), except on the local network; with a timeout and a size
    cap (``sdp.safe_http``)."""
    url = settings.SEP10_CLIENT_DOMAIN_TOML_URL.format(domain=client_domain)
    try:
        response = fetch_public(
            url,
            max_bytes=STELLAR_TOML_MAX_BYTES,
            allow_private=settings.NETWORK_PASSPHRASE == settings.LOCALNET_PASSPHRASE,
            timeout=CLIENT_DOMAIN_TIMEOUT_SECONDS,
        )
    except UnsafeURL as exc:
        raise ClientDomainError(f"the client domain cannot be read: {exc}") from exc
    if response.status != 200:
        raise ClientDomainError("the client domain has no stellar.toml")
    try:
        signing_key = tomllib.loads(response.body.decode("utf-8")).get(
            "SIGNING_KEY", ""
        )
        Keypair.from_public_key(signing_key)
    except (
        tomllib.TOMLDecodeError,
        UnicodeDecodeError,
        Ed25519PublicKeyInvalidError,
        TypeError,
    ) as exc:
        raise ClientDomainError("the client domain has no valid SIGNING_KEY") from exc
    return signing_key
