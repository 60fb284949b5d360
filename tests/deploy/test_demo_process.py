"""`make demo` for real: `python manage.py demo` in a subprocess with its own
.sdp folder (SDP_STATE_DIR), its own embedded PostgreSQL and Redis and free
ports. Ctrl-C stops everything it started, the ready banner is the last of the
start-up output, and the banner's "pay someone" command pays a receiver, also
after a restart (when the first one named is paid)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
READY = "Press Ctrl-C to stop everything."
# What the platform's processes print while they start; all of it must come
# before the banner, not push it off the screen.
START_UP_NOISE = re.compile(
    r"Starting development server|Quit the server|celery@|beat: Starting|"
    r"System check identified|SecurityWarning|listening on http"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """One `manage.py demo` run: its output, line by line, as it comes."""

    def __init__(self, env: dict[str, str], port: int, localnet_port: int):
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-u", "manage.py", "demo", "--port", str(port),
             "--localnet-port", str(localnet_port), "--ledger-close", "1"],
            cwd=CHECKOUT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, as a terminal's foreground job: Ctrl-C
            # there signals the demo and every child it started.
            start_new_session=True,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, line in enumerate(list(self.lines)):
                if text in line:
                    return index
            if self.process.poll() is not None:
                self.reader.join(5)
                pytest.fail(f"the demo exited early:\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"no {text!r} within {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)


def _started_processes(demo: Demo, state: Path) -> dict[int, str]:
    """Every process the run started: its children (localnet, web, worker and
    its pool, beat) and the embedded PostgreSQL (with its backends) and Redis."""
    found = {
        child.pid: " ".join(child.cmdline())
        for child in psutil.Process(demo.process.pid).children(recursive=True)
    }
    postmaster = psutil.Process(
        int((state / "pg" / "postmaster.pid").read_text().split()[0])
    )
    found[postmaster.pid] = "postgres"
    for child in postmaster.children(recursive=True):
        found[child.pid] = "postgres backend"
    found[int((state / "redis" / "redis.pid").read_text())] = "redis-server"
    return found


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _unix_refused(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return True
    return False


def _run_and_stop(env, state, ports, *, terminal: bool, pay: str | None = None):
    """Start the demo, check its banner (and pay whom it names), stop it with
    SIGINT; the receiver the banner named."""
    port, localnet_port = ports
    demo = Demo(env, port, localnet_port)
    try:
        ready = demo.wait_for(READY, timeout=240)
        lines = demo.lines[: ready + 1]
        banner = next(i for i, line in enumerate(lines) if "demo is running" in line)
        noise = [i for i, line in enumerate(lines) if START_UP_NOISE.search(line)]
        assert noise, demo.output()  # the platform's start-up was seen...
        assert max(noise) < banner, demo.output()  # ...and all before the banner
        at = next(i for i in range(banner, ready) if "demo_wallet" in lines[i])
        command_line = lines[at].rstrip("\\") + lines[at + 1]
        receiver = re.search(r"Pay someone: (\S+) has", demo.output()).group(1)
        if pay is not None:
            assert receiver != pay  # the one paid before the restart is not named
        started = _started_processes(demo, state)
        names = " ".join(started.values())
        for part in ("localnet", "runserver", "worker", "beat", "postgres", "redis"):
            assert part in names, started

        # The banner's command, as typed in another terminal, pays the receiver.
        argv = shlex.split(command_line.strip())
        assert argv[:4] == [".venv/bin/python", "manage.py", "demo_wallet",
                            "--invite"]  # fmt: skip
        wallet = subprocess.run(
            [sys.executable, *argv[1:], "--wait-timeout", "60"],
            cwd=CHECKOUT,
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert wallet.returncode == 0, wallet.stdout + wallet.stderr
        assert "the transaction is completed" in wallet.stdout + wallet.stderr
        demo.wait_for("confirmed on the ledger", timeout=30)

        # Ctrl-C: in a terminal the whole foreground group gets SIGINT; else
        # the demo alone (e.g. `kill -INT`), which must stop its children.
        if terminal:
            os.killpg(demo.process.pid, signal.SIGINT)
        else:
            demo.process.send_signal(signal.SIGINT)
        demo.process.wait(timeout=60)
        demo.reader.join(5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(map(_alive, started)):
            time.sleep(0.2)
        left = {pid: name for pid, name in started.items() if _alive(pid)}
        assert not left, f"still running after Ctrl-C: {left}\n{demo.output()}"
        assert _refused(port)
        assert _refused(localnet_port)
        assert _unix_refused(state / "redis" / "redis.sock")
        assert not list((state / "pg").glob(".s.PGSQL.*")), demo.output()
        assert demo.lines[-1] == (
            "stopped the embedded PostgreSQL and Redis this demo started"
        ), demo.output()
        return receiver
    finally:
        demo.kill()


@pytest.fixture
def state():
    """The run's .sdp folder, in a folder the embedded PostgreSQL's own user
    (when we are root) can traverse, which pytest's tmp_path is not."""
    folder = Path(tempfile.mkdtemp(prefix="sdp-demo-test-"))
    folder.chmod(0o711)
    yield folder / "sdp"
    shutil.rmtree(folder, ignore_errors=True)


def test_ctrl_c_stops_all_it_started_and_the_banner_pays_after_a_restart(state):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "ENVIRONMENT"}
    }
    env["SDP_STATE_DIR"] = str(state)  # its own PostgreSQL, Redis and files
    env["PYTHONUNBUFFERED"] = "1"
    try:
        ports = (_free_port(), _free_port())
        first = _run_and_stop(env, state, ports, terminal=True)
        # The restart reuses the state: the first receiver is paid, so the
        # banner names another, whom its command pays too.
        # The same ports: freed by the first run, and the links name them.
        _run_and_stop(env, state, ports, terminal=False, pay=first)
    finally:
        subprocess.run(
            [sys.executable, "-m", "sdp.devservices", "stop"],
            cwd=CHECKOUT,
            env=env,
            timeout=60,
            check=False,
        )


def test_stop_leaves_alone_the_process_a_stale_pid_file_names(tmp_path, monkeypatch):
    """After a crash the pid files stay behind and their pids may be another
    program's by now: `make stop` (and Ctrl-C) must not signal it."""
    from sdp import devservices

    monkeypatch.setattr(devservices, "STATE_DIR", tmp_path)
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        for pidfile in (tmp_path / "redis" / "redis.pid",
                        tmp_path / "pg" / "postmaster.pid"):  # fmt: skip
            pidfile.parent.mkdir()
            pidfile.write_text(f"{bystander.pid}\n")
        assert devservices.stop(timeout=1) == []
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
