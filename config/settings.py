"""Django settings, read from the environment (see .env.example for every variable).

Parsing is strict: a malformed value fails at start-up rather than at first use.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-secret-key" if DEBUG else environ.Env.NOTSET)
if not DEBUG and SECRET_KEY.startswith("dev-only"):
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a real secret when DJANGO_DEBUG is off")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# HTTPS (production sets these; `manage.py check --deploy` then passes with no warning, see .env.example).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes from inside the network speak plain HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "distribution",
    "merchants",
    "catalog",
    "distributors",
    "ledger",
    "orders",
    "commissions",
    "settlements",
    "tiers",
    "analytics",
    "risk",
    "exports",
    "demo",
]

MIDDLEWARE = [
    "distribution.middleware.RequestIdMiddleware",
    "distribution.middleware.RequestGuardMiddleware",
    "distribution.middleware.ApiResponseHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "distribution.middleware.TrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # the request's row-level-security scope (its authentication names the merchant)
    "distribution.middleware.TenantContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a login lock-out (recorded during authentication) into its 429 answer
    "axes.middleware.AxesMiddleware",
]

# Pages (the admin, the API docs) load only what this server serves: no CDN, no inline script. Inline
# styles are allowed (Swagger UI and ReDoc set them); images and fonts may be data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": env.db_url("DATABASE_URL")}
# PostgreSQL with row-level security: the backend sends each request's and task's merchant to the session
# (distribution/rls.py). DATABASE_URL is the application's role, which owns no table and cannot bypass the
# policies; migrations run as the owner (make run, make test and the compose `migrate` service do that).
DATABASES["default"]["ENGINE"] = "distribution.dbbackend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
# A statement that runs away must not hold locks forever; long jobs raise it for their own session.
DATABASES["default"]["OPTIONS"].setdefault(
    "options", f"-c statement_timeout={env.int('DATABASE_STATEMENT_TIMEOUT_MS', default=30000)}"
)
# An optional read replica for the analytics reads (analytics/db.py routes them to ANALYTICS_DATABASE). Its
# session gets the same tenant context as the primary's; in tests it mirrors the default database.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db_url("DATABASE_REPLICA_URL"),
        "ENGINE": "distribution.dbbackend",
        "TEST": {"MIRROR": "default"},
    }
ANALYTICS_DATABASE = "replica" if "replica" in DATABASES else "default"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The composition root wires the kernel (distribution/) to the apps above it, so that it imports none of them.
TENANT_MODEL = "merchants.Merchant"
MERCHANT_AUTHENTICATORS = "merchants.authentication.merchant_authenticators"
DISTRIBUTOR_AUTHENTICATORS = "distributors.authentication.distributor_authenticators"
# The application's database role, made and granted by `manage.py setup_database_roles` (run as the owner);
# migrations grant it every new table.
DATABASE_APP_USER = env.str("DATABASE_APP_USER", default="distribution_app")
DATABASE_APP_PASSWORD = env.str("DATABASE_APP_PASSWORD", default="")

# Analytics (analytics/refresh.py): how often the refresh pass runs, and how many recent days the nightly
# re-check rebuilds whatever the watermarks said.
ANALYTICS_REFRESH_SECONDS = env.int("ANALYTICS_REFRESH_SECONDS", default=30)
ANALYTICS_RECHECK_DAYS = env.int("ANALYTICS_RECHECK_DAYS", default=35)

REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="dist"),
        "TIMEOUT": 300,
    }
}

# django-axes first: it refuses a locked-out username or address before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

# --- Brute force and client addresses ------------------------------------------------------------------
# How many reverse proxies of ours stand in front of the app. 0 (default): X-Forwarded-For is ignored and
# the client is the connection's address; N: the client is the address the outermost proxy saw (the N-th
# from the right of X-Forwarded-For). Every rate limit and lock-out uses it (distribution.security).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Failed logins (the token endpoint, the browser and admin logins) are counted per username and per client
# address; at LOGIN_FAILURE_LIMIT either is locked for LOGIN_LOCKOUT_MINUTES (429 login_locked).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "distribution.security.client_ip"
AXES_USERNAME_CALLABLE = "distribution.security.login_username"
AXES_LOCKOUT_CALLABLE = "distribution.security.login_lockout_response"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Set by deployments that run collectstatic (the Dockerfile); otherwise static files come from the apps.
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
# Export files (exports/): a directory by default; a deployment with several web and worker hosts names a
# shared backend instead (EXPORTS_STORAGE, e.g. "storages.backends.s3.S3Storage", with its OPTIONS from its
# own settings), since the worker writes a file that the web process serves.
EXPORTS_DIR = env.str("EXPORTS_DIR", default=str(BASE_DIR / ".data" / "exports"))
EXPORTS_STORAGE = env.str("EXPORTS_STORAGE", default="django.core.files.storage.FileSystemStorage")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {
        "BACKEND": EXPORTS_STORAGE,
        "OPTIONS": {"location": EXPORTS_DIR} if EXPORTS_STORAGE.endswith("FileSystemStorage") else {},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = STATIC_ROOT is None

# --- REST framework ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["distribution.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["distribution.api.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "distribution.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "distribution.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "distribution.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["distribution.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "merchant": env.str("THROTTLE_RATE_MERCHANT", default="6000/min"),
        "distributor": env.str("THROTTLE_RATE_DISTRIBUTOR", default="600/min"),
        "anon": env.str("THROTTLE_RATE_ANON", default="120/min"),
        "login": env.str("THROTTLE_RATE_LOGIN", default="20/min"),
        "webhook": env.str("THROTTLE_RATE_WEBHOOK", default="6000/min"),
    },
    "PAGE_SIZE": 50,
    # JSON is the API's only format; `format` is an ordinary query parameter (statements take format=csv).
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Distribution backend API",
    "DESCRIPTION": (
        "Multi-tenant online distribution (在线分销): distributors, customer binding, attribution, "
        "multi-level commission, settlement and withdrawals. Money is a decimal string in the merchant's "
        'currency; errors are `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StaffRoleEnum": "merchants.roles.Role",
        "ApiKeyRoleEnum": "merchants.roles.API_KEY_ROLE_CHOICES",
        "DistributorStatusEnum": "distributors.models.Distributor.Status",
        "ApplicationStatusEnum": "distributors.models.Application.Status",
        "ChannelEnum": "distributors.models.Application.Channel",
        "BindingStatusEnum": "distributors.models.CustomerBinding.Status",
        "MerchantStatusEnum": "merchants.models.Merchant.Status",
        "InvitationStatusEnum": "merchants.models.Invitation.Status",
        "ProductKindEnum": "catalog.models.Product.Kind",
        "RecruitmentEntryKindEnum": "distributors.models.RecruitmentEntry.Kind",
        "BlacklistKindEnum": "distributors.models.BlacklistEntry.Kind",
        "RateModeEnum": "distribution.rates.MODE_CHOICES",
        "OrderStatusEnum": "orders.models.Order.Status",
        "OrderKindEnum": "orders.models.Order.Kind",
        "OrderChannelEnum": "orders.models.Order.Channel",
        "CommissionStatusEnum": "commissions.models.CommissionLine.Status",
        "CommissionKindEnum": "commissions.models.CommissionLine.Kind",
        "TierRunStatusEnum": "tiers.models.TierRun.Status",
        "SettlementRunStatusEnum": "settlements.models.SettlementRun.Status",
        "WithdrawalStatusEnum": "settlements.models.Withdrawal.Status",
        "RiskFlagStatusEnum": "risk.models.RiskFlag.Status",
        "MetricUnitEnum": "analytics.metrics.UNITS",
    },
    "SCHEMA_PATH_PREFIX": r"/api/(v1|platform/v1)",
    "TAGS": [
        {"name": "identity", "description": "Staff logins and tokens, invitations, roles, API keys."},
        {"name": "program", "description": "The merchant and its distribution program's settings, with their history."},
        {"name": "distributors", "description": "Distributors, their status, identity and team; distributor tokens."},
        {"name": "recruitment", "description": "Applications, agreements and recruitment entries (posters, links)."},
        {"name": "customers", "description": "Share-link visits and the customer bindings they make."},
        {"name": "products", "description": "The catalogue, synced from the shop, with commission overrides."},
        {"name": "orders", "description": "Paid orders and their events; attribution and commission lines made."},
        {"name": "commissions", "description": "Commission lines and totals, with their explanation."},
        {"name": "settlement", "description": "Settlement runs, balances, statements and the ledger."},
        {"name": "withdrawals", "description": "Withdrawals, their approval and payout; payout batches for the bank."},
        {"name": "tiers and risk", "description": "Levels and their recalculation; the blacklist and risk flags."},
        {"name": "webhooks", "description": "Signed order events from the shop's server."},
        {
            "name": "analytics",
            "description": "Figures over a date range: KPIs, series, leaderboards (docs/analytics.md).",
        },
        {"name": "exports", "description": "The lists and daily figures as CSV or XLSX files; export jobs."},
        {"name": "distributor API", "description": "For the merchant's app, with a distributor token."},
        {"name": "platform", "description": "For platform operators, with a platform key: merchants."},
    ],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            "StaffToken": {"type": "http", "scheme": "bearer"},
            "DistributorToken": {"type": "http", "scheme": "bearer"},
        }
    },
}

# The largest request body accepted (bytes); a larger one is a 413 before any view reads it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=2_621_440)

# --- Product settings ------------------------------------------------------------------------------
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
STAFF_TOKEN_TTL_HOURS = env.int("STAFF_TOKEN_TTL_HOURS", default=24 * 30)
STAFF_INVITATION_TTL_HOURS = env.int("STAFF_INVITATION_TTL_HOURS", default=72)
DISTRIBUTOR_TOKEN_TTL_SECONDS = env.int("DISTRIBUTOR_TOKEN_TTL_SECONDS", default=7 * 24 * 3600)
DISTRIBUTOR_TOKEN_MAX_TTL_SECONDS = env.int("DISTRIBUTOR_TOKEN_MAX_TTL_SECONDS", default=30 * 24 * 3600)

# Personal data: Fernet keys (comma-separated, the first encrypts) and the HMAC key for matching.
# Development derives both from the secret key; production must set them (and keep them).
if DEBUG:
    from distribution.crypto import derive_key

    PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[derive_key(SECRET_KEY, "encryption")])
    PII_HASH_KEY = env.str("PII_HASH_KEY", default=derive_key(SECRET_KEY, "hash"))
else:
    PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS")
    PII_HASH_KEY = env.str("PII_HASH_KEY")

# Settlement and tier runs: rows per committed chunk, how long a silent worker keeps a run's lease, and
# a pause between chunks.
# The public HTTPS origin WeChat Pay posts transfer notifications to (notify_url); empty: none are asked
# for, and the reconciler's queries find every outcome.
WECHATPAY_NOTIFY_BASE_URL = env.str("WECHATPAY_NOTIFY_BASE_URL", default="")
SETTLEMENT_CHUNK_SIZE = env.int("SETTLEMENT_CHUNK_SIZE", default=1000)
RUN_LEASE_SECONDS = env.int("RUN_LEASE_SECONDS", default=120)
TIER_CHUNK_SIZE = env.int("TIER_CHUNK_SIZE", default=20000)  # distributors per tier-recalculation chunk
RUN_CHUNK_PAUSE_MS = env.int("RUN_CHUNK_PAUSE_MS", default=0)  # breathing room for the database
# Exports: up to this many rows the file is answered at once, above it a worker writes it (an export job) in
# chunks of EXPORT_CHUNK_SIZE rows; a job's file is kept this long.
EXPORT_STREAM_MAX_ROWS = env.int("EXPORT_STREAM_MAX_ROWS", default=5000)
EXPORT_CHUNK_SIZE = env.int("EXPORT_CHUNK_SIZE", default=2000)
EXPORT_FILE_TTL_SECONDS = env.int("EXPORT_FILE_TTL_SECONDS", default=7 * 24 * 3600)

# --- Celery ----------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery's Django fixup closes every database connection around every task unless this is set, so each task
# would pay a new PostgreSQL connection; workers keep theirs and recycle them by CONN_MAX_AGE and health
# checks instead (config/celery.py).
CELERY_DB_REUSE_MAX = 1_000_000
# Above the longest task: an unacknowledged task is redelivered only after this many seconds.
# Queue names on the broker get this prefix (environments or test runs sharing one Redis); workers
# consume the prefixed names (-Q).
TASK_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = TASK_QUEUE_PREFIX + "default"
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}

# --- Logging ---------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise environ.ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "distribution.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "distribution.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}
