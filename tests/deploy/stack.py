"""The production shape on this machine: nginx from Debian terminating TLS (a
self-signed certificate made here) in front of gunicorn, a Celery worker and
beat, each started with the command docker-compose.yml gives its service, with
ENVIRONMENT=production, against this machine's PostgreSQL and Redis and a
localnet (itself behind nginx over https, as a real Horizon is).

Everything listens on free loopback ports; nginx runs in the foreground with its
own prefix and configuration in a temporary folder. Host names (``sdp.test``,
``dashboard.test``) resolve to 127.0.0.1 in the test process only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
HOST = "sdp.test"
DASHBOARD_HOST = "dashboard.test"
START_TIMEOUT = 60  # seconds, each process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for sdp.test, its sub-domains and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(HOST),
                    x509.DNSName(f"*.{HOST}"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


NGINX_CONF = """
{user}worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    client_max_body_size 11m;
    ssl_certificate {cert};
    ssl_certificate_key {key};

    # The platform: what docs/deploying.md tells an operator to write.
    server {{
        listen 127.0.0.1:{https_port} ssl;
        server_name {host} *.{host};
        location / {{
            proxy_pass http://127.0.0.1:{web_port};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
    # The localnet's Horizon over https, as testnet's and pubnet's are.
    server {{
        listen 127.0.0.1:{horizon_port} ssl;
        location / {{
            proxy_pass {localnet_url};
            proxy_buffering off;
        }}
    }}
}}
"""


def compose_command(service: str) -> list[str]:
    """The service's command in docker-compose.yml (the image's, for web)."""
    return list(yaml.safe_load(COMPOSE.read_text())["services"][service]["command"])


def compose_healthcheck(service: str) -> list[str]:
    """The service's healthcheck as a command (CMD-SHELL through /bin/sh, with
    compose's $$ unescaped)."""
    test = yaml.safe_load(COMPOSE.read_text())["services"][service]["healthcheck"]
    kind, *rest = test["test"]
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", rest[0].replace("$$", "$")]
    assert kind == "CMD", test
    return rest


def runnable(command: list[str], replacements: dict[str, str]) -> list[str]:
    """The image's command on this machine: its programs from this Python's
    environment, container addresses and paths replaced."""
    bin_dir = Path(os.sys.executable).parent
    program = command[0]
    if program == "python":
        program = os.sys.executable
    elif (bin_dir / program).exists():
        program = str(bin_dir / program)
    args = []
    for arg in command[1:]:
        for old, new in replacements.items():
            arg = arg.replace(old, new)
        args.append(arg)
    if program == "/bin/sh":  # a shell line: its programs from this environment
        args[-1] = f"PATH={bin_dir}:$PATH; {args[-1]}"
    return [program, *args]


@dataclass
class Stack:
    workdir: Path
    https_port: int
    horizon_port: int
    ca_bundle: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    replacements: dict[str, str] = field(default_factory=dict)

    def healthcheck(self, service: str) -> subprocess.CompletedProcess:
        """docker-compose.yml's healthcheck of ``service``, run here."""
        command = runnable(compose_healthcheck(service), self.replacements)
        env = {**self.env, "HOSTNAME": socket.gethostname()}
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    @property
    def base_url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    @property
    def horizon_url(self) -> str:
        return f"https://127.0.0.1:{self.horizon_port}"

    @property
    def dashboard_origin(self) -> str:
        return f"https://{DASHBOARD_HOST}"

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} ---\n{self.log(name)}" for name in (*self.processes, "error")
        )


@contextmanager
def resolving_test_hosts():
    """sdp.test, its sub-domains and dashboard.test are 127.0.0.1 for this
    process (as /etc/hosts would make them)."""
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and (
            host in (HOST, DASHBOARD_HOST) or host.endswith(f".{HOST}")
        ):
            host = "127.0.0.1"
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original


def _start(stack: Stack, name: str, command: list[str], env: dict) -> None:
    log = open(stack.workdir / f"{name}.log", "wb")  # noqa: SIM115 - the child's
    stack.processes[name] = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()


def _wait(stack: Stack, name: str, ready) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if stack.processes[name].poll() is not None:
            raise AssertionError(f"{name} exited:\n{stack.logs()}")
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} did not start in {START_TIMEOUT} s:\n{stack.logs()}")


def _answers(url: str, **kwargs) -> bool:
    try:
        requests.get(url, timeout=2, **kwargs)
    except requests.RequestException:
        return False
    return True


def _stop(stack: Stack) -> None:
    for process in stack.processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in stack.processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextmanager
def production_stack(workdir: Path, env: dict[str, str], localnet_url: str):
    """nginx, gunicorn, worker and beat; ``env`` is the processes' environment
    (production settings); BASE_URL and HORIZON_URL are filled in here."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed (apt-get install nginx)"
    (workdir / "tmp").mkdir(parents=True)
    cert, key = make_certificate(workdir)
    # The processes trust the system's authorities and this certificate.
    bundle = workdir / "ca-bundle.pem"
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    bundle.write_bytes(
        (system.read_bytes() if system.exists() else b"") + cert.read_bytes()
    )
    https_port, horizon_port, web_port = free_port(), free_port(), free_port()
    stack = Stack(workdir, https_port, horizon_port, bundle, {})
    stack.env = {
        **env,
        "BASE_URL": stack.base_url,
        "HORIZON_URL": stack.horizon_url,
        "REQUESTS_CA_BUNDLE": str(bundle),
        "SSL_CERT_FILE": str(bundle),
        # gunicorn.conf.py's public listener (the image's PORT 8000), here free.
        "PORT": str(web_port),
        "BIND_ADDRESS": "127.0.0.1",
    }
    (workdir / "nginx.conf").write_text(
        NGINX_CONF.format(
            user="user root;\n" if os.geteuid() == 0 else "",
            dir=workdir,
            cert=cert,
            key=key,
            https_port=https_port,
            horizon_port=horizon_port,
            web_port=web_port,
            host=HOST,
            localnet_url=localnet_url,
        )
    )
    stack.replacements = replacements = {
        "0.0.0.0:8000": f"127.0.0.1:{web_port}",
        "127.0.0.1:8000": f"127.0.0.1:{web_port}",
        "/tmp/celerybeat-schedule": str(workdir / "celerybeat-schedule"),  # noqa: S108
    }
    with ExitStack() as cleanup:
        cleanup.callback(_stop, stack)
        nginx_command = [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
                         "-e", str(workdir / "error.log")]  # fmt: skip
        _start(stack, "nginx", nginx_command, dict(os.environ))
        _wait(
            stack,
            "nginx",
            lambda: _answers(stack.horizon_url + "/", verify=str(bundle)),
        )
        for service in ("web", "worker", "beat"):
            command = runnable(compose_command(service), replacements)
            _start(stack, service, command, stack.env)
        with resolving_test_hosts():
            _wait(
                stack,
                "web",
                lambda: _answers(stack.base_url + "/health", verify=str(bundle)),
            )
            _wait(stack, "worker", lambda: "ready." in stack.log("worker"))
            _wait(stack, "beat", lambda: "beat: Starting" in stack.log("beat"))
            yield stack
