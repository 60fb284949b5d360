"""The two bearer tokens of the wallet flow, both HS256 with SEP24_JWT_SECRET.

- the SEP-10 token (2 hours) proves a wallet controls ``account`` (and ``memo``);
- the SEP-24 token (5 minutes) opens the registration pages for one transaction.

Each carries ``token_use`` so one can never stand in for the other, and the
tenant's id so a token of one organization is refused by another.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone

SEP10_TOKEN_LIFETIME = timedelta(hours=2)
SEP24_TOKEN_LIFETIME = timedelta(minutes=5)
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """Missing, malformed, expired, or made for something else."""


@dataclass(frozen=True)
class WalletIdentity:
    """Who a SEP-10 token speaks for."""

    tenant_id: str
    account: str
    memo: str
    client_domain: str
    home_domain: str

    @property
    def subject(self) -> str:
        return f"{self.account}:{self.memo}" if self.memo else self.account


@dataclass(frozen=True)
class InteractiveGrant:
    """What a SEP-24 token lets its bearer do: register for one transaction."""

    identity: WalletIdentity
    transaction_id: str
    lang: str
    expires_at: int


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, settings.SEP24_JWT_SECRET, algorithm=_ALGORITHM)


def _decode(token: str, token_use: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            settings.SEP24_JWT_SECRET,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("token_use") != token_use or not claims.get("tenant_id"):
        raise InvalidToken("token made for another use")
    return claims


def _identity(claims: dict[str, Any]) -> WalletIdentity:
    account, _, memo = str(claims["sub"]).partition(":")
    return WalletIdentity(
        tenant_id=str(claims["tenant_id"]),
        account=account,
        memo=memo,
        client_domain=str(claims.get("client_domain") or ""),
        home_domain=str(claims.get("home_domain") or ""),
    )


def issue_sep10_token(identity: WalletIdentity, *, issuer: str, jti: str) -> str:
    now = timezone.now()
    return _encode(
        {
            "iss": issuer,
            "sub": identity.subject,
            "iat": int(now.timestamp()),
            "exp": int((now + SEP10_TOKEN_LIFETIME).timestamp()),
            "jti": jti,
            "client_domain": identity.client_domain,
            "home_domain": identity.home_domain,
            "tenant_id": identity.tenant_id,
            "token_use": "sep10",
        }
    )


def read_sep10_token(token: str) -> WalletIdentity:
    return _identity(_decode(token, "sep10"))


def issue_sep24_token(
    identity: WalletIdentity, *, transaction_id: uuid.UUID | str, lang: str = ""
) -> str:
    now = timezone.now()
    return _encode(
        {
            "sub": identity.subject,
            "iat": int(now.timestamp()),
            "exp": int((now + SEP24_TOKEN_LIFETIME).timestamp()),
            "jti": str(transaction_id),
            "client_domain": identity.client_domain,
            "home_domain": identity.home_domain,
            "tenant_id": identity.tenant_id,
            "data": {"lang": lang, "kind": "deposit"},
            "token_use": "sep24",
        }
    )


def read_sep24_token(
    token: str, *, transaction_id: str | None = None
) -> InteractiveGrant:
    """Raises InvalidToken, also when ``transaction_id`` is not the token's own."""
    claims = _decode(token, "sep24")
    if transaction_id is not None and str(claims["jti"]) != str(transaction_id):
        raise InvalidToken("token made for another transaction")
    if settings.IS_PUBNET and not claims.get("client_domain"):
        raise InvalidToken("client_domain is required on pubnet")
    data = claims.get("data") or {}
    return InteractiveGrant(
        identity=_identity(claims),
        transaction_id=str(claims["jti"]),
        lang=str(data.get("lang") or ""),
        expires_at=int(claims["exp"]),
    )
