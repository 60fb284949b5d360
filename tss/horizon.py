"""A small Horizon client: the calls the TSS makes, pooled connections, errors as
exceptions, every error counted in Prometheus.

stellar-sdk's ``Server`` is not used on the hot path because it builds a new
response object per call and has no ``/transactions_async`` wrapper with the
answer codes the engine needs; this client is about 100 lines of ``requests``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from tss import metrics
from tss.errors import HorizonError, TransactionFailed

_local = threading.local()
TIMEOUT = (3.05, 30)


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # No proxies or .netrc from the environment: reading them costs a file
        # lookup per request on the engine's hot path.
        session.trust_env = False
        # ... but a CA bundle named there is still honoured, read once (a
        # private Horizon's authority; the production test's own certificate).
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or True
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


def _url(path: str) -> str:
    return settings.HORIZON_URL.rstrip("/") + path


def _error(response: requests.Response) -> HorizonError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    extras = body.get("extras") or {}
    codes = extras.get("result_codes") or {}
    metrics.horizon_errors.labels(
        status_code=str(response.status_code),
        result_code=str(codes.get("transaction", "")),
    ).inc()
    title = body.get("title") or response.reason or "Horizon error"
    return HorizonError(
        f"Horizon {response.status_code}: {title}",
        status=response.status_code,
        result_codes=codes,
    )


def request(method: str, path: str, **kwargs: Any) -> requests.Response:
    metrics.horizon_calls.labels(endpoint=path.split("/")[1] or "root").inc()
    try:
        return _session().request(method, _url(path), timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        metrics.horizon_errors.labels(status_code="0", result_code="").inc()
        raise HorizonError(f"Horizon unreachable: {type(exc).__name__}") from exc


def get(path: str, **params: Any) -> dict:
    response = request("GET", path, params=params or None)
    if response.status_code != 200:
        raise _error(response)
    return response.json()


def root() -> dict:
    return get("/")


def account(account_id: str) -> dict | None:
    response = request("GET", f"/accounts/{account_id}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise _error(response)
    return response.json()


def transaction(tx_hash: str) -> dict | None:
    """The transaction as ingested by Horizon, or None (404)."""
    response = request("GET", f"/transactions/{tx_hash}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise _error(response)
    return response.json()


PAGE_LIMIT = 200  # Horizon's largest page


def ledger_transactions(seq: int) -> list[dict] | None:
    """Every transaction of ledger ``seq`` (failed ones included), one call per
    page of 200; None when Horizon has not ingested that ledger (404)."""
    records: list[dict] = []
    cursor = ""
    while True:
        params = {"limit": PAGE_LIMIT, "order": "asc", "include_failed": "true"}
        if cursor:
            params["cursor"] = cursor
        response = request("GET", f"/ledgers/{seq}/transactions", params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _error(response)
        page = response.json()["_embedded"]["records"]
        records += page
        if len(page) < PAGE_LIMIT:
            return records
        cursor = page[-1]["paging_token"]


@dataclass(frozen=True)
class AsyncResult:
    """Answer of ``POST /transactions_async``.

    status: PENDING, DUPLICATE, ERROR, TRY_AGAIN_LATER, or UNKNOWN (no usable
    answer: timeout, 5xx, 429: the envelope may or may not have reached the
    network).
    """

    status: str
    http_status: int
    error_result_xdr: str = ""


def submit_async(envelope_xdr: str) -> AsyncResult:
    try:
        response = request("POST", "/transactions_async", data={"tx": envelope_xdr})
    except HorizonError:
        return AsyncResult("UNKNOWN", 0)
    try:
        body = response.json()
    except ValueError:
        body = {}
    status = body.get("tx_status") or ""
    if response.status_code in (200, 201) and status == "PENDING":
        return AsyncResult("PENDING", response.status_code)
    if status in ("DUPLICATE", "ERROR", "TRY_AGAIN_LATER"):
        if status != "DUPLICATE":
            metrics.horizon_errors.labels(
                status_code=str(response.status_code), result_code=status
            ).inc()
        return AsyncResult(
            status, response.status_code, body.get("error_result_xdr") or ""
        )
    _error(response)  # counted
    return AsyncResult("UNKNOWN", response.status_code)


@dataclass
class LedgerState:
    core: int  # the last ledger closed by the network
    ingested: int  # the last ledger Horizon has ingested
    fetched_at: float


_ledger_lock = threading.Lock()
_ledger: LedgerState | None = None
_close_seconds: float = 5.0
_seen: tuple[int, float] | None = None


def ledger_state(max_age: float | None = None) -> LedgerState:
    """Horizon's latest closed and ingested ledgers, cached for a fraction of a
    ledger; also learns how fast ledgers close."""
    global _ledger, _close_seconds, _seen
    if max_age is None:
        max_age = min(0.5, _close_seconds / 8)
    now = time.monotonic()
    with _ledger_lock:
        if _ledger is not None and now - _ledger.fetched_at < max_age:
            return _ledger
    body = root()
    state = LedgerState(
        core=int(body.get("core_latest_ledger") or body["history_latest_ledger"]),
        ingested=int(body["history_latest_ledger"]),
        fetched_at=now,
    )
    with _ledger_lock:
        if _seen is None or state.core < _seen[0]:
            _seen = (state.core, now)
        elif state.core >= _seen[0] + 3:
            observed = (now - _seen[1]) / (state.core - _seen[0])
            _close_seconds = max(0.05, min(10.0, observed))
            _seen = (state.core, now)
        _ledger = state
    return state


def ledger_close_seconds() -> float:
    return _close_seconds


def forget_ledger() -> None:
    global _ledger
    with _ledger_lock:
        _ledger = None


def max_ops_per_ledger() -> int:
    body = get("/ledgers", order="desc", limit=1)
    records = body["_embedded"]["records"]
    return int(records[0].get("max_tx_set_size") or 1000) if records else 1000


def submit_and_wait(envelope_xdr: str, tx_hash: str, max_ledger: int) -> dict:
    """Submit an envelope and wait until it is on the ledger or can never be.

    For operator actions (accounts, trustlines, channel accounts), not the
    payment engine. The same envelope is re-sent after an unclear answer; it is
    only given up once Horizon has ingested past ``max_ledger`` without it.
    Returns Horizon's transaction record; raises TransactionFailed.
    """
    sent_ledger = None
    maybe_accepted = False
    while True:
        state = ledger_state(max_age=0.2)
        found = transaction(tx_hash)
        if found is not None:
            if not found.get("successful", False):
                raise TransactionFailed(
                    f"transaction {tx_hash} failed on the ledger",
                    result_codes={"result_xdr": found.get("result_xdr", "")},
                )
            return found
        if state.ingested > max_ledger:
            raise HorizonError(
                f"transaction {tx_hash} did not make it into a ledger before its "
                f"bound {max_ledger}; nothing was applied",
                status=0,
            )
        if sent_ledger is None or state.core >= sent_ledger + 2:
            result = submit_async(envelope_xdr)
            if result.status == "ERROR" and not maybe_accepted:
                from tss.results import describe_result_xdr

                raise TransactionFailed(
                    describe_result_xdr(result.error_result_xdr),
                    result_codes={"result_xdr": result.error_result_xdr},
                )
            if result.status not in ("ERROR", "TRY_AGAIN_LATER"):
                maybe_accepted = True
            if result.status in ("PENDING", "DUPLICATE"):
                sent_ledger = state.core
        time.sleep(max(0.05, min(0.5, _close_seconds / 3)))
