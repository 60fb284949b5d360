"""Circle's API (Circle Mint, v1): the few calls the rail makes, with Circle's
answers mapped to what the rail does next.

A ``CircleError`` is ``transient`` when asking again later may succeed (no
answer, a timeout, 429, 5xx): the request is sent again with the same
idempotency key, so Circle answers with what it already made. Anything else is
Circle's refusal, with its message, fit for a payment's status history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

# What Circle calls each Stellar asset the rail pays.
CURRENCIES = {"USDC": "USD", "EURC": "EUR"}
ASSETS = {currency: code for code, currency in CURRENCIES.items()}


class CircleError(Exception):
    def __init__(
        self, message: str, *, status: int = 0, code: int = 0, retry_after: float = 0
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500

    @property
    def unauthorized(self) -> bool:
        return self.status in (401, 403)


@dataclass(frozen=True)
class Transfer:
    """A transfer or payout as Circle reports it."""

    id: str
    status: str  # pending | complete | failed
    transaction_hash: str
    error_code: str
    body: dict

    @classmethod
    def from_json(cls, data: dict) -> Transfer:
        return cls(
            id=str(data.get("id") or ""),
            status=str(data.get("status") or ""),
            transaction_hash=str(data.get("transactionHash") or ""),
            error_code=str(data.get("errorCode") or ""),
            body=data,
        )


def amount_text(amount: Decimal) -> str:
    """Circle takes amounts as strings, at most 6 decimals; a payment's 7th
    place must be 0 (the hand-off refuses it otherwise)."""
    text = f"{amount.normalize():f}"
    return text if "." in text else f"{text}.00"


class CircleClient:
    """One tenant's Circle API key against CIRCLE_API_BASE_URL."""

    def __init__(self, api_key: str, *, base_url: str = "", timeout: float = 0):
        self.api_key = api_key
        self.base_url = (base_url or settings.CIRCLE_API_BASE_URL).rstrip("/")
        self.timeout = timeout or settings.CIRCLE_REQUEST_TIMEOUT_SECONDS

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        started = time.monotonic()
        status_code = 0
        try:
            response = requests.request(
                method,
                self.base_url + path,
                json=body,
                headers={
                    "Authorization": f"Bearer {self.api_key}",
                    "Accept": "application/json",
                },
                timeout=self.timeout,
            )
            status_code = response.status_code
        except requests.Timeout as exc:
            raise CircleError(
                f"Circle did not answer within {self.timeout:g} s"
            ) from exc
        except requests.RequestException as exc:
            raise CircleError(f"Circle cannot be reached: {exc}") from exc
        finally:
            _observe(method, path, status_code, started)
        try:
            data: Any = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400:
            message = data.get("message") if isinstance(data, dict) else ""
            retry_after = response.headers.get("Retry-After") or "0"
            raise CircleError(
                f"Circle answered {response.status_code}: {message or response.reason}",
                status=response.status_code,
                code=int(data.get("code") or 0) if isinstance(data, dict) else 0,
                retry_after=float(retry_after) if retry_after.isdigit() else 0,
            )
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            raise CircleError(
                "Circle's answer has no data object", status=response.status_code
            )
        return data["data"]

    # ---- the calls -----------------------------------------------------------

    def wallet(self, wallet_id: str) -> dict:
        return self.request("GET", f"/v1/wallets/{wallet_id}")

    def create_transfer(
        self,
        *,
        idempotency_key: str,
        wallet_id: str,
        address: str,
        memo: str,
        amount: Decimal,
        currency: str,
    ) -> Transfer:
        destination = {"type": "blockchain", "address": address, "chain": "XLM"}
        if memo:
            destination["addressTag"] = memo
        return Transfer.from_json(
            self.request(
                "POST",
                "/v1/transfers",
                {
                    "idempotencyKey": idempotency_key,
                    "source": {"type": "wallet", "id": wallet_id},
                    "destination": destination,
                    "amount": {"amount": amount_text(amount), "currency": currency},
                },
            )
        )

    def transfer(self, transfer_id: str) -> Transfer:
        return Transfer.from_json(self.request("GET", f"/v1/transfers/{transfer_id}"))

    def create_recipient(
        self, *, idempotency_key: str, address: str, memo: str, nickname: str
    ) -> dict:
        body: dict[str, Any] = {
            "idempotencyKey": idempotency_key,
            "chain": "XLM",
            "address": address,
            "metadata": {"nickname": nickname},
        }
        if memo:
            body["addressTag"] = memo
        return self.request("POST", "/v1/addressBook/recipients", body)

    def create_payout(
        self,
        *,
        idempotency_key: str,
        wallet_id: str,
        recipient_id: str,
        amount: Decimal,
        currency: str,
    ) -> Transfer:
        return Transfer.from_json(
            self.request(
                "POST",
                "/v1/payouts",
                {
                    "idempotencyKey": idempotency_key,
                    "source": {"type": "wallet", "id": wallet_id},
                    "destination": {"type": "address_book", "id": recipient_id},
                    "amount": {"amount": amount_text(amount), "currency": currency},
                    "toAmount": {"currency": currency},
                },
            )
        )

    def payout(self, payout_id: str) -> Transfer:
        return Transfer.from_json(self.request("GET", f"/v1/payouts/{payout_id}"))


def _observe(method: str, path: str, status_code: int, started: float) -> None:
    from circle.metrics import REQUEST_SECONDS

    # /v1/transfers/<id> -> /v1/transfers/{id}: ids would make a label per row.
    parts = path.split("/")
    endpoint = "/".join(parts[:3] + ["{id}"] * (len(parts) > 3))
    REQUEST_SECONDS.labels(method, endpoint, str(status_code)).observe(
        time.monotonic() - started
    )
