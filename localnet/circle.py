"""A local fake of Circle's API (Circle Mint, v1), for tests, benchmarks and the
demo: wallets with balances, transfers and payouts to Stellar addresses, the
address book, idempotency keys; and it really pays on a localnet, from an
account of its own (the issuer of its USDC and EURC there), so a test can
check the ledger.

    fake = start_fake_circle(horizon_url, passphrase)   # a thread; .stop()
    key = fake.add_api_key()                             # a Bearer key
    wallet = fake.add_wallet(key, USD="1000")            # a funded wallet id
    fake.url                                             # CIRCLE_API_BASE_URL

or ``python -m localnet.circle --horizon-url ... --port 8002`` (prints one JSON
line: url, api_key, wallet_id, issuer).

It answers Circle's documented JSON: ``{"data": {...}}`` on success,
``{"code": n, "message": "..."}`` on error. Faults, set by ``fake.set_faults``
or ``POST /_fake/faults``, are counts of the next requests that get them (a
count, not a chance, so a test knows what happens):

- ``unavailable``: answer 503 without doing anything;
- ``error_after_accept``: create the transfer/payout, then answer 500;
- ``timeout``: create it, then answer nothing for ``timeout_seconds``;
- ``rate_limit``: answer 429 with ``Retry-After``;
- ``auth``: answer 401.

Only POST /v1/transfers and /v1/payouts take faults (``unavailable``,
``rate_limit``, ``auth`` take every request when ``all_requests`` is set).
The fake imports nothing of the project (it is part of the localnet).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CURRENCY_ASSETS = {"USD": "USDC", "EUR": "EURC"}
STELLAR_ADDRESS = re.compile(r"^G[A-Z2-7]{55}$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Problem(Exception):
    def __init__(self, status: int, code: int, message: str, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Faults:
    unavailable: int = 0
    error_after_accept: int = 0
    timeout: int = 0
    rate_limit: int = 0
    auth: int = 0
    timeout_seconds: float = 3.0
    retry_after: int = 1
    all_requests: bool = False

    def take(self, name: str) -> bool:
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False


@dataclass
class State:
    api_keys: dict[str, set[str]] = field(default_factory=dict)  # key -> wallets
    wallets: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    transfers: dict[str, dict] = field(default_factory=dict)
    payouts: dict[str, dict] = field(default_factory=dict)
    recipients: dict[str, dict] = field(default_factory=dict)
    # idempotency key -> (digest of the request, kind, id)
    idempotency: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    master_wallet: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)


class FakeCircle:
    """The fake's state, its HTTP server and its paying thread."""

    def __init__(
        self, horizon_url: str = "", passphrase: str = "", secret: str = ""
    ) -> None:
        self.horizon_url = horizon_url
        self.passphrase = passphrase
        self.state = State()
        self.faults = Faults()
        self.lock = threading.RLock()
        self.work = threading.Condition(self.lock)
        self._stopping = False
        self._keypair = None
        self._secret = secret
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.url = ""

    # ---- set-up --------------------------------------------------------------

    @property
    def keypair(self):
        if self._keypair is None:
            from stellar_sdk import Keypair

            self._keypair = (
                Keypair.from_secret(self._secret) if self._secret else Keypair.random()
            )
        return self._keypair

    @property
    def issuer(self) -> str:
        """The fake's Stellar account: it issues the USDC and EURC it pays."""
        return self.keypair.public_key

    def add_api_key(self, key: str = "") -> str:
        key = key or f"SAND:{uuid.uuid4().hex}:{uuid.uuid4().hex}"
        with self.lock:
            self.state.api_keys.setdefault(key, set())
        return key

    def add_wallet(self, api_key: str, wallet_id: str = "", **balances: str) -> str:
        """A wallet reachable with ``api_key``, e.g. add_wallet(key, USD="100")."""
        with self.lock:
            wallet_id = wallet_id or str(1_000_000_000 + len(self.state.wallets) + 1)
            self.state.wallets[wallet_id] = {
                currency: Decimal(amount) for currency, amount in balances.items()
            }
            self.state.api_keys.setdefault(api_key, set()).add(wallet_id)
            self.state.master_wallet = self.state.master_wallet or wallet_id
        return wallet_id

    def balance(self, wallet_id: str, currency: str = "USD") -> Decimal:
        with self.lock:
            return self.state.wallets[wallet_id].get(currency, Decimal("0"))

    def set_faults(self, **faults) -> None:
        with self.lock:
            for name, value in faults.items():
                if not hasattr(self.faults, name):
                    raise ValueError(f"unknown fault {name}")
                setattr(self.faults, name, value)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults = Faults()

    def transfers_to(self, address: str) -> list[dict]:
        with self.lock:
            return [
                dict(t)
                for t in (*self.state.transfers.values(), *self.state.payouts.values())
                if t["_address"] == address
            ]

    def posts(self, path_prefix: str) -> int:
        """How many POSTs reached a path (faulted ones included)."""
        with self.lock:
            return sum(
                1
                for method, path in self.state.requests
                if method == "POST" and path.startswith(path_prefix)
            )

    # ---- the API -------------------------------------------------------------

    def handle(self, method: str, path: str, headers, body: dict | None):
        """(status, body, headers, delay) for one request."""
        with self.lock:
            self.state.requests.append((method, path))
            if path.startswith("/_fake/"):
                return self._control(method, path, body)
            paying = method == "POST" and path in ("/v1/transfers", "/v1/payouts")
            if paying or self.faults.all_requests:
                if self.faults.take("unavailable"):
                    raise Problem(503, 503, "Service Unavailable")
                if self.faults.take("rate_limit"):
                    raise Problem(
                        429,
                        429,
                        "Too Many Requests",
                        {"Retry-After": str(self.faults.retry_after)},
                    )
                if self.faults.take("auth"):
                    raise Problem(401, 401, "Malformed authorization.")
            wallets = self._authorize(headers)
            after_accept = None
            if paying:
                if self.faults.take("error_after_accept"):
                    after_accept = "error"
                elif self.faults.take("timeout"):
                    after_accept = "timeout"
            status, data = self._route(method, path, wallets, body)
            if after_accept == "error":
                return 500, {"code": 500, "message": "Internal Server Error"}, {}, 0
            if after_accept == "timeout":
                return status, data, {}, self.faults.timeout_seconds
            return status, data, {}, 0

    def _authorize(self, headers) -> set[str]:
        auth = headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not auth.startswith("Bearer ") or key not in self.state.api_keys:
            raise Problem(
                401,
                401,
                "Malformed authorization. Are the credentials properly encoded?",
            )
        return self.state.api_keys[key]

    def _route(self, method: str, path: str, wallets: set[str], body):
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["v1"]:
            raise Problem(404, 404, "Not Found")
        parts = parts[1:]
        if method == "GET" and parts == ["configuration"]:
            master = next(iter(sorted(wallets)), self.state.master_wallet)
            return 200, {"data": {"payments": {"masterWalletId": master}}}
        if method == "GET" and len(parts) == 2 and parts[0] == "wallets":
            return 200, {"data": self._wallet_json(parts[1], wallets)}
        if method == "POST" and parts == ["transfers"]:
            return self._create("transfer", body, wallets)
        if method == "POST" and parts == ["payouts"]:
            return self._create("payout", body, wallets)
        if method == "POST" and parts == ["addressBook", "recipients"]:
            return self._create_recipient(body)
        if method == "GET" and len(parts) == 2 and parts[0] in ("transfers", "payouts"):
            table = (
                self.state.transfers if parts[0] == "transfers" else self.state.payouts
            )
            found = table.get(parts[1])
            if found is None or found["_wallet"] not in wallets:
                raise Problem(404, 404, "Resource not found")
            return 200, {"data": _public(found)}
        if method == "GET" and parts[:2] == ["addressBook", "recipients"]:
            found = self.state.recipients.get(parts[2] if len(parts) > 2 else "")
            if found is None:
                raise Problem(404, 404, "Resource not found")
            return 200, {"data": _public(found)}
        raise Problem(404, 404, "Not Found")

    def _wallet_json(self, wallet_id: str, wallets: set[str]) -> dict:
        if wallet_id not in wallets:
            raise Problem(404, 404, "Resource not found")
        return {
            "walletId": wallet_id,
            "entityId": str(uuid.uuid5(uuid.NAMESPACE_URL, wallet_id)),
            "type": "merchant",
            "description": "Fake Circle wallet",
            "balances": [
                {"amount": f"{amount:.2f}", "currency": currency}
                for currency, amount in sorted(self.state.wallets[wallet_id].items())
            ],
        }

    def _replay(self, key: str, body: dict, kind: str):
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        known = self.state.idempotency.get(key)
        if known is None:
            self.state.idempotency[key] = (digest, kind, "")
            return None
        if known[0] != digest or known[1] != kind:
            raise Problem(
                409, 409, "The idempotency key was already used with another request."
            )
        table = {
            "transfer": self.state.transfers,
            "payout": self.state.payouts,
            "recipient": self.state.recipients,
        }[kind]
        return 201, {"data": _public(table[known[2]])}

    def _create(self, kind: str, body, wallets: set[str]):
        body = body if isinstance(body, dict) else {}
        key = str(body.get("idempotencyKey") or "")
        try:
            uuid.UUID(key)
        except ValueError:
            raise Problem(
                400, 2, "Invalid entity. idempotencyKey must be a UUID"
            ) from None
        source = body.get("source") or {}
        destination = body.get("destination") or {}
        amount = body.get("amount") or {}
        if source.get("type") != "wallet" or source.get("id") not in wallets:
            raise Problem(400, 2, "Invalid entity. source wallet not found")
        currency = amount.get("currency")
        if currency not in CURRENCY_ASSETS:
            raise Problem(
                400, 2, f"Invalid entity. currency {currency!r} not supported"
            )
        try:
            value = Decimal(str(amount.get("amount")))
        except InvalidOperation:
            raise Problem(
                400, 2, "Invalid entity. amount.amount is not a number"
            ) from None
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int) or value <= 0 or exponent < -6:
            raise Problem(
                400,
                2,
                "Invalid entity. amount.amount must be positive, at most 6 decimals",
            )
        if kind == "transfer":
            if (
                destination.get("type") != "blockchain"
                or destination.get("chain") != "XLM"
            ):
                raise Problem(
                    400,
                    2,
                    "Invalid entity. destination must be an XLM blockchain address",
                )
            address = str(destination.get("address") or "")
            memo = str(destination.get("addressTag") or "")
        else:
            recipient = self.state.recipients.get(str(destination.get("id")))
            if destination.get("type") != "address_book" or recipient is None:
                raise Problem(
                    400, 2, "Invalid entity. address book recipient not found"
                )
            if recipient["status"] != "active":
                raise Problem(400, 2, "Invalid entity. recipient is not active")
            address, memo = recipient["address"], recipient.get("addressTag", "")
        if not STELLAR_ADDRESS.match(address):
            raise Problem(400, 2, "Invalid entity. address is not a Stellar account")
        replay = self._replay(key, body, kind)
        if replay is not None:
            return replay
        resource_id = str(uuid.uuid4())
        record = {
            "id": resource_id,
            "source": {"type": "wallet", "id": source["id"]},
            "amount": {"amount": amount["amount"], "currency": currency},
            "status": "pending",
            "createDate": _now(),
            "_wallet": source["id"],
            "_address": address,
            "_memo": memo,
            "_value": value,
            "_currency": currency,
        }
        if kind == "transfer":
            record["destination"] = {
                "type": "blockchain",
                "address": address,
                "chain": "XLM",
                **({"addressTag": memo} if memo else {}),
            }
            self.state.transfers[resource_id] = record
        else:
            record["destination"] = {"type": "address_book", "id": destination["id"]}
            record["toAmount"] = {"currency": currency}
            self.state.payouts[resource_id] = record
        self.state.idempotency[key] = (
            self.state.idempotency[key][0],
            kind,
            resource_id,
        )
        balance = self.state.wallets[source["id"]].get(currency, Decimal("0"))
        if balance < value:
            record.update(status="failed", errorCode="insufficient_funds")
        else:
            self.state.wallets[source["id"]][currency] = balance - value
            self.work.notify_all()
        return 201, {"data": _public(record)}

    def _create_recipient(self, body):
        body = body if isinstance(body, dict) else {}
        key = str(body.get("idempotencyKey") or "")
        address = str(body.get("address") or "")
        if body.get("chain") != "XLM" or not STELLAR_ADDRESS.match(address):
            raise Problem(400, 2, "Invalid entity. an XLM address is required")
        replay = self._replay(key, body, "recipient")
        if replay is not None:
            return replay
        recipient_id = str(uuid.uuid4())
        record = {
            "id": recipient_id,
            "chain": "XLM",
            "address": address,
            "metadata": body.get("metadata") or {},
            "status": "active",
            "createDate": _now(),
        }
        if body.get("addressTag"):
            record["addressTag"] = body["addressTag"]
        self.state.recipients[recipient_id] = record
        self.state.idempotency[key] = (
            self.state.idempotency[key][0],
            "recipient",
            recipient_id,
        )
        return 201, {"data": _public(record)}

    def _control(self, method: str, path: str, body):
        if method == "POST" and path == "/_fake/faults":
            self.set_faults(**(body or {}))
            return 200, {"faults": vars(self.faults)}, {}, 0
        if method == "GET" and path == "/_fake/state":
            return (
                200,
                {
                    "issuer": self.issuer,
                    "wallets": {
                        w: {c: str(a) for c, a in b.items()}
                        for w, b in self.state.wallets.items()
                    },
                    "transfers": [_public(t) for t in self.state.transfers.values()],
                    "payouts": [_public(t) for t in self.state.payouts.values()],
                },
                {},
                0,
            )
        raise Problem(404, 404, "Not Found")

    # ---- paying on the localnet ---------------------------------------------

    def _pending(self) -> list[dict]:
        return [
            t
            for t in (*self.state.transfers.values(), *self.state.payouts.values())
            if t["status"] == "pending" and not t.get("_paying")
        ]

    def _pay_loop(self) -> None:
        while True:
            with self.lock:
                while not self._stopping and not self._pending():
                    self.work.wait(0.5)
                if self._stopping:
                    return
                batch = self._pending()[:50]
                for record in batch:
                    record["_paying"] = True
            for record in batch:
                hash_, error = self._pay(record)
                with self.lock:
                    if hash_:
                        record.update(status="complete", transactionHash=hash_)
                    else:
                        record.update(status="failed", errorCode=error)
                        wallet = self.state.wallets[record["_wallet"]]
                        wallet[record["_currency"]] = (
                            wallet.get(record["_currency"], Decimal("0"))
                            + record["_value"]
                        )

    def _pay(self, record: dict) -> tuple[str, str]:
        """One payment from the fake's account; (hash, "") or ("", errorCode)."""
        if not self.horizon_url:
            return hashlib.sha256(record["id"].encode()).hexdigest(), ""
        from stellar_sdk import Asset, Server, TransactionBuilder
        from stellar_sdk.exceptions import BadRequestError, NotFoundError

        server = Server(self.horizon_url)
        asset = Asset(CURRENCY_ASSETS[record["_currency"]], self.issuer)
        for _ in range(5):
            try:
                account = server.load_account(self.issuer)
                builder = TransactionBuilder(
                    account, self.passphrase, base_fee=100
                ).set_timeout(60)
                builder.append_payment_op(
                    record["_address"], asset, str(record["_value"])
                )
                if record["_memo"]:
                    builder.add_text_memo(record["_memo"][:28])
                envelope = builder.build()
                envelope.sign(self.keypair)
                answer = server.submit_transaction(
                    envelope, skip_memo_required_check=True
                )
                return answer["hash"], ""
            except NotFoundError:
                return "", "blockchain_error"
            except BadRequestError as exc:
                codes = (exc.extras or {}).get("result_codes", {})
                if "tx_bad_seq" in str(codes):
                    continue
                return "", "transfer_failed"
            except Exception:
                time.sleep(0.2)
        return "", "blockchain_error"

    # ---- lifecycle -----------------------------------------------------------

    def fund_issuer(self) -> None:
        """Create the fake's account on the localnet (friendbot)."""
        import urllib.request

        if not self.horizon_url:
            return
        url = f"{self.horizon_url}/friendbot?addr={self.issuer}"
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeCircle:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    status, data, headers, delay = (
                        400,
                        {"code": 2, "message": "Invalid JSON"},
                        {},
                        0,
                    )
                else:
                    try:
                        status, data, headers, delay = fake.handle(
                            method, urlsplit(self.path).path, self.headers, body
                        )
                    except Problem as problem:
                        status, headers, delay = problem.status, problem.headers, 0
                        data = {"code": problem.code, "message": problem.message}
                if delay:
                    time.sleep(delay)
                payload = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        for target in (self._httpd.serve_forever, self._pay_loop):
            thread = threading.Thread(target=target, daemon=True, name="fake-circle")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self.lock:
            self._stopping = True
            self.work.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(10)


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def start_fake_circle(
    horizon_url: str = "", passphrase: str = "", port: int = 0, secret: str = ""
) -> FakeCircle:
    """A started fake; with a horizon_url its account is created (friendbot) and
    its transfers are really paid there."""
    fake = FakeCircle(horizon_url, passphrase, secret)
    fake.fund_issuer()
    return fake.start(port=port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--horizon-url", default="")
    parser.add_argument("--passphrase", default="Standalone Network ; February 2017")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--secret", default="", help="the fake's Stellar secret")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--usd", default="1000000")
    args = parser.parse_args(argv)
    fake = start_fake_circle(args.horizon_url, args.passphrase, args.port, args.secret)
    key = fake.add_api_key(args.api_key)
    wallet = fake.add_wallet(key, USD=args.usd, EUR=args.usd)
    print(
        json.dumps(
            {
                "url": fake.url,
                "api_key": key,
                "wallet_id": wallet,
                "issuer": fake.issuer,
            }
        ),
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
