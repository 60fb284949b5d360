"""The documented production configuration (.env.production.example) with fresh
secrets, and a way to start a command in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sdp.gensecrets import env_lines, generate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.production.example"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as docker compose and django-environ read them (no shell)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=value: {line!r}"
        values[key] = value
    return values


def production_env(**overrides: str) -> dict[str, str]:
    """The example's values, the secrets filled in as the guide's command prints
    them, this machine's PostgreSQL and Redis, then the overrides."""
    values = read_env_file(EXAMPLE)
    secrets = read_env_text(env_lines(generate()))
    for key, value in secrets.items():
        assert key in values, f"{key} is missing from {EXAMPLE.name}"
        values[key] = value
    values["DATABASE_URL"] = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sdp"
    )
    values["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    values.update(overrides)
    return values


def read_env_text(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def run_in(env: dict[str, str], *args: str, timeout: float = 120):
    """``python args...`` in the checkout with exactly ``env`` (and PATH)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
