"""Destination accounts and trustlines read through Stellar RPC's
``getLedgerEntries``, for the pre-flight: up to 200 keys a request, a few
requests at once. An absent key is an absent account or trustline.

For the native asset the account keys are asked; for any other asset the
trustline keys, then the account keys of the destinations without one (to tell
"no account" from "no trustline"). Each destination comes back in the
pre-flight's stored form, ``{"exists": bool, "lines": [[code, issuer, balance,
limit, authorized]]}``, holding only the asked asset's line. Never call this
inside a database transaction.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.conf import settings
from stellar_sdk import Asset as StellarAsset
from stellar_sdk import StrKey
from stellar_sdk import xdr as X
from stellar_sdk.exceptions import SdkError

from tss import contract

BATCH_KEYS = 200  # the most keys real Stellar RPC takes in one request
THREADS = 4


class LedgerReadFailed(Exception):
    """RPC is not configured, or could not be asked, or answered nonsense."""


def configured() -> bool:
    return bool(str(getattr(settings, "RPC_URL", "") or "").strip())


def _account_id(address: str) -> X.AccountID:
    try:
        raw = StrKey.decode_ed25519_public_key(address)
    except ValueError as exc:  # Horizon answers for it as it always did
        raise LedgerReadFailed(f"not an account address: {address!r}") from exc
    return X.AccountID(
        X.PublicKey(X.PublicKeyType.PUBLIC_KEY_TYPE_ED25519, X.Uint256(raw))
    )


def _account_key(address: str) -> X.LedgerKey:
    return X.LedgerKey(
        X.LedgerEntryType.ACCOUNT,
        account=X.LedgerKeyAccount(_account_id(address)),
    )


def _trustline_key(address: str, asset: X.TrustLineAsset) -> X.LedgerKey:
    return X.LedgerKey(
        X.LedgerEntryType.TRUSTLINE,
        trust_line=X.LedgerKeyTrustLine(_account_id(address), asset),
    )


def _batch(keys: list[X.LedgerKey]) -> dict[str, str]:
    """key (base64 XDR) -> its entry's data (base64 XDR), for the keys present."""
    try:
        answer = contract.server().get_ledger_entries(keys)
    except (SdkError, OSError, ValueError) as exc:
        raise LedgerReadFailed(str(exc)) from exc
    return {entry.key: entry.xdr for entry in answer.entries or []}


def _entries(keys: dict[str, X.LedgerKey]) -> dict[str, str]:
    texts = list(keys)
    chunks = [
        [keys[t] for t in texts[i : i + BATCH_KEYS]]
        for i in range(0, len(texts), BATCH_KEYS)
    ]
    found: dict[str, str] = {}
    if len(chunks) == 1:
        return _batch(chunks[0])
    with ThreadPoolExecutor(THREADS) as pool:
        for part in pool.map(_batch, chunks):
            found.update(part)
    return found


def _amount(stroops: X.Int64) -> str:
    return str(Decimal(stroops.int64).scaleb(-7))


def read_destinations(
    addresses: list[str], asset: tuple[str, str] | None
) -> dict[str, dict]:
    """Each address as the ledger shows it, for ``asset`` ((code, issuer), or
    None for XLM). Raises LedgerReadFailed."""
    if not configured():
        raise LedgerReadFailed("RPC_URL is not set")
    result: dict[str, dict] = {}
    to_ask = list(addresses)
    if asset is not None:
        code, issuer = asset
        line_asset = StellarAsset(code, issuer).to_trust_line_asset_xdr_object()
        by_key = {}
        for address in addresses:
            key = _trustline_key(address, line_asset)
            by_key[key.to_xdr()] = (address, key)
        found = _entries({text: key for text, (_, key) in by_key.items()})
        to_ask = []
        for text, (address, _) in by_key.items():
            if text not in found:
                to_ask.append(address)
                continue
            try:
                data = X.LedgerEntryData.from_xdr(found[text])
            except Exception as exc:  # the XDR library raises bare errors
                raise LedgerReadFailed(f"undecodable trustline entry: {exc}") from exc
            line = data.trust_line
            if data.type != X.LedgerEntryType.TRUSTLINE or line is None:
                raise LedgerReadFailed("a trustline key answered another entry")
            authorized = bool(
                line.flags.uint32 & X.TrustLineFlags.AUTHORIZED_FLAG.value
            )
            result[address] = {
                "exists": True,
                "lines": [
                    [
                        code,
                        issuer,
                        _amount(line.balance),
                        _amount(line.limit),
                        authorized,
                    ]
                ],
            }
    if to_ask:
        account_keys = {}
        for address in to_ask:
            key = _account_key(address)
            account_keys[key.to_xdr()] = (address, key)
        present = _entries({text: key for text, (_, key) in account_keys.items()})
        for text, (address, _) in account_keys.items():
            result[address] = {"exists": text in present, "lines": []}
    return result
