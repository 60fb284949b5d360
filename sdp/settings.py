"""Settings: one module, everything from the environment (django-environ).

Names follow SDP's where the concept is the same. Outside production, a missing
DATABASE_URL or REDIS_URL starts the embedded PostgreSQL or Redis, and missing
secrets are generated once per checkout (sdp/devservices.py). In production a
missing required secret stops the start with a message naming it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
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
    _missing = [
        name
        for name in (*REQUIRED_SECRETS, "DATABASE_URL", "REDIS_URL")
        if not env.str(name, default="")
    ]
    if _missing:
        raise ImproperlyConfigured(
            "ENVIRONMENT=production needs these environment variables: "
            + ", ".join(_missing)
        )
    _dev_secrets: dict[str, str] = {}
else:
    from sdp import devservices

    _dev_secrets = devservices.dev_secrets()


def _secret(name: str) -> str:
    return env.str(name, default="") or _dev_secrets[name]


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
IS_PUBNET = NETWORK_PASSPHRASE == PUBNET_PASSPHRASE

EC256_PRIVATE_KEY = _secret("EC256_PRIVATE_KEY")
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
NUM_CHANNEL_ACCOUNTS = env.int("NUM_CHANNEL_ACCOUNTS", default=2)
TENANT_XLM_BOOTSTRAP_AMOUNT = Decimal(
    env.str("TENANT_XLM_BOOTSTRAP_AMOUNT", default="5")
)

# --- Tenancy, auth ---------------------------------------------------------
SINGLE_TENANT_MODE = env.bool("SINGLE_TENANT_MODE", default=False)
DISABLE_MFA = env.bool("DISABLE_MFA", default=False)
DISABLE_RECAPTCHA = env.bool("DISABLE_RECAPTCHA", default=False)
if IS_PUBNET and DISABLE_MFA:
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
    # ours, bottom layer first
    "messaging",
    "tss",
    "auth_org",
    "receivers",
    "disbursements",
    "localnet",
    "sdp",
]

MIDDLEWARE = [
    "sdp.middleware.RequestMetricsMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "sdp.middleware.RateLimitMiddleware",
    "sdp.middleware.RequestIDMiddleware",
    "sdp.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "sdp.tenancy.TenantMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "sdp.middleware.LazyMessageMiddleware",
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
else:
    DATABASES = {"default": devservices.postgres_database()}
# A test's Celery worker is pointed at the test database by name.
if env.str("DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("DATABASE_NAME")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's backend, checking only connections idle for over a second (see there).
DATABASES["default"]["ENGINE"] = "sdp.postgres"
# Prepared statements only where the code asks for them (the dashboard reads of
# sdp.sqljson): Django's own cursors bind on the client and never prepare.
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

REDIS_URL = env.str("REDIS_URL", default="") or devservices.redis_url()

CACHES = {
    "default": {
        "BACKEND": "sdp.cache.RedisCache",
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

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
# The registration pages answer a failed CSRF check in the reader's language.
CSRF_FAILURE_VIEW = "receivers.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[SDP_UI_BASE_URL])
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
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "auth_org.authentication.JWTAuthentication",
        "auth_org.authentication.APIKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["auth_org.permissions.HasRole"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
        "sdp.api.AnyJSONParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "sdp.api.JSONNegotiation",
    "DEFAULT_PAGINATION_CLASS": "sdp.api.PageNumberPagination",
    "EXCEPTION_HANDLER": "sdp.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}
# Routes answer with and without a trailing slash, never by redirect.
APPEND_SLASH = False
SPECTACULAR_SETTINGS = {
    "TITLE": "Stellar Disbursement Platform API",
    "VERSION": VERSION,
    "PREPROCESSING_HOOKS": ["sdp.openapi.normalize_route_paths"],
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
    "messaging.tasks.*": {"queue": "messages"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queue names get a prefix so several checkouts can share one Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": env.str("CELERY_KEY_PREFIX", default="")
}
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["cancel-expired-ready-payments"] = {"task": "disbursements.tasks.cancel_expired_ready_payments_task", "schedule": 300}  # noqa: E501  # fmt: skip
CELERY_BEAT_SCHEDULE["compact-payment-tallies"] = {
    "task": "disbursements.tasks.compact_payment_tallies_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["messaging-sweep-pending"] = {
    "task": "messaging.tasks.sweep_pending_messages_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["receivers-resend-invitations"] = {
    "task": "receivers.tasks.resend_receiver_invitations_task",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["receivers-delete-expired-sep-nonces"] = {
    "task": "receivers.tasks.delete_expired_sep_nonces_task",
    "schedule": 600.0,
}

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
        "json": {"()": "sdp.logfilters.JSONFormatter"},
    },
    "filters": {
        "redact": {"()": "sdp.logfilters.RedactingFilter"},
        "request_id": {"()": "sdp.logfilters.RequestIDFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # JSON lines by default; LOG_FORMAT=plain for reading on a terminal.
            "formatter": "with_request_id" if LOG_FORMAT == "plain" else "json",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

AUTHENTICATION_BACKENDS = ["auth_org.backends.OperatorBackend"]
# Emails are unique per organization; OperatorBackend handles that (auth.W004).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- TSS -------------------------------------------------------------------
TSS_LEASE_LEDGERS = env.int("TSS_LEASE_LEDGERS", default=10)
TSS_BATCH_SIZE = env.int("TSS_BATCH_SIZE", default=500)
CELERY_BEAT_SCHEDULE["tss-sweeper"] = {"task": "tss.tasks.sweep", "schedule": 5.0}
CELERY_BEAT_SCHEDULE["tss-stale-leases"] = {
    "task": "tss.tasks.reconcile_leases",
    "schedule": 30.0,
}
