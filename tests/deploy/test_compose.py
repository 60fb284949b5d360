"""docker-compose.yml, checked without a Docker engine: valid against the
compose specification's schema (as vendored, with its licence, by the maintained
check-jsonschema), and shaped as docs/deploying.md says. Its commands and
healthchecks run for real in test_nginx_production.py."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from tests.deploy.helpers import ROOT

COMPOSE = ROOT / "docker-compose.yml"


def _validate(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema",
         "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_compose_file_is_valid_for_the_compose_specification():
    result = _validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validation_can_fail(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text().replace(
        "service_completed_successfully", "service_finished"
    )
    broken.write_text(text)
    assert _validate(broken).returncode != 0


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_processes_wait_for_migrate_and_have_a_healthcheck(services, name):
    service = services[name]
    assert service["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert service["env_file"] == ".env"
    assert service["environment"]["ENVIRONMENT"] == "production"


def test_migrate_runs_once(services):
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]


def test_web_healthcheck_names_an_allowed_host(services):
    check = " ".join(services["web"]["healthcheck"]["test"])
    assert "ALLOWED_HOSTS" in check
    assert "'Host'" in check


def test_the_web_serves_the_image_command_on_gunicorn_conf_listeners(services):
    # Any --bind would replace gunicorn.conf.py's three listeners (docs/ports.md);
    # the JSON access log is the application's (sdp.accesslog), in every shape.
    command = services["web"]["command"]
    assert command == ["gunicorn", "sdp.wsgi"]
    assert services["web"]["environment"]["INTERNAL_BIND_ADDRESS"] == "0.0.0.0"  # noqa: S104 - the compose network


@pytest.mark.parametrize("name", [".env.example", ".env.production.example"])
def test_env_examples_have_no_shell_syntax(name):
    # A .env file is read as KEY=value lines, never evaluated by a shell.
    for number, line in enumerate((ROOT / name).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        where = f"{name}:{number}: {line!r}"
        assert sep, where
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), where
        assert not re.search(r"\$\(|`|\$\{|^\s*export\s", line), where
        assert not value.startswith(("'", '"')), where
