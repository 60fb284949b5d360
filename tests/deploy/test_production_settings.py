"""Production's settings: check --deploy is clean in the documented
configuration, a development shape refuses to start (one line per problem, no
traceback), and the proxy's scheme is believed only when the operator says so."""

from __future__ import annotations

import pytest

from tests.deploy.helpers import production_env, run_in

PREFIX = "ENVIRONMENT=production refused: "


def _refusals(result) -> list[str]:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    return [
        line.removeprefix(PREFIX)
        for line in result.stderr.splitlines()
        if line.startswith(PREFIX)
    ]


def test_check_deploy_is_clean_in_the_documented_production_configuration():
    # drf-spectacular's own deploy check (the schema, generated) included.
    result = run_in(production_env(), "manage.py", "check", "--deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
    assert "drf_spectacular" not in result.stdout + result.stderr


def test_documented_production_settings_are_the_secure_ones():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SECURE_PROXY_SSL_HEADER, sorted(s.CSRF_TRUSTED_ORIGINS),"
        " 'sdp.csrf.TenantCsrfViewMiddleware' in s.MIDDLEWARE)"
    )
    env = production_env(DJANGO_SETTINGS_MODULE="sdp.settings")
    result = run_in(env, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True True True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https') "
        "['https://*.dashboard.example.org', 'https://*.sdp.example.org', "
        "'https://dashboard.example.org', 'https://sdp.example.org'] True"
    )


def test_the_proxy_header_is_not_believed_by_default():
    env = production_env(DJANGO_SETTINGS_MODULE="sdp.settings")
    del env["TRUST_X_FORWARDED_PROTO"]
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(getattr(s, 'SECURE_PROXY_SSL_HEADER', None), s.SECURE_SSL_REDIRECT)"
    )
    result = run_in(env, "-c", code)
    assert result.returncode == 0, result.stderr
    # No redirect either: every request would look like plain http (a loop).
    assert result.stdout.strip() == "None False"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"NETWORK_PASSPHRASE": "Standalone Network ; February 2017"},
            "NETWORK_PASSPHRASE is the localnet's",
        ),
        (
            {"HORIZON_URL": "http://127.0.0.1:8001"},
            "HORIZON_URL http://127.0.0.1:8001 looks like the localnet",
        ),
        (
            {"HORIZON_URL": "https://horizon.internal:8001"},
            "HORIZON_URL https://horizon.internal:8001 looks like the localnet",
        ),
        (
            {"BASE_URL": "http://sdp.example.org"},
            "BASE_URL http://sdp.example.org is not https",
        ),
        (
            {"BASE_URL": "https://localhost:8000"},
            "BASE_URL https://localhost:8000 names this machine",
        ),
        (
            {"BASE_URL": "https://127.0.0.1"},
            "BASE_URL https://127.0.0.1 names this machine",
        ),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        ({"DEBUG": "true"}, "DEBUG is on"),
        (
            {
                "NETWORK_PASSPHRASE": "Public Global Stellar Network ; September 2015",
                "HORIZON_URL": "https://horizon.stellar.org",
                "DISABLE_MFA": "true",
            },
            "DISABLE_MFA is set on pubnet",
        ),
        ({"SEP24_JWT_SECRET": ""}, "SEP24_JWT_SECRET is not set"),
    ],
)
def test_production_refuses_a_development_shape(overrides, expected):
    result = run_in(production_env(**overrides), "manage.py", "check")
    lines = _refusals(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines


def test_production_names_every_problem_at_once():
    env = {
        "ENVIRONMENT": "production",
        "DEBUG": "true",
        "BASE_URL": "http://localhost:8000",
        "SECRET_KEY": "x" * 50,
    }
    lines = _refusals(run_in(env, "manage.py", "check"))
    for expected in (
        "DISTRIBUTION_SEED is not set",
        "EC256_PRIVATE_KEY is not set",
        "DATABASE_URL is not set",
        "REDIS_URL is not set",
        "NETWORK_PASSPHRASE is the localnet's",
        "HORIZON_URL http://127.0.0.1:8001 looks like the localnet",
        "BASE_URL http://localhost:8000 is not https",
        "BASE_URL http://localhost:8000 names this machine",
        "ALLOWED_HOSTS is empty",
        "DEBUG is on",
    ):
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert not any("SECRET_KEY" in line for line in lines)


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "gunicorn", "sdp.wsgi", "--bind", "127.0.0.1:0"],
        ["-m", "celery", "-A", "sdp", "worker", "--pool", "solo"],
        ["-m", "celery", "-A", "sdp", "beat"],
    ],
    ids=["gunicorn", "worker", "beat"],
)
def test_each_process_of_the_image_refuses_without_a_traceback(command):
    # As the Dockerfile and docker-compose.yml start them (gunicorn preloads).
    result = run_in(production_env(DEBUG="true"), *command, timeout=60)
    assert _refusals(result) == ["DEBUG is on: set DEBUG=false"], result.stderr
