"""Production refuses to start without its secrets, naming each missing one."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "sdp.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_names_every_missing_secret():
    result = _start({"ENVIRONMENT": "production", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    for name in ("DISTRIBUTION_SEED", "EC256_PRIVATE_KEY", "DATABASE_URL", "REDIS_URL"):
        assert f"ENVIRONMENT=production refused: {name} is not set" in result.stderr
    assert "SECRET_KEY is not set" not in result.stderr
    assert "Traceback" not in result.stderr


def test_mfa_cannot_be_disabled_on_pubnet():
    result = _start(
        {
            "NETWORK_PASSPHRASE": "Public Global Stellar Network ; September 2015",
            "DISABLE_MFA": "true",
        }
    )
    assert result.returncode != 0
    assert "DISABLE_MFA cannot be set on pubnet" in result.stderr


def test_importing_the_settings_starts_no_server(tmp_path):
    # Without DATABASE_URL / REDIS_URL the settings point at the embedded servers'
    # places; only manage.py, the tests and `make worker`/`beat` start them.
    result = _start({"SDP_STATE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    made = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert made == ["dev-secrets.env"]
