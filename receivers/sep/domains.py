"""Where a tenant is reached: its home domain, and the client domains it trusts."""

from __future__ import annotations

import tomllib
from urllib.parse import urlsplit

from django.conf import settings
from stellar_sdk import Keypair
from stellar_sdk.client.requests_client import RequestsClient
from stellar_sdk.exceptions import ConnectionError as StellarConnectionError
from stellar_sdk.exceptions import Ed25519PublicKeyInvalidError

from auth_org.models import Organization, Wallet

# SEP-1 caps what a client may read of a stellar.toml; so do we.
STELLAR_TOML_MAX_BYTES = 100 * 1024


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
    """The SIGNING_KEY a wallet publishes in its stellar.toml (network I/O)."""
    url = settings.SEP10_CLIENT_DOMAIN_TOML_URL.format(domain=client_domain)
    try:
        response = RequestsClient().get(url, max_content_size=STELLAR_TOML_MAX_BYTES)
    except StellarConnectionError as exc:
        raise ClientDomainError("the client domain could not be reached") from exc
    except Exception as exc:  # size limit, bad TLS...: all the same
        raise ClientDomainError("the client domain's stellar.toml is unusable") from exc
    if response.status_code != 200:
        raise ClientDomainError("the client domain has no stellar.toml")
    try:
        signing_key = tomllib.loads(response.text).get("SIGNING_KEY", "")
        Keypair.from_public_key(signing_key)
    except (tomllib.TOMLDecodeError, Ed25519PublicKeyInvalidError, TypeError) as exc:
        raise ClientDomainError("the client domain has no valid SIGNING_KEY") from exc
    return signing_key
