"""Start a localnet for tests: a pytest plugin and a plain helper.

In a conftest: ``pytest_plugins = ["localnet.testing"]``; then use the
``localnet`` fixture (one network for the session) or ``localnet_factory``
(fresh networks, stopped at the end of the test).

    def test_payment(localnet):
        server = localnet.server()            # stellar_sdk.Server
        localnet.friendbot(keypair.public_key)
        with localnet.injected_faults(timeout_after_accept=1.0):
            ...

Outside pytest, ``start_localnet()`` returns the same object; call ``stop()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

DEFAULT_PASSPHRASE = "Standalone Network ; February 2017"
STARTUP_TIMEOUT = 60.0  # seconds; importing stellar-sdk is slow on a busy machine


class LocalnetError(RuntimeError):
    pass


class Localnet:
    """A running localnet subprocess and helpers to drive it."""

    def __init__(
        self,
        process: subprocess.Popen,
        url: str,
        passphrase: str,
        workdir: Path,
        log_path: Path,
    ):
        self.process = process
        self.url = url
        self.horizon_url = url
        self.passphrase = passphrase
        self.workdir = workdir
        self.log_path = log_path
        self._server = None

    # ---- HTTP ---------------------------------------------------------------

    def request(
        self, method: str, path: str, body: dict | None = None, timeout: float = 30.0
    ) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def _ok(
        self, method: str, path: str, body: dict | None = None, timeout: float = 30.0
    ) -> dict:
        status, data = self.request(method, path, body, timeout)
        if status >= 400:
            raise LocalnetError(f"{method} {path} answered {status}: {data}")
        return data

    # ---- helpers --------------------------------------------------------------

    def server(self):
        """A stellar_sdk.Server pointed at this network (one, reused: a new
        one pays for a new HTTP session on its first request)."""
        if self._server is None:
            from stellar_sdk import Server

            self._server = Server(self.url)
        return self._server

    @property
    def rpc_url(self) -> str:
        """Stellar RPC (JSON-RPC 2.0) of this network."""
        return self.url + "/rpc"

    def soroban_server(self):
        """A stellar_sdk.SorobanServer pointed at this network's RPC."""
        from stellar_sdk import SorobanServer

        return SorobanServer(self.rpc_url)

    def archive(self, contract: str | None = None) -> int:
        """Let contract data (of one contract, or all) pass its TTL now."""
        body = {"contract": contract} if contract else {}
        return self._ok("POST", "/_localnet/archive", body)["archived"]

    def configure_soroban(
        self, persistent_ttl: int | None = None, limits: dict | None = None
    ) -> dict:
        body: dict = {}
        if persistent_ttl is not None:
            body["persistent_ttl"] = persistent_ttl
        if limits:
            body["limits"] = limits
        return self._ok("POST", "/_localnet/soroban", body)

    def friendbot(self, address: str) -> dict:
        """Create `address` with 10,000 XLM (waits for the ledger)."""
        return self._ok("GET", f"/friendbot?addr={address}", timeout=60)

    def root_keypair(self):
        """The network's root account (holds almost all lumens)."""
        from stellar_sdk import Keypair

        return Keypair.from_secret(self.info()["root_secret"])

    def info(self) -> dict:
        return self._ok("GET", "/_localnet/info")

    def stats(self) -> dict:
        return self._ok("GET", "/_localnet/stats")

    def root(self) -> dict:
        return self._ok("GET", "/")

    def latest_ledger(self) -> int:
        return self.root()["core_latest_ledger"]

    def faults(self) -> dict:
        return self._ok("GET", "/_localnet/faults")

    def set_faults(self, **faults) -> dict:
        """Set fault probabilities / ingestion lag, e.g. set_faults(rate_limit=0.5).

        Keys: timeout_after_accept, timeout_drop, rate_limit, unavailable
        (probabilities 0..1), ingestion_lag (ledgers), seed (RNG seed),
        reset (True wipes the network).
        """
        return self._ok("POST", "/_localnet/faults", faults)

    def clear_faults(self) -> dict:
        return self.set_faults(
            timeout_after_accept=0,
            timeout_drop=0,
            rate_limit=0,
            unavailable=0,
            ingestion_lag=0,
        )

    @contextlib.contextmanager
    def injected_faults(self, **faults):
        """Faults for the duration of a with-block, then back to none."""
        self.set_faults(**faults)
        try:
            yield self
        finally:
            self.clear_faults()

    def configure(
        self, ledger_close: float | None = None, max_ops_per_ledger: int | None = None
    ) -> dict:
        body = {}
        if ledger_close is not None:
            body["ledger_close"] = ledger_close
        if max_ops_per_ledger is not None:
            body["max_ops_per_ledger"] = max_ops_per_ledger
        return self._ok("POST", "/_localnet/config", body)

    def close_ledger(self) -> int:
        """Close a ledger now; returns its sequence."""
        return self._ok("POST", "/_localnet/close")["sequence"]

    def reset(self) -> None:
        """A network reset: every account and transaction is gone."""
        self._ok("POST", "/_localnet/reset")

    def wait_for_ledger(self, sequence: int, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            latest = self.latest_ledger()
            if latest >= sequence:
                return latest
            if time.monotonic() > deadline:
                raise LocalnetError(f"ledger {sequence} not reached (at {latest})")
            time.sleep(0.05)

    def wait_for_transaction(self, tx_hash: str, timeout: float = 30.0) -> dict:
        """GET /transactions/{hash} until it answers 200."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.request("GET", f"/transactions/{tx_hash}")
            if status == 200:
                return body
            if time.monotonic() > deadline:
                raise LocalnetError(f"transaction {tx_hash} not found ({status})")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    # ---- lifecycle --------------------------------------------------------------

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def __enter__(self) -> Localnet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_localnet(
    ledger_close: float = 0.3,
    max_ops_per_ledger: int = 1000,
    passphrase: str = DEFAULT_PASSPHRASE,
    state: str | None = None,
    faults: dict | None = None,
    submit_timeout: float = 30.0,
    extra_args: tuple[str, ...] = (),
    startup_timeout: float = STARTUP_TIMEOUT,
) -> Localnet:
    """Start `python -m localnet` on a free port of 127.0.0.1 and wait until
    `GET /` answers."""
    workdir = Path(tempfile.mkdtemp(prefix="localnet-"))
    port_file = workdir / "port"
    log_path = workdir / "localnet.log"
    args = [
        sys.executable,
        "-m",
        "localnet",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--ledger-close",
        str(ledger_close),
        "--max-ops-per-ledger",
        str(max_ops_per_ledger),
        "--passphrase",
        passphrase,
        "--submit-timeout",
        str(submit_timeout),
        *extra_args,
    ]
    if state:
        args += ["--state", str(state)]
    if faults:
        args += ["--faults", json.dumps(faults)]
    project_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [project_root] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    log_file = open(log_path, "wb")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(  # noqa: S603
        args,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=project_root,
        env=env,
    )
    log_file.close()
    deadline = time.monotonic() + startup_timeout
    while not port_file.exists():
        if process.poll() is not None:
            raise LocalnetError(
                f"localnet exited with {process.returncode}: {log_path.read_text()}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise LocalnetError(f"localnet did not start: {log_path.read_text()}")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{int(port_file.read_text())}"
    net = Localnet(process, url, passphrase, workdir, log_path)
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as resp:
                if resp.status == 200:
                    return net
        except OSError:
            pass
        if time.monotonic() > deadline:
            net.stop()
            raise LocalnetError(f"localnet did not answer: {net.log()}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def localnet():
    """One localnet for the test session (0.3 s ledgers). Tests that set
    faults should use `localnet.injected_faults(...)` so others don't see them."""
    net = start_localnet()
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def localnet_factory():
    """Start extra localnets: `localnet_factory(ledger_close=0.2, faults={...})`;
    all are stopped after the test."""
    started: list[Localnet] = []

    def factory(**kwargs) -> Localnet:
        net = start_localnet(**kwargs)
        started.append(net)
        return net

    try:
        yield factory
    finally:
        for net in started:
            net.stop()


# ---- helpers for tests that submit real signed envelopes ------------------------


def submit(net: Localnet, tx) -> tuple[int, dict]:
    """Submit through stellar_sdk.Server (sync); returns (status, body), the
    body of a 4xx included (its `extras` carry the result codes)."""
    from stellar_sdk.exceptions import BadRequestError

    server = net.server()
    try:
        return 200, server.submit_transaction(tx, skip_memo_required_check=True)
    except BadRequestError as exc:
        return exc.status, {"extras": exc.extras or {}, "type": exc.type}


def result_codes(net: Localnet, tx) -> dict:
    """Horizon's result codes for a submitted transaction."""
    status, body = submit(net, tx)
    if status == 200:
        return {"transaction": "tx_success"}
    return body["extras"].get("result_codes", {})


def builder(net: Localnet, source: str, base_fee: int = 100, timeout: int = 60):
    """A TransactionBuilder for `source` with its current sequence number."""
    from stellar_sdk import TransactionBuilder

    account = net.server().load_account(source)
    return TransactionBuilder(account, net.passphrase, base_fee=base_fee).set_timeout(
        timeout
    )


# ---- a fake of Circle's API that pays on the localnet ---------------------------


@pytest.fixture
def fake_circle(localnet):
    """A fresh fake Circle (localnet.circle) paying on the session's localnet:
    ``fake_circle.url`` is the CIRCLE_API_BASE_URL; add keys and wallets with
    ``add_api_key()`` and ``add_wallet(key, USD="100")``; its account
    (``fake_circle.issuer``) issues the USDC and EURC it pays."""
    from localnet.circle import start_fake_circle

    fake = start_fake_circle(localnet.url, localnet.passphrase)
    try:
        yield fake
    finally:
        fake.stop()
