"""SEP-10: a wallet proves it controls a Stellar account and gets a token.

The challenge comes from ``stellar_sdk.sep.stellar_web_authentication``; what is
ours is the policy around it: which home and client domains are accepted, the
nonce that makes each challenge usable once, and how signers are weighed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from stellar_sdk import Server, StrKey, TransactionEnvelope
from stellar_sdk.exceptions import ConnectionError as StellarConnectionError
from stellar_sdk.exceptions import NotFoundError
from stellar_sdk.operation import ManageData
from stellar_sdk.sep.ed25519_public_key_signer import Ed25519PublicKeySigner
from stellar_sdk.sep.exceptions import InvalidSep10ChallengeError
from stellar_sdk.sep.stellar_web_authentication import (
    build_challenge_transaction,
    read_challenge_transaction,
    verify_challenge_transaction,
    verify_challenge_transaction_threshold,
)

from auth_org.models import Organization
from receivers.models import SepNonce
from receivers.sep.domains import (
    ClientDomainError,
    accepted_home_domains,
    fetch_client_signing_key,
    tenant_home_domain,
    trusted_client_domains,
)
from receivers.sep.tokens import WalletIdentity, issue_sep10_token
from sdp.api import APIError

logger = logging.getLogger(__name__)

CHALLENGE_TIMEOUT = timedelta(minutes=15)
MAX_XDR_CHARS = 50 * 1024
MAX_MEMO_ID = 2**64 - 1


class WebAuthError(APIError):
    status_code = 400


@dataclass(frozen=True)
class Challenge:
    transaction: str
    network_passphrase: str


def web_auth_domain(request_host: str) -> str:
    """SEP-10's web auth domain: the domain name of the endpoint the client
    connected to, without the port. Clients compare it with the endpoint URL's
    host name (SDF's TypeScript wallet SDK: ``new URL(endpoint).hostname``),
    so a port in it fails them on any port but 443."""
    return urlsplit(f"//{request_host}").hostname or request_host


def _parse_memo(memo: str) -> int | None:
    if not memo:
        return None
    if not memo.isdigit() or int(memo) > MAX_MEMO_ID or int(memo) == 0:
        raise WebAuthError("memo must be a positive integer (an ID memo)")
    return int(memo)


def create_challenge(
    organization: Organization,
    *,
    account: str,
    memo: str = "",
    home_domain: str = "",
    client_domain: str = "",
    request_host: str,
) -> Challenge:
    """A signed challenge for ``account``; its nonce is stored for single use.

    Raises WebAuthError for a bad account, memo or domain, or a client domain
    whose stellar.toml cannot give its SIGNING_KEY.
    """
    if not StrKey.is_valid_ed25519_public_key(account or ""):
        raise WebAuthError("account must be a valid Stellar account (G...)")
    memo_id = _parse_memo(memo)
    home_domain = home_domain or tenant_home_domain(organization)
    if home_domain not in accepted_home_domains(organization, request_host):
        raise WebAuthError(f"home_domain must be {tenant_home_domain(organization)}")
    client_signing_key = None
    if client_domain:
        if client_domain not in trusted_client_domains(organization):
            raise WebAuthError(
                "client_domain is not one of this organization's wallets"
            )
        try:
            client_signing_key = fetch_client_signing_key(client_domain)
        except ClientDomainError as exc:
            raise WebAuthError(f"client_domain: {exc}") from exc
    elif settings.SEP10_CLIENT_ATTRIBUTION_REQUIRED:
        raise WebAuthError("client_domain is required")

    xdr = build_challenge_transaction(
        server_secret=settings.SEP10_SIGNING_PRIVATE_KEY,
        client_account_id=account,
        home_domain=home_domain,
        web_auth_domain=web_auth_domain(request_host),
        network_passphrase=settings.NETWORK_PASSPHRASE,
        timeout=int(CHALLENGE_TIMEOUT.total_seconds()),
        client_domain=client_domain or None,
        client_signing_key=client_signing_key,
        memo=memo_id,
    )
    envelope = TransactionEnvelope.from_xdr(xdr, settings.NETWORK_PASSPHRASE)
    SepNonce.objects.create(
        nonce=_nonce_of(envelope),
        expires_at=timezone.now() + CHALLENGE_TIMEOUT,
    )
    return Challenge(transaction=xdr, network_passphrase=settings.NETWORK_PASSPHRASE)


def _nonce_of(envelope: TransactionEnvelope) -> str:
    first = envelope.transaction.operations[0]
    # The SDK builds the first operation as the nonce's ManageData.
    if not isinstance(first, ManageData) or not first.data_value:
        raise WebAuthError("challenge has no nonce")
    return first.data_value.decode()


def _client_domain_of(envelope: TransactionEnvelope) -> str:
    for operation in envelope.transaction.operations:
        if isinstance(operation, ManageData) and operation.data_name == "client_domain":
            return (operation.data_value or b"").decode()
    return ""


def _verify_client_signatures(
    xdr: str, *, account: str, home_domains: list[str], request_host: str
) -> None:
    """Signer weights when the account exists on the ledger, else its master key
    alone (SEP-10). A Horizon outage is not a reason to fall back: an existing
    account may have its master key disabled."""
    server_key = settings.SEP10_SIGNING_PUBLIC_KEY
    passphrase = settings.NETWORK_PASSPHRASE
    try:
        record = Server(settings.HORIZON_URL).accounts().account_id(account).call()
    except NotFoundError:
        verify_challenge_transaction(
            xdr, server_key, home_domains, web_auth_domain(request_host), passphrase
        )
        return
    except StellarConnectionError as exc:
        raise APIError(
            "The Stellar network could not be reached; try again.", status_code=503
        ) from exc
    signers = [
        Ed25519PublicKeySigner(signer["key"], signer["weight"])
        for signer in record.get("signers", [])
        if signer.get("type") == "ed25519_public_key" and signer.get("weight", 0) > 0
    ]
    threshold = int(record.get("thresholds", {}).get("med_threshold", 0))
    verify_challenge_transaction_threshold(
        xdr,
        server_key,
        home_domains,
        web_auth_domain(request_host),
        passphrase,
        threshold,
        signers,
    )


def exchange_challenge(
    organization: Organization, *, transaction_xdr: str, request_host: str, issuer: str
) -> str:
    """Verify a signed challenge and return a SEP-10 token. The challenge's nonce
    is consumed, so a challenge works once. Raises WebAuthError."""
    if not transaction_xdr:
        raise WebAuthError("transaction is required")
    if len(transaction_xdr) > MAX_XDR_CHARS:
        raise WebAuthError("transaction is larger than 50 KB")
    home_domains = accepted_home_domains(organization, request_host)
    try:
        challenge = read_challenge_transaction(
            transaction_xdr,
            settings.SEP10_SIGNING_PUBLIC_KEY,
            home_domains,
            web_auth_domain(request_host),
            settings.NETWORK_PASSPHRASE,
        )
        account = challenge.client_account_id
        if not StrKey.is_valid_ed25519_public_key(account):
            raise WebAuthError("only G... accounts are supported")
        _verify_client_signatures(
            transaction_xdr,
            account=account,
            home_domains=home_domains,
            request_host=request_host,
        )
    except InvalidSep10ChallengeError as exc:
        raise WebAuthError(f"invalid challenge: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise WebAuthError("transaction is not a valid challenge") from exc

    envelope = challenge.transaction
    consumed, _ = SepNonce.objects.filter(
        nonce=_nonce_of(envelope), expires_at__gt=timezone.now()
    ).delete()
    if not consumed:
        raise WebAuthError("challenge already used, expired or unknown")
    identity = WalletIdentity(
        tenant_id=str(organization.id),
        account=account,
        memo=str(challenge.memo) if challenge.memo else "",
        client_domain=_client_domain_of(envelope),
        home_domain=challenge.matched_home_domain,
    )
    return issue_sep10_token(identity, issuer=issuer, jti=envelope.hash_hex())


def delete_expired_nonces() -> int:
    deleted, _ = SepNonce.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
