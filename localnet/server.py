"""The HTTP server: Horizon's API over a Node, plus /_localnet control routes.

Standard library only (http.server with a thread per connection and HTTP/1.1
keep-alive): the work per request is XDR decoding and signature checks under
one lock, so a faster HTTP stack would not raise the throughput much.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from localnet import horizon as H
from localnet import rpc
from localnet import state as state_file
from localnet.envelope import MalformedEnvelopeError
from localnet.node import (
    DUPLICATE,
    ERROR,
    PENDING,
    TRY_AGAIN_LATER,
    Node,
    paginate,
)
from localnet.results import result_xdr

log = logging.getLogger("localnet")

DEFAULT_PASSPHRASE = "Standalone Network ; February 2017"
PRODUCTION_WARNING = (
    "localnet is a development network for the demo, the tests and the benchmarks. "
    "Never use it in production: production uses testnet or pubnet through "
    "HORIZON_URL and NETWORK_PASSPHRASE."
)
VERSION = "localnet-1.0"

_ACCOUNT = re.compile(
    r"^/accounts/([A-Z0-9]{56})(/payments|/transactions|/operations)?/?$"
)
_TRANSACTION = re.compile(r"^/transactions/([0-9a-fA-F]{64})/?$")
_LEDGER = re.compile(r"^/ledgers/(\d+)/?$")
_LEDGER_TRANSACTIONS = re.compile(r"^/ledgers/(\d+)/transactions/?$")


class HttpError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(status)
        self.status = status
        self.body = body


class LocalnetServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address, node: Node, submit_timeout: float):
        super().__init__(address, Handler)
        self.node = node
        self.submit_timeout = submit_timeout


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One buffered write per response and no Nagle delay: with keep-alive,
    # headers and body in separate segments cost a 40 ms delayed ACK each.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: LocalnetServer
    server_version = "localnet"
    sys_version = ""

    def end_headers(self):
        # A request that said "Connection: close" (or HTTP/1.0) has its
        # connection closed after the answer: say so, or a keep-alive client
        # (Node 19+) reuses the dead socket and its next request fails.
        said = any(
            line.lower().startswith(b"connection:")
            for line in getattr(self, "_headers_buffer", [])
        )
        if self.close_connection and not said:
            self.send_header("Connection", "close")
        super().end_headers()

    def log_message(self, fmt, *args):  # quiet: one line per request is noise
        log.debug("%s %s", self.address_string(), fmt % args)

    # ---- plumbing -----------------------------------------------------------------

    @property
    def node(self) -> Node:
        return self.server.node

    def base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(
            *self.server.server_address[:2]
        )
        return f"http://{host}"

    def send_json(self, status: int, body, content_type="application/hal+json"):
        data = json.dumps(body).encode()
        if status >= 400 and isinstance(body, dict) and "type" in body:
            content_type = "application/problem+json"
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("X-Localnet", "development network, never production")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form(self) -> dict:
        body = self.read_body()
        content_type = self.headers.get("Content-Type", "")
        if "application/json" in content_type:
            try:
                data = json.loads(body or b"{}")
            except json.JSONDecodeError as exc:
                raise HttpError(
                    400, H.bad_request("body", f"invalid JSON: {exc}")
                ) from exc
            if not isinstance(data, dict):
                raise HttpError(400, H.bad_request("body", "expected a JSON object"))
            return data
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            if path.startswith("/_localnet/"):
                status, body = self.control(method, path)
            else:
                if self.node.roll("rate_limit"):
                    raise HttpError(
                        429,
                        H.problem(
                            429,
                            "rate_limit_exceeded",
                            "Rate Limit Exceeded",
                            "The rate limit for the requesting IP address is over its "
                            "alloted limit.  The allowed limit and requests left per time "
                            "period are communicated to clients via the http response "
                            "headers 'X-RateLimit-*' headers.",
                        ),
                    )
                if self.node.roll("unavailable"):
                    raise HttpError(
                        503,
                        H.problem(
                            503,
                            "service_unavailable",
                            "Service Unavailable",
                            "The server is currently unable to handle the request due to a "
                            "temporary overloading or maintenance of the server.",
                        ),
                    )
                if path.rstrip("/") == "/rpc":
                    self.send_rpc(method)
                    return
                status, body = self.horizon(method, path, query)
        except HttpError as exc:
            status, body = exc.status, exc.body
        except Exception:
            log.exception("internal error on %s %s", method, self.path)
            status, body = (
                500,
                H.problem(
                    500,
                    "server_error",
                    "Internal Server Error",
                    "An error occurred while processing this request.",
                ),
            )
        self.send_json(status, body)

    def send_rpc(self, method: str) -> None:
        """Stellar RPC: JSON-RPC answers, or a gateway's plain failure."""
        if method != "POST":
            raise HttpError(
                405,
                H.problem(
                    405,
                    "method_not_allowed",
                    "Method Not Allowed",
                    "POST JSON-RPC requests",
                ),
            )
        try:
            status, body = rpc.handle(self.node, self.read_body())
        except rpc.RpcFailure as exc:
            data = exc.message.encode()
            self.send_response(exc.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_json(status, body, "application/json")

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header(
            "Access-Control-Allow-Headers",
            self.headers.get("Access-Control-Request-Headers") or "*",
        )
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # ---- Horizon routes -----------------------------------------------------------------

    def horizon(self, method: str, path: str, query: dict):
        if method == "POST":
            if path.rstrip("/") == "/transactions":
                return self.submit_sync()
            if path.rstrip("/") == "/transactions_async":
                return self.submit_async()
            if path.rstrip("/") == "/friendbot":
                form = self.form()
                return self.friendbot(form.get("addr") or query.get("addr"))
            raise HttpError(404, H.not_found())
        if path in ("", "/"):
            return 200, self.root()
        if path.rstrip("/") == "/friendbot":
            return self.friendbot(query.get("addr"))
        if path.rstrip("/") == "/fee_stats":
            return 200, self.fee_stats()
        if path.rstrip("/") == "/ledgers":
            return 200, self.ledgers(query)
        if path.rstrip("/") == "/transactions":
            return 200, self.transactions_page(None, query, "/transactions")
        match = _LEDGER.match(path)
        if match:
            return 200, self.ledger(int(match.group(1)))
        match = _LEDGER_TRANSACTIONS.match(path)
        if match:
            return 200, self.ledger_transactions(int(match.group(1)), query, path)
        match = _TRANSACTION.match(path)
        if match:
            return 200, self.transaction(match.group(1).lower())
        match = _ACCOUNT.match(path)
        if match:
            account_id, sub = match.groups()
            if sub == "/transactions":
                return 200, self.transactions_page(account_id, query, path)
            if sub == "/payments":
                return 200, self.payments_page(account_id, query, path)
            if sub == "/operations":
                return 200, self.payments_page(account_id, query, path, every=True)
            return 200, self.account(account_id)
        raise HttpError(404, H.not_found())

    def root(self) -> dict:
        node = self.node
        with node.lock:
            history_latest = node.history_latest_ledger
            closed_at = next(
                (
                    r.closed_at
                    for r in reversed(node.ledgers)
                    if r.seq == history_latest
                ),
                node.latest.closed_at,
            )
            base = self.base_url()
            return {
                "_links": {
                    "account": {
                        "href": base + "/accounts/{account_id}",
                        "templated": True,
                    },
                    "fee_stats": {"href": base + "/fee_stats"},
                    "friendbot": {
                        "href": base + "/friendbot{?addr}",
                        "templated": True,
                    },
                    "ledgers": {
                        "href": base + "/ledgers{?cursor,limit,order}",
                        "templated": True,
                    },
                    "self": {"href": base + "/"},
                    "transaction": {
                        "href": base + "/transactions/{hash}",
                        "templated": True,
                    },
                    "transactions": {
                        "href": base + "/transactions{?cursor,limit,order}",
                        "templated": True,
                    },
                },
                "horizon_version": VERSION,
                "core_version": VERSION,
                "ingest_latest_ledger": history_latest,
                "history_latest_ledger": history_latest,
                "history_latest_ledger_closed_at": H.timestamp(closed_at),
                "history_elder_ledger": 1,
                "core_latest_ledger": node.core_latest_ledger,
                "network_passphrase": node.passphrase,
                "current_protocol_version": node.latest.protocol_version,
                "supported_protocol_version": node.latest.protocol_version,
                "core_supported_protocol_version": node.latest.protocol_version,
                "localnet": True,
                "warning": PRODUCTION_WARNING,
            }

    def account(self, account_id: str) -> dict:
        with self.node.lock:
            acc = self.node.ledger.accounts.get(account_id)
            if acc is None:
                raise HttpError(404, H.not_found())
            return H.account_json(self.node.ledger, acc, self.base_url())

    def _page_params(self, query: dict) -> tuple[int | None, str, int]:
        order = query.get("order", "asc")
        if order not in ("asc", "desc"):
            raise HttpError(400, H.bad_request("order", "order must be asc or desc"))
        try:
            limit = int(query.get("limit", 10))
        except ValueError as exc:
            raise HttpError(
                400, H.bad_request("limit", "limit must be an integer")
            ) from exc
        if not 1 <= limit <= 200:
            raise HttpError(400, H.bad_request("limit", "limit must be in 1..200"))
        cursor = query.get("cursor")
        if cursor in (None, ""):
            return None, order, limit
        if cursor == "now":
            return (1 << 62) if order == "asc" else None, order, limit
        try:
            return int(cursor), order, limit
        except ValueError as exc:
            raise HttpError(
                400, H.bad_request("cursor", "cursor must be a paging token")
            ) from exc

    def _include_failed(self, query: dict) -> bool:
        return query.get("include_failed", "false").lower() == "true"

    def transactions_page(self, account_id: str | None, query: dict, path: str) -> dict:
        cursor, order, limit = self._page_params(query)
        include_failed = self._include_failed(query)
        node = self.node
        base = self.base_url()
        with node.lock:
            if account_id is None:
                items = node.history
            else:
                items = node.by_account.get(account_id, [])
            history_latest = node.history_latest_ledger
            chosen = paginate(
                items,
                lambda r: r.toid,
                cursor,
                order,
                limit,
                lambda r: (
                    r.ledger <= history_latest
                    and (include_failed or r.result.successful)
                ),
            )
            records = [H.transaction_json(r, base) for r in chosen]
        return self._page(records, base, path, query, order, limit)

    def ledger_transactions(self, seq: int, query: dict, path: str) -> dict:
        """GET /ledgers/{seq}/transactions: a ledger's transactions, paged as
        Horizon does (404 for a ledger not ingested yet)."""
        cursor, order, limit = self._page_params(query)
        include_failed = self._include_failed(query)
        node = self.node
        base = self.base_url()
        with node.lock:
            if seq > node.history_latest_ledger:
                raise HttpError(404, H.not_found())
            chosen = paginate(
                node.ledger_records(seq),
                lambda r: r.toid,
                cursor,
                order,
                limit,
                lambda r: include_failed or r.result.successful,
            )
            records = [H.transaction_json(r, base) for r in chosen]
        return self._page(records, base, path, query, order, limit)

    def payments_page(
        self, account_id: str, query: dict, path: str, every: bool = False
    ) -> dict:
        """GET /accounts/{id}/payments (the payment-like operations) or, with
        ``every``, /accounts/{id}/operations (all of them); ``join=transactions``
        embeds each operation's transaction, as Horizon does."""
        cursor, order, limit = self._page_params(query)
        include_failed = self._include_failed(query)
        join = query.get("join")
        if join not in (None, "", "transactions"):
            raise HttpError(400, H.bad_request("join", "join must be transactions"))
        node = self.node
        base = self.base_url()
        index = node.operations_by_account if every else node.payments_by_account
        with node.lock:
            items = index.get(account_id, [])
            history_latest = node.history_latest_ledger
            chosen = paginate(
                items,
                lambda item: item[0],
                cursor,
                order,
                limit,
                lambda item: (
                    item[1].ledger <= history_latest
                    and (include_failed or item[1].result.successful)
                ),
            )
            records = [
                H.operation_json(record, op_index, base, join=bool(join))
                for _id, record, op_index in chosen
            ]
        return self._page(records, base, path, query, order, limit)

    def _page(self, records, base, path, query, order, limit) -> dict:
        tokens = [r["paging_token"] for r in records]
        cursors = (tokens[0], tokens[-1]) if tokens else (query.get("cursor", ""),) * 2
        return H.page(
            records, base, path, {**query, "order": order, "limit": limit}, cursors
        )

    def transaction(self, tx_hash: str) -> dict:
        record = self.node.transaction(tx_hash)
        if record is None:
            raise HttpError(404, H.not_found())
        return H.transaction_json(record, self.base_url(), tx_hash)

    def ledgers(self, query: dict) -> dict:
        cursor, order, limit = self._page_params(query)
        node = self.node
        base = self.base_url()
        with node.lock:
            history_latest = node.history_latest_ledger
            items = list(node.ledgers)
            chosen = paginate(
                items,
                lambda r: r.seq << 32,
                cursor,
                order,
                limit,
                lambda r: r.seq <= history_latest,
            )
            records = [H.ledger_json(r, base) for r in chosen]
        return self._page(records, base, "/ledgers", query, order, limit)

    def ledger(self, seq: int) -> dict:
        node = self.node
        with node.lock:
            if seq > node.history_latest_ledger:
                raise HttpError(404, H.not_found())
            for record in reversed(node.ledgers):
                if record.seq == seq:
                    return H.ledger_json(record, self.base_url())
        raise HttpError(404, H.not_found())

    def fee_stats(self) -> dict:
        node = self.node
        with node.lock:
            recent = list(node.ledgers)[-5:]
            latest = node.latest
            charged = sorted(rate for r in recent for rate in r.fee_rates)
            bids = sorted(rate for r in recent for rate in r.max_fee_rates)
            usage = latest.tx_set_operations / max(1, latest.max_tx_set_size)
            base_fee = latest.base_fee
        return {
            "last_ledger": str(latest.seq),
            "last_ledger_base_fee": str(base_fee),
            "ledger_capacity_usage": f"{usage:.2f}",
            "fee_charged": _percentiles(charged, base_fee),
            "max_fee": _percentiles(bids, base_fee),
        }

    # ---- submission ----------------------------------------------------------------------

    def _envelope(self):
        form = self.form()
        tx = form.get("tx")
        if not tx:
            raise HttpError(400, H.bad_request("tx", "tx is required"))
        try:
            return self.node.parse(tx.strip())
        except MalformedEnvelopeError as exc:
            raise HttpError(
                400,
                H.problem(
                    400,
                    "transaction_malformed",
                    "Transaction Malformed",
                    "Horizon could not decode the transaction envelope in this request. "
                    f"A transaction should be an XDR TransactionEnvelope struct encoded "
                    f"using base64.  {exc}",
                    {"envelope_xdr": tx},
                ),
            ) from exc

    def _timeout(self) -> HttpError:
        return HttpError(
            504,
            H.problem(
                504,
                "timeout",
                "Timeout",
                "Your request timed out before completing.  Please try your request "
                "again. If you are submitting a transaction make sure you are sending "
                "exactly the same transaction (with the same sequence number).",
            ),
        )

    def _failed(self, env, result, result_xdr_b64: str) -> HttpError:
        return HttpError(
            400,
            H.problem(
                400,
                "transaction_failed",
                "Transaction Failed",
                "The transaction failed when submitted to the stellar network. The "
                "`extras.result_codes` field on this response contains further details.  "
                "Descriptions of each code can be found at: "
                "https://developers.stellar.org/docs/data/horizon/api-reference/errors/"
                "result-codes/transactions",
                {
                    "envelope_xdr": env.xdr,
                    "result_codes": result.result_codes(),
                    "result_xdr": result_xdr_b64,
                },
            ),
        )

    def submit_sync(self):
        node = self.node
        env = self._envelope()
        record = node.transaction(env.hash_hex)
        if record is not None:  # Horizon answers already-ingested ones from history
            return self._sync_answer(env, record)
        if node.roll("timeout_drop"):
            raise self._timeout()
        outcome = node.submit(env)
        if outcome.status == ERROR:
            raise self._failed(env, outcome.result, result_xdr(outcome.result))
        if outcome.status == TRY_AGAIN_LATER:
            raise HttpError(
                503,
                H.problem(
                    503,
                    "service_unavailable",
                    "Service Unavailable",
                    "stellar-core answered TRY_AGAIN_LATER: another transaction from this "
                    "source account is pending. Submit again after the next ledger.",
                ),
            )
        if node.roll("timeout_after_accept"):
            raise self._timeout()
        deadline = time.monotonic() + self.server.submit_timeout
        pending = outcome.pending
        if not pending.event.wait(max(0.0, deadline - time.monotonic())):
            raise self._timeout()
        if pending.outcome != "applied":
            raise self._timeout()
        record = pending.record
        # wait until "ingested" (the ingestion lag fault delays this)
        with node.lock:
            while not node.visible(record):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout()
                node.closed_event.wait(left)
        return self._sync_answer(env, record)

    def _sync_answer(self, env, record):
        if record.result.successful:
            return 200, H.transaction_json(record, self.base_url(), env.hash_hex)
        raise self._failed(record.env, record.result, record.result_xdr)

    def submit_async(self):
        node = self.node
        env = self._envelope()
        if node.roll("timeout_drop"):
            raise self._timeout()
        outcome = node.submit(env)
        body = {"hash": env.hash_hex, "tx_status": outcome.status}
        if outcome.status == PENDING:
            if node.roll("timeout_after_accept"):
                raise self._timeout()
            return 201, body
        if outcome.status == DUPLICATE:
            return 409, body
        if outcome.status == TRY_AGAIN_LATER:
            return 503, body
        body["error_result_xdr"] = result_xdr(outcome.result)
        return 400, body

    def friendbot(self, address: str | None):
        if not address:
            raise HttpError(400, H.bad_request("addr", "addr is required"))
        node = self.node
        request = node.friendbot(address)
        wait = max(node.ledger_close, 0.5) * 3 + 5
        if not request.event.wait(wait):
            raise self._timeout()
        if request.error:
            raise HttpError(400, H.bad_request("addr", request.error))
        record = request.record
        if not record.result.successful:
            raise self._failed(record.env, record.result, record.result_xdr)
        return 200, H.transaction_json(record, self.base_url())

    # ---- control routes ------------------------------------------------------------------

    def control(self, method: str, path: str):
        node = self.node
        path = path.rstrip("/")
        try:
            if path == "/_localnet/faults":
                if method == "POST":
                    return 200, node.set_faults(self.form())
                return 200, dict(node.faults)
            if path == "/_localnet/config":
                if method == "POST":
                    form = self.form()
                    return 200, node.configure(
                        _number(form.get("ledger_close"), float),
                        _number(form.get("max_ops_per_ledger"), int),
                    )
                return 200, node.config()
            if path == "/_localnet/soroban":
                if method == "POST":
                    form = self.form()
                    return 200, node.configure_soroban(
                        _number(form.get("persistent_ttl"), int),
                        form.get("limits")
                        if isinstance(form.get("limits"), dict)
                        else None,
                    )
                return 200, node.config()
            if path == "/_localnet/soroban_usage":
                # what each ledger used of the Soroban limits (benchmarks)
                with node.lock:
                    return 200, {
                        "limits": dict(node.soroban_limits),
                        "ledgers": [
                            {"sequence": r.seq, "usage": r.soroban_usage or {}}
                            for r in node.ledgers
                            if r.soroban_usage and r.soroban_usage.get("tx_count")
                        ],
                    }
            if path == "/_localnet/archive" and method == "POST":
                form = self.form()
                return 200, {"archived": node.archive(form.get("contract") or None)}
            if path == "/_localnet/close" and method == "POST":
                record = node.close_ledger()
                return 200, {"sequence": record.seq}
            if path == "/_localnet/reset" and method == "POST":
                node.reset()
                return 200, {"sequence": node.latest.seq}
            if path == "/_localnet/info":
                return 200, {
                    "network_passphrase": node.passphrase,
                    "root_secret": node.ledger.root_keypair.secret,
                    "root_account": node.ledger.root_keypair.public_key,
                    "friendbot_account": node.friendbot_keypair.public_key,
                    "warning": PRODUCTION_WARNING,
                }
            if path == "/_localnet/stats":
                with node.lock:
                    stats = dict(node.stats)
                    stats["queue"] = len(node.queue)
                    stats["latest_ledger"] = node.latest.seq
                    stats["accounts"] = len(node.ledger.accounts)
                    stats["total_native"] = node.ledger.total_native()
                    stats["fee_pool"] = node.ledger.fee_pool
                    stats["total_coins"] = node.ledger.total_coins
                return 200, stats
        except ValueError as exc:
            raise HttpError(400, H.bad_request("body", str(exc))) from exc
        raise HttpError(404, H.not_found())


def _number(value, kind):
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _percentiles(values: list[int], default: int) -> dict:
    def pick(p: int) -> str:
        if not values:
            return str(default)
        index = min(len(values) - 1, max(0, (p * len(values) + 99) // 100 - 1))
        return str(values[index])

    mode = str(default)
    if values:
        counts: dict[int, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        mode = str(max(counts, key=lambda v: (counts[v], -v)))
    out = {
        "max": str(values[-1]) if values else str(default),
        "min": str(values[0]) if values else str(default),
        "mode": mode,
    }
    for p in (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99):
        out[f"p{p}"] = pick(p)
    return out


# ---- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m localnet` and `manage.py localnet`."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8001,
        help="port to listen on; 0 picks a free one (default 8001)",
    )
    parser.add_argument(
        "--ledger-close",
        type=float,
        default=5.0,
        help="seconds between ledgers; 0 closes only on "
        "POST /_localnet/close (default 5)",
    )
    parser.add_argument(
        "--max-ops-per-ledger",
        type=int,
        default=1000,
        help="operations per ledger (default 1000)",
    )
    parser.add_argument(
        "--state",
        default=None,
        help="JSON file to load at start and save on every ledger close",
    )
    parser.add_argument(
        "--passphrase",
        default=DEFAULT_PASSPHRASE,
        help=f"network passphrase (default {DEFAULT_PASSPHRASE!r})",
    )
    parser.add_argument(
        "--faults",
        default=None,
        help="faults to start with, as JSON, e.g. '{\"rate_limit\": 0.1}'",
    )
    parser.add_argument(
        "--submit-timeout",
        type=float,
        default=30.0,
        help="seconds POST /transactions waits for inclusion (default 30)",
    )
    parser.add_argument(
        "--port-file", default=None, help="write the port to this file once listening"
    )
    parser.add_argument("--log-level", default="INFO")


def serve(
    host="127.0.0.1",
    port=8001,
    ledger_close=5.0,
    max_ops_per_ledger=1000,
    state=None,
    passphrase=DEFAULT_PASSPHRASE,
    faults=None,
    submit_timeout=30.0,
    port_file=None,
    log_level="INFO",
    stop_event: threading.Event | None = None,
    **_ignored,
) -> int:
    """Run the localnet until interrupted (or `stop_event` is set); 0 on a clean exit."""
    logging.basicConfig(
        level=getattr(logging, str(log_level).upper(), logging.INFO),
        format="%(asctime)s localnet %(levelname)s %(message)s",
    )
    fault_values = json.loads(faults) if isinstance(faults, str) else (faults or {})
    node = Node(passphrase, ledger_close, max_ops_per_ledger, fault_values)
    if state:
        if Path(state).exists():
            try:
                state_file.load(node, state)
            except state_file.StateFileError as exc:
                print(f"localnet: refusing the state file: {exc}", file=sys.stderr)
                return 2
            log.info(
                "loaded %s at ledger %d (%d accounts)",
                state,
                node.latest.seq,
                len(node.ledger.accounts),
            )
        node.on_close = _saver(state)
    server = LocalnetServer((host, port), node, submit_timeout)
    actual_port = server.server_address[1]
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach it can use it", host)
    log.warning(PRODUCTION_WARNING)
    log.info(
        "listening on http://%s:%d passphrase=%r ledger_close=%ss "
        "max_ops_per_ledger=%d",
        host,
        actual_port,
        passphrase,
        ledger_close,
        max_ops_per_ledger,
    )
    stop = stop_event or threading.Event()
    closer = threading.Thread(
        target=_close_ledgers, args=(node, stop), daemon=True, name="ledger-closer"
    )
    closer.start()
    http = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        daemon=True,
        name="http",
    )
    http.start()
    if port_file:
        tmp = f"{port_file}.tmp"
        Path(tmp).write_text(str(actual_port))
        os.replace(tmp, port_file)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        with node.closed_event:
            node.closed_event.notify_all()
        if state:
            state_file.save(node, state)
        log.info("stopped at ledger %d", node.latest.seq)
    return 0


def _saver(path: str):
    def save(node: Node) -> None:
        try:
            state_file.save(node, path)
        except OSError:
            log.exception("could not save the state to %s", path)

    return save


def _close_ledgers(node: Node, stop: threading.Event) -> None:
    next_close = time.monotonic() + node.ledger_close
    while not stop.is_set():
        interval = node.ledger_close
        if interval <= 0:
            with node.lock:
                node.closed_event.wait(0.2)
            next_close = time.monotonic()
            continue
        now = time.monotonic()
        if now < next_close:
            with node.lock:
                node.closed_event.wait(min(next_close - now, interval, 0.5))
            # a configuration change may have shortened the interval
            next_close = min(next_close, time.monotonic() + node.ledger_close)
            continue
        try:
            node.close_ledger()
        except Exception:
            log.exception("ledger close failed")
        next_close += interval
        if next_close < time.monotonic():
            next_close = time.monotonic() + interval


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localnet",
        description="A Horizon-compatible local Stellar network (development only).",
    )
    add_arguments(parser)
    options = parser.parse_args(argv)
    return serve(**vars(options))
