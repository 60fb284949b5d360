"""Settings: one module, everything from the environment (django-environ).

Names follow SDP's where the concept is the same. Outside production, a missing
DATABASE_URL or REDIS_URL starts the embedded PostgreSQL or Redis, and missing
secrets are generated once per checkout (sdp/devservices.py). In production a
missing required secret stops the start with a message naming it.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # local convenience only; never committed

ENVIRONMENT = env.str("ENVIRONMENT", default="development")
PRODUCTION = ENVIRONMENT == "production"

REQUIRED_SECRETS = (
    "SECRET_KEY",
    "EC256_PRIVATE_KEY",
    "SEP10_SIGNING_PUBLIC_KEY",
    "SEP10_SIGNING_PRIVATE_KEY",
    "SEP24_JWT_SECRET",
    "DISTRIBUTION_PUBLIC_KEY",
    "DISTRIBUTION_SEED",
    "DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE",
    "CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE",
    "ADMIN_ACCOUNT",
    "ADMIN_API_KEY",
)

if PRODUCTION:
    # Missing ones are named, with every other problem, at the end of this module.
    _dev_secrets: dict[str, str] = {}
else:
    from sdp import devservices

    _dev_secrets = devservices.dev_secrets()


def _secret(name: str) -> str:
    return env.str(name, default="") or _dev_secrets.get(name, "")


SECRET_KEY = _secret("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if not PRODUCTION else [])
INSTANCE_NAME = env.str("INSTANCE_NAME", default="SDP")
VERSION = "0.1.0"

# Where the dashboard, the registration pages and links in messages point.
BASE_URL = env.str("BASE_URL", default="http://localhost:8000")
SDP_UI_BASE_URL = env.str("SDP_UI_BASE_URL", default="http://localhost:3000")

# --- Stellar network -------------------------------------------------------
# Network passphrases are public identifiers, not secrets.
TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"  # noqa: S105
PUBNET_PASSPHRASE = "Public Global Stellar Network ; September 2015"  # noqa: S105
LOCALNET_PASSPHRASE = "Standalone Network ; February 2017"  # noqa: S105
NETWORK_PASSPHRASE = env.str("NETWORK_PASSPHRASE", default=LOCALNET_PASSPHRASE)
HORIZON_URL = env.str("HORIZON_URL", default="http://127.0.0.1:8001")
# The payment notice's link to a transaction in a block explorer ({hash} is
# replaced); empty: no link (localnet has no explorer).
TRANSACTION_EXPLORER_URL = env.str(
    "TRANSACTION_EXPLORER_URL",
    default="https://stellar.expert/explorer/testnet/tx/{hash}",
)
# The number format of the statements and notices (a language code Django
# formats numbers for: en, de, fr, es, ...), when the organization sets none.
REPORTS_LOCALE = env.str("REPORTS_LOCALE", default="en")
IS_PUBNET = NETWORK_PASSPHRASE == PUBNET_PASSPHRASE
# Stellar RPC, for payments to contract accounts (C...): the localnet serves it
# at /rpc beside its Horizon; testnet and pubnet need a provider's or your own.
RPC_URL = env.str("RPC_URL", default=HORIZON_URL.rstrip("/") + "/rpc")
RPC_REQUEST_AUTH_HEADER_KEY = env.str("RPC_REQUEST_AUTH_HEADER_KEY", default="")
RPC_REQUEST_AUTH_HEADER_VALUE = _secret("RPC_REQUEST_AUTH_HEADER_VALUE")

# One line in a .env file: the PEM's line breaks may be written as \n.
EC256_PRIVATE_KEY = _secret("EC256_PRIVATE_KEY").replace("\\n", "\n")
SEP10_SIGNING_PUBLIC_KEY = _secret("SEP10_SIGNING_PUBLIC_KEY")
SEP10_SIGNING_PRIVATE_KEY = _secret("SEP10_SIGNING_PRIVATE_KEY")
SEP10_CLIENT_ATTRIBUTION_REQUIRED = env.bool(
    "SEP10_CLIENT_ATTRIBUTION_REQUIRED", default=True
)
SEP24_JWT_SECRET = _secret("SEP24_JWT_SECRET")
# Where a wallet's client domain publishes its SIGNING_KEY; tests point it at a
# local fake ({domain} is the client domain).
SEP10_CLIENT_DOMAIN_TOML_URL = env.str(
    "SEP10_CLIENT_DOMAIN_TOML_URL", default="https://{domain}/.well-known/stellar.toml"
)
# Demo shortcut: on the local network only (never testnet or pubnet, never in
# production) this code passes the receiver's one-time-code check. Empty = off.
REGISTRATION_DEMO_OTP = env.str("REGISTRATION_DEMO_OTP", default="000000")
# One-time codes to receivers: per contact and per SEP-24 transaction, at most
# one every OTP_SEND_MIN_INTERVAL_SECONDS and OTP_SEND_MAX_PER_HOUR an hour.
OTP_SEND_MIN_INTERVAL_SECONDS = env.int("OTP_SEND_MIN_INTERVAL_SECONDS", default=60)
OTP_SEND_MAX_PER_HOUR = env.int("OTP_SEND_MAX_PER_HOUR", default=5)
DISTRIBUTION_PUBLIC_KEY = _secret("DISTRIBUTION_PUBLIC_KEY")
DISTRIBUTION_SEED = _secret("DISTRIBUTION_SEED")
DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE = _secret(
    "DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE"
)
CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE = _secret("CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE")
MAX_BASE_FEE = env.int("MAX_BASE_FEE", default=10_000)
# Circle (tenants of type DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT): Circle's API, the
# kind of request (TRANSFERS or PAYOUTS, as SDP), how long to wait for an
# answer, how often to poll a transfer until Circle reports it final.
CIRCLE_API_BASE_URL = env.str(
    "CIRCLE_API_BASE_URL",
    default="https://api.circle.com"
    if NETWORK_PASSPHRASE == PUBNET_PASSPHRASE
    else "https://api-sandbox.circle.com",
)
CIRCLE_API_TYPE = env.str("CIRCLE_API_TYPE", default="TRANSFERS")
if CIRCLE_API_TYPE not in ("TRANSFERS", "PAYOUTS"):
    raise ImproperlyConfigured("CIRCLE_API_TYPE must be TRANSFERS or PAYOUTS")
CIRCLE_REQUEST_TIMEOUT_SECONDS = env.float(
    "CIRCLE_REQUEST_TIMEOUT_SECONDS", default=10.0
)
CIRCLE_POLL_SECONDS = env.float("CIRCLE_POLL_SECONDS", default=5.0)
NUM_CHANNEL_ACCOUNTS = env.int("NUM_CHANNEL_ACCOUNTS", default=2)
TENANT_XLM_BOOTSTRAP_AMOUNT = Decimal(
    env.str("TENANT_XLM_BOOTSTRAP_AMOUNT", default="5")
)

# --- Tenancy, auth ---------------------------------------------------------
SINGLE_TENANT_MODE = env.bool("SINGLE_TENANT_MODE", default=False)
DISABLE_MFA = env.bool("DISABLE_MFA", default=False)
DISABLE_RECAPTCHA = env.bool("DISABLE_RECAPTCHA", default=False)
if IS_PUBNET and DISABLE_MFA and not PRODUCTION:  # production: named at the end
    raise ImproperlyConfigured("DISABLE_MFA cannot be set on pubnet")
RECAPTCHA_SITE_KEY = env.str("RECAPTCHA_SITE_KEY", default="")
RECAPTCHA_SITE_SECRET_KEY = env.str("RECAPTCHA_SITE_SECRET_KEY", default="")
CAPTCHA_TYPE = env.str("CAPTCHA_TYPE", default="GOOGLE_RECAPTCHA_V2")
RECAPTCHA_V3_MIN_SCORE = env.float("RECAPTCHA_V3_MIN_SCORE", default=0.5)
RECAPTCHA_VERIFY_URL = env.str(
    "RECAPTCHA_VERIFY_URL", default="https://www.google.com/recaptcha/api/siteverify"
)
ADMIN_ACCOUNT = _secret("ADMIN_ACCOUNT")
ADMIN_API_KEY = _secret("ADMIN_API_KEY")
JWT_LIFETIME = timedelta(minutes=15)
JWT_REFRESH_WINDOW = timedelta(minutes=3)
# The Django admin asks staff for a TOTP code (django-otp); always in production.
ADMIN_REQUIRE_OTP = PRODUCTION or env.bool("ADMIN_REQUIRE_OTP", default=False)
OTP_TOTP_ISSUER = "SDP admin"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # no operator sees another's TOTP key
# A dashboard session refreshes up to this long after its login, then ends.
SESSION_ABSOLUTE_LIFETIME = timedelta(
    hours=env.float("SESSION_ABSOLUTE_LIFETIME_HOURS", default=12)
)
MFA_CODE_LIFETIME = timedelta(minutes=5)
MFA_DEVICE_LIFETIME = timedelta(days=7)
RESET_TOKEN_LIFETIME = timedelta(minutes=20)
INVITATION_TOKEN_LIFETIME = timedelta(days=7)
# Failed logins: an account (and an IP) is locked with back-off past these counts.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("LOGIN_MAX_FAILURES_PER_ACCOUNT", default=5)
LOGIN_MAX_FAILURES_PER_IP = env.int("LOGIN_MAX_FAILURES_PER_IP", default=20)
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
RATE_LIMIT_REQUESTS = env.int("RATE_LIMIT_REQUESTS", default=40)
RATE_LIMIT_WINDOW_SECONDS = env.int("RATE_LIMIT_WINDOW_SECONDS", default=20)
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
# Proxies in front of the web process whose X-Forwarded-For entry is believed.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Messaging -------------------------------------------------------------
SMS_SENDER_TYPE = env.str("SMS_SENDER_TYPE", default="DRY_RUN")
EMAIL_SENDER_TYPE = env.str("EMAIL_SENDER_TYPE", default="DRY_RUN")
MAX_INVITATION_RESEND_ATTEMPTS = env.int("MAX_INVITATION_RESEND_ATTEMPTS", default=3)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_SERVICE_SID = env.str("TWILIO_SERVICE_SID", default="")
TWILIO_WHATSAPP_FROM_NUMBER = env.str("TWILIO_WHATSAPP_FROM_NUMBER", default="")
TWILIO_WHATSAPP_RECEIVER_INVITATION_TEMPLATE_SID = env.str(
    "TWILIO_WHATSAPP_RECEIVER_INVITATION_TEMPLATE_SID", default=""
)
TWILIO_WHATSAPP_RECEIVER_OTP_TEMPLATE_SID = env.str(
    "TWILIO_WHATSAPP_RECEIVER_OTP_TEMPLATE_SID", default=""
)
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
AWS_SNS_SENDER_ID = env.str("AWS_SNS_SENDER_ID", default="")
AWS_SES_SENDER_ID = env.str("AWS_SES_SENDER_ID", default="")
DEFAULT_FROM_EMAIL = AWS_SES_SENDER_ID or "no-reply@localhost"
# Only for local fakes in tests; empty means Twilio's own API hosts.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
# EMAIL_SENDER_TYPE=TWILIO_EMAIL: Twilio SendGrid, with SDP's variables.
TWILIO_SENDGRID_API_KEY = env.str("TWILIO_SENDGRID_API_KEY", default="")
TWILIO_SENDGRID_SENDER_ADDRESS = env.str("TWILIO_SENDGRID_SENDER_ADDRESS", default="")
# Only for local fakes in tests.
TWILIO_SENDGRID_API_URL = env.str(
    "TWILIO_SENDGRID_API_URL", default="https://api.sendgrid.com"
)
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=5)
MESSAGE_RETRY_BASE_SECONDS = env.int("MESSAGE_RETRY_BASE_SECONDS", default=30)
MESSAGE_SEND_LEASE_SECONDS = env.int("MESSAGE_SEND_LEASE_SECONDS", default=120)

# --- Uploads ---------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
CSV_MAX_BYTES = env.int("CSV_MAX_BYTES", default=5 * 1024 * 1024)
CSV_MAX_ROWS = env.int("CSV_MAX_ROWS", default=10_000)

# --- Django ----------------------------------------------------------------
INSTALLED_APPS = [
    # runserver that answers "Connection: close" (before staticfiles' runserver)
    "sdp.devserver",
    # The admin with the operators' site: lockout and TOTP (auth_org.admin_site).
    "auth_org.admin_apps.OperatorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "corsheaders",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular_sidecar",
    # ours, bottom layer first
    "core",
    "webhooks",
    "messaging",
    "tss",
    "circle",
    "auth_org",
    "receivers",
    "disbursements",
    "reports",
    "localnet",
    "sdp",
]

MIDDLEWARE = [
    "core.middleware.RequestMetricsMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.RateLimitMiddleware",
    "core.middleware.RequestIDMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "core.middleware.NulCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "auth_org.tenancy.TenantMiddleware",
    "sdp.csrf.TenantCsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if PRODUCTION:
    # gunicorn serves the admin's static files (collected into STATIC_ROOT by the
    # image build); in development runserver does.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

ROOT_URLCONF = "sdp.urls"
WSGI_APPLICATION = "sdp.wsgi.application"
AUTH_USER_MODEL = "auth_org.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
elif PRODUCTION:
    DATABASES = {"default": {"NAME": ""}}  # refused at the end of this module
else:
    # Where the embedded PostgreSQL listens. Importing the settings starts no
    # server: manage.py, the tests and `make worker`/`make beat` start it
    # (sdp.devservices.ensure_started).
    DATABASES = {"default": devservices.postgres_database_settings()}
# A test's Celery worker is pointed at the test database by name.
if env.str("DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("DATABASE_NAME")
# runserver (make demo, make run) serves each connection in a new thread, and
# each thread would keep its own persistent connection open after it ends
# ("too many clients" after an afternoon): there, close after each request.
_RUNSERVER = sys.argv[1:2] == ["runserver"]
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "DB_CONN_MAX_AGE", default=0 if _RUNSERVER else 600
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's backend, checking only connections idle for over a second (see there).
DATABASES["default"]["ENGINE"] = "core.postgres"
# Prepared statements only where the code asks for them (the dashboard reads of
# core.sqljson): Django's own cursors bind on the client and never prepare.
# Switch off behind a pooler that cannot keep them (PgBouncer < 1.21 in
# transaction mode).
if env.bool("DB_PREPARED_STATEMENTS", default=True):
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["prepare_threshold"] = 2**31 - 1
    # They all read by keys: one generic plan from the first execution, instead
    # of PostgreSQL's five custom plans per new connection before it settles.
    _db_options["options"] = (
        _db_options.get("options", "") + " -c plan_cache_mode=force_generic_plan"
    ).strip()

REDIS_URL = env.str("REDIS_URL", default="") or (
    "redis://unset" if PRODUCTION else devservices.embedded_redis_url()
)

CACHES = {
    "default": {
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="sdp"),
    }
}

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATORS}.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
    {"NAME": "auth_org.passwords.CharacterClassValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages of the recipients' registration pages (SDP's five). The dashboard
# API and the admin stay in LANGUAGE_CODE: no LocaleMiddleware; the pages pick
# their language themselves (receivers.views).
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("ru", "Русский"),
    ("uk", "Українська"),
    ("ht", "Kreyòl ayisyen"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date and number formats for a language Django has none for (Haitian Creole).
FORMAT_MODULE_PATH = ["sdp.formats"]
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# The registration pages answer a failed CSRF check in the reader's language.
CSRF_FAILURE_VIEW = "receivers.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=[SDP_UI_BASE_URL.rstrip("/")]
)

# --- Behind a TLS-terminating proxy; production's transport security ---------
# The proxy's X-Forwarded-Proto is believed only when the operator says the
# proxy sets it (and strips a client's own): otherwise any client could claim
# https. With it, request.is_secure() is true behind the proxy, so same-origin
# form posts pass the CSRF check and links are built with https.
TRUST_X_FORWARDED_PROTO = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def _origins(*urls: str) -> list[str]:
    """scheme://host[:port] of each URL, and the same for its sub-domains (tenants
    are reached at <tenant>.<host>)."""
    origins = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
            if not parts.hostname.replace(".", "").isdigit():
                origins.append(f"{parts.scheme}://*.{parts.netloc}")
    return list(dict.fromkeys(origins))


# Form posts (the admin, the registration pages) from these origins pass the CSRF
# check; a tenant's own base_url / sdp_ui_base_url is added per request
# (sdp.csrf.TenantCsrfViewMiddleware).
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=_origins(BASE_URL, SDP_UI_BASE_URL)
)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
# Redirect plain http to https only where the scheme can be seen: behind a proxy
# that is when its header is trusted (else every request would look like http
# and redirect forever). /health and /metrics answer probes over plain http.
SECURE_SSL_REDIRECT = env.bool(
    "SECURE_SSL_REDIRECT", default=PRODUCTION and TRUST_X_FORWARDED_PROTO
)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0
)
# Tenants are sub-domains of BASE_URL's host: they are covered too.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION
)
# Preloading is a decision about the domain (browsers' lists), not this server's:
# off unless the operator opts in; `check --deploy` is told so below.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "sdp-tenant-name",
    "device-id",
    "idempotency-key",
]
CORS_EXPOSE_HEADERS = ["Content-Disposition"]
# SEP-1/10/24 answer any origin themselves (Access-Control-Allow-Origin: *,
# preflight included), as the SEPs require: django-cors-headers leaves them be.
CORS_URLS_REGEX = r"^(?!/(sep10|sep24)(/|$)).*$"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "core.apidoc.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "auth_org.authentication.JWTAuthentication",
        "auth_org.authentication.APIKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["auth_org.permissions.HasRole"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
        "core.api.AnyJSONParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.JSONNegotiation",
    "DEFAULT_PAGINATION_CLASS": "core.api.PageNumberPagination",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}
# Routes answer with and without a trailing slash, never by redirect.
APPEND_SLASH = False
SPECTACULAR_SETTINGS = {
    "TITLE": "Stellar Disbursement Platform API",
    "VERSION": VERSION,
    "PREPROCESSING_HOOKS": ["sdp.openapi.normalize_route_paths"],
    # Request bodies as their own components (uploads as binary, not as URLs).
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page (/openapi) loads Swagger UI from our own static files, so it
    # works offline and behind a strict proxy (no CDN).
    # One name per set of statuses (the models' choices, the inputs' subsets).
    "ENUM_NAME_OVERRIDES": {
        "DisbursementStatus": "disbursements.models.Disbursement.Status",
        "PaymentStatus": "disbursements.models.Payment.Status",
        "PaymentType": "disbursements.models.Payment.Type",
        "ReceiverWalletStatus": "receivers.models.ReceiverWallet.Status",
        "VerificationField": "receivers.models.VerificationField",
        "TenantStatus": "auth_org.models.Organization.Status",
        "DisbursementStatusMove": ["STARTED", "PAUSED"],
        "PaymentCancel": ["CANCELED"],
        "ReceiverWalletUnregister": ["READY"],
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No call to swagger.io's online validator either.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- Celery ----------------------------------------------------------------
# kombu names a unix-socket Redis "redis+socket://", redis-py "unix://".
CELERY_BROKER_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tss.tasks.*": {"queue": "tss"},
    "circle.tasks.*": {"queue": "tss"},
    "messaging.tasks.*": {"queue": "messages"},
    "webhooks.tasks.*": {"queue": "webhooks"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queue names get a prefix so several checkouts can share one Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": env.str("CELERY_KEY_PREFIX", default="")
}
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["cancel-expired-ready-payments"] = {"task": "disbursements.tasks.cancel_expired_ready_payments_task", "schedule": 300}  # noqa: E501  # fmt: skip
CELERY_BEAT_SCHEDULE["complete-finished-disbursements"] = {
    "task": "disbursements.tasks.complete_finished_disbursements_task",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["circle-sweep"] = {"task": "circle.tasks.sweep", "schedule": 30.0}
# The reconciliation of yesterday's payments, every tenant (reports).
CELERY_BEAT_SCHEDULE["reports-reconcile-yesterday"] = {
    "task": "reports.tasks.reconcile_yesterday_task",
    "schedule": crontab(hour=1, minute=15),
}
CELERY_BEAT_SCHEDULE["watch-failed-destinations"] = {"task": "disbursements.tasks.watch_failed_destinations_task", "schedule": env.float("SDP_WATCH_FAILED_SECONDS", default=60.0)}  # noqa: E501  # fmt: skip
CELERY_BEAT_SCHEDULE["hand-off-cooled-payments"] = {"task": "disbursements.tasks.hand_off_cooled_payments_task", "schedule": 60.0}  # noqa: E501  # fmt: skip
CELERY_BEAT_SCHEDULE["sample-operations"] = {
    "task": "sdp.tasks.sample_operations_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["compact-payment-tallies"] = {
    "task": "disbursements.tasks.compact_payment_tallies_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["messaging-sweep-pending"] = {
    "task": "messaging.tasks.sweep_pending_messages_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["webhooks-sweep-due"] = {
    "task": "webhooks.tasks.sweep_due_deliveries_task",
    "schedule": 10.0,
}
CELERY_BEAT_SCHEDULE["receivers-resend-invitations"] = {
    "task": "receivers.tasks.resend_receiver_invitations_task",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["receivers-delete-expired-sep-nonces"] = {
    "task": "receivers.tasks.delete_expired_sep_nonces_task",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["receivers-delete-stale-stranger-codes"] = {
    "task": "receivers.tasks.delete_stale_stranger_codes_task",
    "schedule": 3600.0,
}

# --- Webhooks (docs/webhooks.md) ------------------------------------------
# An answer must come within this many seconds to count as delivered.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Retries: exponential back-off from the base, capped, with jitter, for the window.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=5.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0)
WEBHOOK_RETRY_WINDOW_SECONDS = env.float(
    "WEBHOOK_RETRY_WINDOW_SECONDS", default=3 * 24 * 3600.0
)
# A worker's claim on a batch; a killed worker's deliveries are sent again after it.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
# After a secret roll the old secret keeps signing for this long.
WEBHOOK_SECRET_ROLL_OVERLAP_SECONDS = 24 * 3600

# --- Logging ---------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "with_request_id": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s] "
            "%(message)s"
        },
        "json": {"()": "core.logfilters.JSONFormatter"},
        "compact": {
            "format": "%(asctime)s %(name)s: %(message)s",
            "datefmt": "%H:%M:%S",
        },
    },
    "filters": {
        "redact": {"()": "core.logfilters.RedactingFilter"},
        "request_id": {"()": "auth_org.logfilters.RequestIDFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # JSON lines by default; LOG_FORMAT=plain for reading on a terminal.
            "formatter": {"plain": "with_request_id", "compact": "compact"}.get(
                LOG_FORMAT, "json"
            ),
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
if LOG_FORMAT == "compact":
    # A terminal to watch (make demo): what the platform does, one short line
    # each (the demo prints invitations and payments itself); Celery's per-task
    # and connection chatter, and the messages' delivery details, left out.
    LOGGING["loggers"] = {
        name: {"level": "WARNING"}
        for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat",
                     "celery.worker.consumer", "celery.apps", "kombu",
                     "messaging.senders", "messaging.services")
    }  # fmt: skip
    CELERY_WORKER_LOG_FORMAT = "%(asctime)s %(name)s: %(message)s"
    CELERY_WORKER_TASK_LOG_FORMAT = "%(asctime)s %(task_name)s: %(message)s"

AUTHENTICATION_BACKENDS = ["auth_org.backends.OperatorBackend"]
# Emails are unique per organization; OperatorBackend handles that (auth.W004).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for HSTS preloading: an opt-in for the domain's owner.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# security.W003 looks for Django's CSRF middleware by name; ours is that class,
# adding the tenant's own origins (sdp.csrf; tests/deploy check it is installed).
SILENCED_SYSTEM_CHECKS.append("security.W003")

# --- TSS -------------------------------------------------------------------
TSS_LEASE_LEDGERS = env.int("TSS_LEASE_LEDGERS", default=10)
TSS_BATCH_SIZE = env.int("TSS_BATCH_SIZE", default=500)
# Payments of one tenant and asset put in one transaction (1: batching off).
TSS_MAX_PAYMENTS_PER_TX = env.int("TSS_MAX_PAYMENTS_PER_TX", default=100)
CELERY_BEAT_SCHEDULE["tss-sweeper"] = {"task": "tss.tasks.sweep", "schedule": 5.0}
CELERY_BEAT_SCHEDULE["tss-stale-leases"] = {
    "task": "tss.tasks.reconcile_leases",
    "schedule": 30.0,
}

# --- Ports, readiness, access log, crash tracker (docs/ports.md) -----------
# The public port serves the dashboard API, SEP and registration; /metrics and
# /health/ready are on METRICS_PORT, the tenant admin API (/admin-api) and the
# Django admin on ADMIN_PORT: separate gunicorn listeners (gunicorn.conf.py),
# told apart by the port of the socket that accepted the request
# (sdp.ports.PortRoutingMiddleware). SINGLE_PORT serves everything on every
# port (runserver, the demo, tests); production splits by default.
METRICS_PORT = env.int("METRICS_PORT", default=8002)
ADMIN_PORT = env.int("ADMIN_PORT", default=8003)
SINGLE_PORT = env.bool("SINGLE_PORT", default=not PRODUCTION)
# The Django admin on the public port (always on ADMIN_PORT).
ADMIN_UI_ENABLED = env.bool("ADMIN_UI_ENABLED", default=not PRODUCTION)
MIDDLEWARE[:0] = [
    "sdp.ports.PortRoutingMiddleware",
    "sdp.accesslog.AccessLogMiddleware",
]
# One access line a request (sdp.accesslog); Django's per-request warnings
# ("Not Found: ...") and runserver's lines would repeat it: errors only.
LOGGING.setdefault("loggers", {}).update(
    {"django.request": {"level": "ERROR"}, "django.server": {"level": "ERROR"}}
)
# WeasyPrint logs each step of every PDF at INFO (reports).
LOGGING["loggers"]["weasyprint"] = {"level": "WARNING"}
# The worker and beat log through LOGGING too (JSON, redacted): Celery's own
# root logger printed task failures with the contacts in their messages.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /health/ready fails while a payment or message has waited PENDING this long.
READINESS_MAX_PENDING_SECONDS = env.int("READINESS_MAX_PENDING_SECONDS", default=300)
# Crash reports (sdp.crashtracker): SENTRY sends errors of the web process,
# worker and beat to SENTRY_DSN with personal data scrubbed; DRY_RUN (the
# default) only logs them, as SDP.
CRASH_TRACKER_TYPE = env.str("CRASH_TRACKER_TYPE", default="DRY_RUN").upper()
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if CRASH_TRACKER_TYPE == "SENTRY":
    if not SENTRY_DSN:
        raise ImproperlyConfigured("CRASH_TRACKER_TYPE=SENTRY needs SENTRY_DSN")
    from sdp import crashtracker

    crashtracker.init(SENTRY_DSN, environment=ENVIRONMENT, release=VERSION)
elif CRASH_TRACKER_TYPE != "DRY_RUN":
    raise ImproperlyConfigured("CRASH_TRACKER_TYPE must be SENTRY or DRY_RUN")

# --- Production refuses to start on a development shape -------------------------
# Each problem is one line on stderr, then the process exits (no traceback):
# web, worker, beat and manage.py alike, before anything is served or sent.


def _production_problems() -> list[str]:
    problems = [
        f"{name} is not set"
        for name in (*REQUIRED_SECRETS, "DATABASE_URL", "REDIS_URL")
        if not env.str(name, default="")
    ]
    if NETWORK_PASSPHRASE == LOCALNET_PASSPHRASE:
        problems.append(
            f"NETWORK_PASSPHRASE is the localnet's ({LOCALNET_PASSPHRASE!r}): "
            "use testnet's or pubnet's"
        )
    horizon = urlsplit(HORIZON_URL)
    if horizon.scheme != "https" or horizon.port == 8001:
        problems.append(
            f"HORIZON_URL {HORIZON_URL} looks like the localnet (plain http or "
            "port 8001): use your network's Horizon over https"
        )
    base = urlsplit(BASE_URL)
    if base.scheme != "https":
        problems.append(f"BASE_URL {BASE_URL} is not https")
    if (base.hostname or "") in ("localhost", "") or _is_loopback(base.hostname):
        problems.append(f"BASE_URL {BASE_URL} names this machine, not a public host")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty: list the public host names")
    if DEBUG:
        problems.append("DEBUG is on: set DEBUG=false")
    if IS_PUBNET and DISABLE_MFA:
        problems.append("DISABLE_MFA is set on pubnet: MFA cannot be off there")
    if SINGLE_PORT:
        problems.append(
            "SINGLE_PORT is on: it serves /metrics and the admin API on the public "
            "port; leave it off and expose only PORT (docs/ports.md)"
        )
    return problems


def _is_loopback(host: str | None) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return (host or "").endswith(".localhost")


if PRODUCTION and (_problems := _production_problems()):
    sys.stderr.write(
        "".join(f"ENVIRONMENT=production refused: {line}\n" for line in _problems)
    )
    sys.stderr.flush()
    raise SystemExit(2)
