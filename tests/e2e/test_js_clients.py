"""JavaScript clients against our servers, run by Node from tests/js (installed
with `npm ci` there): SDF's TypeScript wallet SDK logging in with SEP-10, and
node-fetch v2 on Node's keep-alive agent against the localnet's Horizon and the
development web server (runserver)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.db import connection
from stellar_sdk import Keypair, Network
from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction

from receivers.sep.tokens import read_sep10_token
from tests.receivers import sep24_schema as schema
from tests.receivers.conftest import (  # noqa: F401 - fixtures
    _horizon_server,
    horizon,
    make_tenant,
)

JS = Path(__file__).resolve().parent.parent / "js"
ROOT = JS.parent.parent


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/js installed from its lock file (CI runs `npm ci` first; a
    developer's first run does it here)."""
    node = shutil.which("node")
    assert node, "Node.js is needed: apt-get install nodejs npm"
    if not (JS / "node_modules" / "@stellar" / "typescript-wallet-sdk").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            check=True,
            timeout=300,
            capture_output=True,
        )
    return JS


def _node(script: str, *args: str, timeout: float = 60) -> dict:
    done = subprocess.run(
        ["node", script, *args],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output from {script}: {done.stderr[-2000:]}"
    return json.loads(lines[-1])


# --- 18a: Connection: close is answered -----------------------------------------


def test_localnet_horizon_serves_ten_requests_in_a_row(node_modules, localnet):
    result = _node("keep_alive_client.js", f"{localnet.url}/", "10")

    assert result == {"ok": 10, "errors": []}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def runserver(transactional_db):
    """`manage.py runserver` as `make run` and `make demo` start it, on the
    test database."""
    port = _free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/.well-known/stellar.toml", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_runserver_serves_ten_requests_in_a_row(node_modules, runserver):
    result = _node(
        "keep_alive_client.js", f"{runserver}/.well-known/stellar.toml", "10"
    )

    assert result == {"ok": 10, "errors": []}
    closing = requests.get(
        f"{runserver}/.well-known/stellar.toml",
        headers={"Connection": "close"},
        timeout=10,
    )
    assert closing.headers["Connection"] == "close"


# --- 4b: SEP-10 with SDF's TypeScript wallet SDK and with the Python SDK ----------


@pytest.fixture
def single_tenant(live_server, settings, wallet_domain, horizon):  # noqa: F811
    """The tenant a wallet reaches at the live server's address."""
    settings.SINGLE_TENANT_MODE = True
    settings.SEP10_CLIENT_ATTRIBUTION_REQUIRED = False
    # The TypeScript SDK allows plain HTTP on testnet only.
    settings.NETWORK_PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE
    tenant = make_tenant(wallet_domain, settings)
    tenant.is_default = True
    tenant.base_url = live_server.url
    tenant.save(update_fields=["is_default", "base_url"])
    return tenant


def test_typescript_wallet_sdk_logs_in_on_a_non_standard_port(
    node_modules, live_server, single_tenant
):
    account = Keypair.random()
    assert urlsplit(live_server.url).port not in (None, 80, 443)

    result = _node("sep10_login.js", live_server.url, account.secret, "USDC")

    assert "token" in result, result
    identity = read_sep10_token(result["token"])
    assert identity.account == account.public_key
    assert identity.tenant_id == str(single_tenant.id)
    # SEP-24 through the same SDK: what it read, checked against the spec.
    schema.check(result["info"], schema.INFO)
    schema.check(result["deposit"], schema.INTERACTIVE)
    schema.check({"transaction": result["transaction"]}, schema.ONE)
    schema.check({"transactions": result["transactions"]}, schema.MANY)
    assert result["transaction"]["id"] == result["deposit"]["id"]
    assert result["transaction"]["status"] == "incomplete"
    assert [t["id"] for t in result["transactions"]] == [result["deposit"]["id"]]


def test_python_sdk_reads_the_challenge_as_the_spec_says(live_server, single_tenant):
    """A wallet on stellar-sdk (Python) checks web_auth_domain against the host
    name of WEB_AUTH_ENDPOINT, as SEP-10 defines the web auth domain."""
    account = Keypair.random()
    toml = requests.get(f"{live_server.url}/.well-known/stellar.toml", timeout=10)
    endpoint = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in toml.text.splitlines()
        if line.startswith("WEB_AUTH_ENDPOINT")
    )
    home_domain = urlsplit(live_server.url).netloc
    challenge = requests.get(
        endpoint,
        params={"account": account.public_key, "home_domain": home_domain},
        timeout=10,
    ).json()

    read = read_challenge_transaction(
        challenge["transaction"],
        settings.SEP10_SIGNING_PUBLIC_KEY,
        home_domain,
        urlsplit(endpoint).hostname,
        challenge["network_passphrase"],
    )

    assert read.client_account_id == account.public_key
    envelope = read.transaction
    envelope.sign(account)
    token = requests.post(
        endpoint, json={"transaction": envelope.to_xdr()}, timeout=10
    ).json()["token"]
    assert read_sep10_token(token).account == account.public_key


# --- 4b on 443: the SDK through real nginx terminating TLS ------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _UnixBridge:
    """A Unix socket relayed to the live server's TCP port, so nginx in its own
    network namespace (where 443 is free) can reach it."""

    def __init__(self, path: Path, target: tuple[str, int]):
        import threading

        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(16)
        self.server.settimeout(0.5)
        self.target = target
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        import threading

        while not self.stopped.is_set():
            try:
                inbound, _ = self.server.accept()
            except TimeoutError:
                continue
            outbound = socket.create_connection(self.target, timeout=30)
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.server.close()


NGINX_CONF = """
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:443 ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://unix:{socket}:;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"""


def test_typescript_wallet_sdk_logs_in_on_443_behind_tls(
    node_modules, live_server, single_tenant, settings, tmp_path
):
    """https://localhost (port 443) through nginx terminating TLS, in a network
    namespace of the test's own where 443 is free; the SDK trusts the test's
    certificate. Django takes the scheme from X-Forwarded-Proto, as gunicorn
    does for a proxy on the same machine."""
    assert shutil.which("nginx"), "nginx is needed: apt-get install nginx"
    assert shutil.which("unshare"), "unshare (util-linux) is needed"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    cert, key = _self_signed(tmp_path)
    bridge = _UnixBridge(
        tmp_path / "web.sock", ("127.0.0.1", urlsplit(live_server.url).port)
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            dir=tmp_path, cert=cert, key=key, socket=tmp_path / "web.sock"
        )
    )
    account = Keypair.random()
    script = (
        f"ip link set lo up && nginx -c {conf} && "
        f"NODE_EXTRA_CA_CERTS={cert} NODE_OPTIONS=--dns-result-order=ipv4first "
        f"node sep10_login.js localhost {account.secret}; status=$?; "
        f"kill $(cat {tmp_path}/nginx.pid); exit $status"
    )
    try:
        done = subprocess.run(
            ["unshare", "--net", "sh", "-c", script],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        bridge.close()
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-2000:] + (tmp_path / "error.log").read_text()[-2000:]
    result = json.loads(lines[-1])
    assert "token" in result, (result, (tmp_path / "error.log").read_text()[-2000:])
    assert read_sep10_token(result["token"]).account == account.public_key
