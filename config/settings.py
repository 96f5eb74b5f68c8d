"""Settings, read from the environment with django-environ.

With nothing set the app runs as a developer expects on a bare machine: an embedded SQLite file,
Celery tasks executed in-process, DEBUG on and a development secret. Setting ``DEBUG=0`` switches on
production behaviour, and then every mandatory production value must be given explicitly.
"""

from pathlib import Path

import csp.constants as csp
import environ
import plotly
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - never used with DEBUG=0
_DEV_FIELD_KEY = "3ywOUIAKPDzWU0NqJ7Vc3LgK7X05pNqrS1o6PsVqkVk="


def _required_in_production(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG=0 (see README.md, 'Environment variables')."
    )


SECRET_KEY = _required_in_production("SECRET_KEY", _DEV_SECRET)
# A comma-separated list of Fernet keys; the first encrypts, all decrypt (key rotation).
FIELD_ENCRYPTION_KEY = _required_in_production("FIELD_ENCRYPTION_KEY", _DEV_FIELD_KEY)
# Keys the hashes of erased people's identifiers (apps/contacts/suppression.py). Without it, one
# is derived from SECRET_KEY: then rotating SECRET_KEY silently forgets every suppression.
SUPPRESSION_HMAC_KEY = env.str("SUPPRESSION_HMAC_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=0.")
# Absolute links in emails sent outside a request (reminder digests from Celery beat).
SITE_URL = env(
    "SITE_URL", default="http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0]}"
).rstrip("/")
if not DEBUG and not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must be set when DEBUG=0 (PostgreSQL).")
if not DEBUG and not env.str("REDIS_URL", default=""):
    raise ImproperlyConfigured("REDIS_URL must be set when DEBUG=0 (Celery broker and cache).")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apps.orgs",
    "apps.contacts",
    "apps.meetings",
    "apps.deals",
    "apps.payments",
    "apps.kpis",
    "apps.integrations",
    "apps.api",
    "apps.forecast",
    "apps.marketing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.orgs.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.orgs.middleware.OrgMiddleware",
    "apps.orgs.mfa.MFARequiredMiddleware",
    "apps.orgs.middleware.AuditMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "apps.orgs.context_processors.org",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Concurrent requests and the in-process tasks share one file: wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: email is the login, there are no usernames, sign-up is by invitation only
# (apps.orgs.adapters.InvitationOnlyAdapter).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "apps.orgs.adapters.InvitationOnlyAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Two-factor authentication (allauth.mfa): TOTP with recovery codes. WebAuthn is left out: it needs
# allauth's JavaScript and an HTTPS origin, and nothing here is tested with it yet.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "apps.orgs.mfa.EncryptedMFAAdapter"
MFA_TOTP_ISSUER = "Attribution"
# Who must use a second factor before reaching the pages below (platform superusers always do),
# and which URL namespaces or "namespace:name"s those are (apps.orgs.mfa.MFARequiredMiddleware).
MFA_REQUIRED_ROLES = ["owner", "admin"]
MFA_REQUIRED_URLS = [
    "admin",
    "integrations",
    "integrations_sync",
    "orgs:settings",
    "orgs:invite",
    "orgs:audit",
    "orgs:audit_csv",
    "orgs:mfa_reset",
    "payments:payouts",
    "payments:payout_detail",
    "api_site",
]

# --- Client address behind proxies (issue 17) ---
# How many reverse proxies in front of the app append to X-Forwarded-For (a load balancer: 1).
# Sign-in rate limits key on the client's address (apps.orgs.adapters.client_ip); 0 ignores the
# header, which anyone can send.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# --- end client address ---
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
# plotly.js is served from the plotly package itself (no CDN); htmx comes from django-htmx.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("plotly", Path(plotly.__file__).parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="attribution@localhost")
# --- Email in production (issue 17) ---
# The console and file backends write each message, password-reset links included, where the
# server's logs go: fine on a developer's machine, a credential leak in production.
_LOGGING_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
if not DEBUG and EMAIL_BACKEND in _LOGGING_EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        "EMAIL_URL must be set when DEBUG=0 (SMTP, e.g. smtp+tls://user:pass@host:587): "
        f"{EMAIL_BACKEND} would write password-reset links into the server log."
    )
# --- end email in production ---

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that hangs (rather than refuses) must not hang sign-in and webhooks with it:
            # past these the cache raises, and its callers fail open (apps.orgs.adapters).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery. Without REDIS_URL tasks run eagerly in-process, so `make run` needs no broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
# In-process tasks started from a page ("Sync now") run in a thread, not inside the request.
EAGER_TASKS_IN_THREAD = env.bool("EAGER_TASKS_IN_THREAD", default=True)
# Webhook acknowledgements publish their processing task from a background thread of the web
# process (apps/orgs/publisher.py): the stored row, not the broker message, is the promise.
PUBLISH_IN_BACKGROUND = env.bool("PUBLISH_IN_BACKGROUND", default=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only once it finished, and re-queued if its worker dies mid-task, so a
# crash never loses work (tasks are idempotent, so a second run is harmless).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_RETRY_BACKOFF_MAX = 600
# Longer than any countdown, ETA or retry delay: otherwise Redis redelivers a delayed task in a loop.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3 * 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A provider's sync can hold a worker process for hours (a backfill); on their own queue, with
# their own workers, they never hold up webhooks and KPI refreshes (the default "celery" queue).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"apps.integrations.sync_tasks.sync_provider_task": {"queue": "sync"}}
CELERY_TIMEZONE = "UTC"
# Worker processes a sync hands a walk's pages to once it has more than one (page_workers.py):
# past the rate limits a backfill is bound by one core. 1 applies every page in the sync's
# own process.
SYNC_PAGE_WORKERS = env.int("SYNC_PAGE_WORKERS", default=2)

# --- REST API (issue 21): REST_FRAMEWORK and SPECTACULAR_SETTINGS in apps/api/settings_api.py ---
from apps.api.settings_api import *  # noqa: E402, F403 - kept inside this block

# Keys the hashes of API keys (apps/api/keys.py). Without it one is derived from SECRET_KEY:
# then rotating SECRET_KEY revokes every API key at once.
API_KEY_HMAC_KEY = env.str("API_KEY_HMAC_KEY", default="")
# A NUL in a query string is a 400 everywhere (apps.orgs.middleware); under /api/ in the API's
# own error body.
NUL_REJECTION_RESPONDERS = {"/api/": "apps.api.errors.nul_rejected"}
# Requests per minute per API key and per organisation (apps/api/throttles.py).
API_THROTTLE_KEY_RATE = env.str("API_THROTTLE_KEY_RATE", default="600/m")
API_THROTTLE_ORG_RATE = env.str("API_THROTTLE_ORG_RATE", default="3000/m")
# --- end REST API ---

WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)

# Production hardening: on whenever DEBUG is off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy and Permissions-Policy (issue 17) ---
# Every script and style is a static file or carries the request's nonce (templates use
# `nonce="{{ request.csp_nonce }}"`); htmx's own indicator <style> is turned off in base.html's
# htmx-config and its rules live in app.css. CSP_REPORT_ONLY=1 sends the same policy as
# Content-Security-Policy-Report-Only instead, to try a change on live traffic first.
INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1,
    "apps.orgs.middleware.PermissionsPolicyMiddleware",
)
_CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "report-uri": env.list("CSP_REPORT_URI", default=[]) or None,
    }
}
# Not CSP_REPORT_ONLY: that name is a django-csp 3 setting, which its checks refuse.
_CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)
CONTENT_SECURITY_POLICY = None if _CSP_REPORT_ONLY else _CSP_POLICY
CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP_POLICY if _CSP_REPORT_ONLY else None
# Powerful browser features the app never uses, refused for it and anything it could embed
# (WebAuthn stays allowed: security keys for sign-in need it).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# --- end Content-Security-Policy and Permissions-Policy ---

# --- health (issue 25) ---
# /healthz is liveness (no dependency is asked); /readyz is readiness (apps/ops/health.py):
# database, Redis, migrations, beat's heartbeat and the webhook inbox's oldest pending row.
INSTALLED_APPS += ["apps.ops", "apps.demo"]
INSTALLED_APPS += ["apps.notifications"]
READYZ_BEAT_MAX_AGE_MINUTES = env.int("READYZ_BEAT_MAX_AGE_MINUTES", default=10)
READYZ_INBOX_MAX_AGE_MINUTES = env.int("READYZ_INBOX_MAX_AGE_MINUTES", default=15)
# A dead dependency must answer the probe fast, not hold a gunicorn worker for its timeout.
READYZ_REDIS_TIMEOUT_SECONDS = env.float("READYZ_REDIS_TIMEOUT_SECONDS", default=1.0)
READYZ_DB_STATEMENT_TIMEOUT_MS = env.int("READYZ_DB_STATEMENT_TIMEOUT_MS", default=1000)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # libpq waits for a silent host forever; every connection, not only the probe's, gives up.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
    )
# Container probes speak plain HTTP on the container's own port: no redirect to HTTPS for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# --- end health ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A password-reset link's key is a credential: no log line may carry it (issue 17).
    "filters": {"redact_reset_keys": {"()": "config.log_redaction.RedactResetKeys"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_reset_keys"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own handlers (console while DEBUG, runserver's request lines) would bypass
        # the redaction above: their records go through the root's handler instead.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}

# --- metrics (issue 25) ---
# /metrics (config/metrics.py) answers only a request bearing this token; unset, it is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# First, so a response's time includes every other middleware; URL names label the series.
MIDDLEWARE.insert(0, "config.metrics.RequestMetricsMiddleware")
# --- end metrics ---

# --- logging (issue 25) ---
# Every line carries request_id, org, user_id, task_id, task_name and provider where known
# (config.log_context). LOG_FORMAT=json writes one JSON object per line for a log pipeline;
# text is the format above. JSON unless DEBUG: production logs are read by machines.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING["formatters"]["json"] = {"()": "config.log_context.json_formatter"}
LOGGING["filters"]["log_context"] = {"()": "config.log_context.ContextFilter"}
LOGGING["handlers"]["console"]["formatter"] = "plain" if LOG_FORMAT == "text" else "json"
LOGGING["handlers"]["console"]["filters"].append("log_context")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "config.log_context.RequestContextMiddleware",
)
# Workers log through the handler above (context fields, JSON, reset-key redaction) instead of
# the one Celery would put on the root logger.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
from config.sentry import sentry_init  # noqa: E402 - kept inside this block

SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="unknown")
sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE)
# --- end logging (issue 25) ---

# The rollup key treats "no closer" as one value (NULLS NOT DISTINCT): PostgreSQL enforces it;
# the SQLite used by `make run` cannot, and nothing there writes rollups concurrently.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
