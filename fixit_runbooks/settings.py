"""Settings for FixIt Runbooks. Every deployment knob is an environment variable."""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import check_secret_key, env_bool, env_float, env_int, env_list, env_map, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FIXIT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105
elif not DEBUG:
    check_secret_key(SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Links in emails: the address people reach the site at; by default the port it listens on.
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "fixit_runbooks.admin_site.RunbooksAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",
    "django_htmx",
    "template_partials",
    "runbooks",
    "search",
    "incidents",
    "reviews",
    "fixit_runbooks.apps.FixitRunbooksConfig",
    "alerting",
    "notifications",
    "contacts",
    "changes",
    "ninja",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "fixit_runbooks.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fixit_runbooks.middleware.LoginRequiredMiddleware",
    "fixit_runbooks.middleware.IdleSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lock-out into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fixit_runbooks.urls"
WSGI_APPLICATION = "fixit_runbooks.wsgi.application"

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
                "runbooks.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'fixit.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        # A persistent connection is checked before reuse, so a database restart costs no 500.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A down or unreachable server is an error in seconds, not a request hanging on connect.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DATABASE_CONNECT_TIMEOUT", 3, minimum=1
    )
    # Prepared statements for the few hot queries that ask for one (the runbook
    # page's row, through a server-binding cursor; Django's own cursors bind on
    # the client and never prepare). Off by default: a pooler in transaction mode
    # (PgBouncer before 1.21, or without max_prepared_statements) hands a
    # statement prepared on one server connection to another.
    if env_bool("DATABASE_PREPARED_STATEMENTS", False):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; a busy timeout
    # waits for the writer instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "fixit_runbooks.auth_backends.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runbooks:index"
LOGOUT_REDIRECT_URL = "login"

# Sessions: a browser that sits idle this long is logged out; the cookie never outlives SESSION_MAX_AGE.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 8 * 60 * 60, minimum=60)
SESSION_COOKIE_AGE = env_int("SESSION_MAX_AGE", 7 * 24 * 60 * 60, minimum=60)

# Cache: Redis when REDIS_URL (or CACHE_URL) is set, so every web node shares
# the page fragments, rate limits and login lock-outs; local memory is only
# the embedded single-node default.
CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL must be a redis:// address, not {CACHE_URL!r}")
    CACHES = {
        "default": {
            "BACKEND": "fixit_runbooks.redis_cache.SharedClientRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "fixit"),
            "TIMEOUT": 3600,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 5000, minimum=100)},
        }
    }
SHARED_CACHE = bool(CACHE_URL)
# With a shared cache, a page view reads its session from Redis, not the database
# (written through to the database, so a cache flush logs nobody out).
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if SHARED_CACHE
    else "django.contrib.sessions.backends.db"
)

# Reverse proxy: how many proxies in front of the app append to X-Forwarded-For.
# 0 (the default) trusts no header and uses the connecting address, which is
# right when clients connect directly; behind one nginx or load balancer set 1.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failures an account,
# and separately an address, is locked for LOGIN_LOCKOUT_MINUTES.
AXES_ENABLED = env_bool("LOGIN_THROTTLING", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "fixit_runbooks.ratelimit.client_ip"
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUSTED_PROXY_COUNT else ["REMOTE_ADDR"]
)
# Shared cache: attempts live in Redis like the rate limits; otherwise in the
# database, which every web worker process shares.
AXES_HANDLER = (
    "axes.handlers.cache.AxesCacheHandler"
    if SHARED_CACHE
    else "axes.handlers.database.AxesDatabaseHandler"
)
AXES_VERBOSE = False

# Editor: previews and saves per user per minute (each renders markdown).
PREVIEWS_PER_MINUTE = env_int("PREVIEWS_PER_MINUTE", 120, minimum=1)
SAVES_PER_MINUTE = env_int("SAVES_PER_MINUTE", 20, minimum=1)
# API tokens: wrong tokens per address per 15 minutes before the address is refused.
API_TOKEN_FAILURES_ALLOWED = env_int("API_TOKEN_FAILURES_ALLOWED", 20, minimum=1)
# Requests one /api/v1/ token may make per window (seconds), on every web node together.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 300, minimum=1)
API_RATE_WINDOW = env_int("API_RATE_WINDOW", 60, minimum=1)
# Seconds one markdown render may take before the body is refused as too complex.
RENDER_TIME_LIMIT = env_float("RENDER_TIME_LIMIT", 1.5, minimum=0.1)

# Single sign-on through OpenID Connect, off unless OIDC_RP_CLIENT_ID is set (see the README).
OIDC_ENABLED = bool(env_str("OIDC_RP_CLIENT_ID"))
if OIDC_ENABLED:
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django.contrib.auth") + 1, "mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("fixit_runbooks.oidc.RoleOIDCBackend")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("fixit_runbooks.middleware.IdleSessionTimeoutMiddleware"),
        "mozilla_django_oidc.middleware.SessionRefresh",
    )
    OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
    OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
    OIDC_CREATE_USER = env_bool("OIDC_CREATE_USER", True)
    # New single-sign-on users start as viewers; an admin raises them.
    OIDC_DEFAULT_ROLE = env_str("OIDC_DEFAULT_ROLE", "viewer")
    OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 5, minimum=1)
    missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
        )
        if not globals()[name]
    ]
    if OIDC_RP_SIGN_ALGO == "RS256" and not OIDC_OP_JWKS_ENDPOINT:
        missing.append("OIDC_OP_JWKS_ENDPOINT")
    if missing:
        raise ImproperlyConfigured(
            f"Single sign-on needs {', '.join(missing)} as well as OIDC_RP_CLIENT_ID"
        )

# Health: each check may take this long; anonymous answers are cached this many seconds.
HEALTH_CHECK_TIMEOUT = env_float("HEALTH_CHECK_TIMEOUT", 0.5, minimum=0.05)
HEALTH_CACHE_SECONDS = env_int("HEALTH_CACHE_SECONDS", 5, minimum=0)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# With DEBUG off, pages link hashed file names from collectstatic's manifest;
# without it every page would be a 500, so start-up refuses instead (see apps.py).
STATIC_MANIFEST_REQUIRED = not DEBUG and env_bool("STATIC_MANIFEST_REQUIRED", True)

# Security: strict by default, relaxed only by DEBUG or explicit environment.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# htmx's hx-on attributes need eval, so the templates don't use them.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: http:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# Email: console by default; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "FixIt Runbooks <runbooks@localhost>")

# Celery: the embedded default is kombu's filesystem transport under var/, so a
# real worker and beat run with no broker server installed.
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "in"),
        "data_folder_out": str(_BROKER_DIR / "in"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # kombu's default is "control" relative to the working directory, i.e. the repository.
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# "publish": runbook edits publish at once; "propose": they wait for a second person's approval.
# A team's own setting overrides this.
CHANGE_CONTROL_DEFAULT = env_str("CHANGE_CONTROL_DEFAULT", "publish")
if CHANGE_CONTROL_DEFAULT not in ("publish", "propose"):
    raise ImproperlyConfigured("CHANGE_CONTROL_DEFAULT must be 'publish' or 'propose'.")
REVIEW_REMINDER_HOUR = env_int("REVIEW_REMINDER_HOUR", 7, minimum=0, maximum=23)
# A digest claim left "sending" longer than this is taken to have died with its worker and is sent again.
REVIEW_REMINDER_LEASE_SECONDS = env_int("REVIEW_REMINDER_LEASE_SECONDS", 300, minimum=30)
CELERY_BEAT_SCHEDULE = {
    "send-review-reminders": {
        "task": "reviews.tasks.send_review_reminders",
        "schedule": crontab(hour=REVIEW_REMINDER_HOUR, minute=0),
    },
    "retry-review-reminders": {
        "task": "reviews.tasks.retry_review_reminders",
        "schedule": REVIEW_REMINDER_LEASE_SECONDS,
    },
    "send-watch-digests": {
        "task": "notifications.tasks.send_watch_digests",
        "schedule": crontab(minute=0),
    },
    "requeue-pending-deliveries": {
        "task": "notifications.tasks.requeue_pending_deliveries",
        "schedule": crontab(minute="*/10"),
    },
    "send-break-glass-reminders": {
        "task": "changes.tasks.send_break_glass_reminders",
        "schedule": crontab(minute="*/5"),
    },
}
# Who hears when emergency (break-glass) access passes its revoke-by time, besides whoever invoked it.
SECURITY_CONTACT_EMAIL = env_str("SECURITY_CONTACT_EMAIL", "")

# Reviews: when true, an editor cannot sign off a revision they wrote.
REVIEW_REQUIRES_SECOND_REVIEWER = env_bool("REVIEW_REQUIRES_SECOND_REVIEWER", True)

# Search: re-rank the first full-text candidates by meaning (search.semantic).
SEARCH_SEMANTIC_RERANK = env_bool("SEARCH_SEMANTIC_RERANK", True)

# Alerts in: the alert's `severity` label (lower-cased) → incident severity.
ALERT_SEVERITY_MAP = env_map(
    "ALERT_SEVERITY_MAP",
    {"critical": "P1", "page": "P1", "high": "P1", "error": "P2", "warning": "P2", "info": "P3", "none": "P3"},
)
ALERT_DEFAULT_SEVERITY = env_str("ALERT_DEFAULT_SEVERITY", "P2")
if ALERT_DEFAULT_SEVERITY not in {"P0", "P1", "P2", "P3"} or not set(ALERT_SEVERITY_MAP.values()) <= {
    "P0",
    "P1",
    "P2",
    "P3",
}:
    raise ImproperlyConfigured("ALERT_SEVERITY_MAP and ALERT_DEFAULT_SEVERITY take severities P0, P1, P2 or P3")

# Chat and webhooks out: HTTP timeout per attempt, first retry delay (doubling after).
NOTIFICATION_TIMEOUT_SECONDS = env_int("NOTIFICATION_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", 30, minimum=1)

# Imports: files larger than this are reported and skipped.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 1_000_000, minimum=1024)
IMPORT_MAX_ZIP_BYTES = env_int("IMPORT_MAX_ZIP_BYTES", 50_000_000, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_000_000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5_000_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors_one_line": {"()": "fixit_runbooks.logs.ClientErrorsOneLine"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["client_errors_one_line"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
