"""Goodword settings: one file, read from the environment.

Every variable is documented in docs/configuration.md. Bad values raise ImproperlyConfigured at
start-up with a message that says what to fix.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from goodword.lib import email_providers


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be greater than zero, got {raw!r}")
    return value


def _env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (`10.0.0.0/8, fd00::/8`); empty when unset."""
    networks = []
    for part in os.environ.get(name, "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip()))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated networks such as 10.0.0.0/8 or fd00::/8; "
                f"{part.strip()!r} is not one ({exc})"
            ) from None
    return tuple(networks)


BASE_DIR = Path(__file__).resolve().parent
if "pytest" in sys.modules and not os.environ.get("GOODWORD_DATA_DIR"):
    # A bare `pytest` (not `make test`, which gives each run its own): pytest-django reads
    # these settings before tests/conftest.py runs, and two runs side by side sharing
    # .goodword/test.sqlite3 broke each other ("disk I/O error").
    os.environ["GOODWORD_DATA_DIR"] = tempfile.mkdtemp(prefix="goodword-test-")
DATA_DIR = Path(os.environ.get("GOODWORD_DATA_DIR") or ".goodword").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use SECRET_KEY, or a key generated once and kept in the data dir."""
    configured = os.environ.get("SECRET_KEY", "")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return configured
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG", False)

SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an http(s) URL, got {SITE_URL!r}")

_hosts = os.environ.get("ALLOWED_HOSTS", "")
ALLOWED_HOSTS = [h.strip() for h in _hosts.split(",") if h.strip()] or [
    _site.hostname,
    "localhost",
    "127.0.0.1",
]
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "anymail",
    "goodword.accounts",
    "goodword.events",
    "goodword.programs",
    "goodword.participants",
    "goodword.referrals",
    "goodword.rewards",
    "goodword.ingest",
    "goodword.imports",
    "goodword.analytics",
    "goodword.goals",
    "goodword.webhooks",
    "goodword.messaging",
    "goodword.integrations",
    "goodword.api",
    "goodword.dashboard",
    "goodword.public",
    "goodword.ops",
]

MIDDLEWARE = [
    "goodword.api.middleware.api_body_limit",
    "django.middleware.security.SecurityMiddleware",
    "goodword.lib.csp.content_security_policy",
    "goodword.public.widget.cors.widget_cors",
    "goodword.api.middleware.events_fast_path",
    "goodword.integrations.middleware.hooks_fast_path",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "goodword.urls"
WSGI_APPLICATION = "goodword.wsgi.application"

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
                "goodword.dashboard.context.frame",
            ],
        },
    },
]


def _databases() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'goodword.sqlite3'}"
    try:
        db = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    engine = db.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        db["OPTIONS"] = {
            # IMMEDIATE: take the write lock at BEGIN, so two writers queue on the busy timeout
            # instead of one failing when it upgrades a read lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
        db["CONN_MAX_AGE"] = None
        db["CONN_HEALTH_CHECKS"] = False
        db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    elif engine != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL")
    return {"default": db}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The analytics' covering indexes (INCLUDE) serve PostgreSQL's index-only reads; SQLite builds
# them without the included columns, which is all it can use. Its warning would greet every
# command of the SQLite demo.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTHENTICATION_BACKENDS = [
    # First: it refuses a locked-out sign-in before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/dashboard/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
# Staff sessions end after SESSION_HOURS (default 12) without being renewed by use, and when
# the browser closes.
SESSION_COOKIE_AGE = int(_env_float("SESSION_HOURS", 12) * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Sign-in throttling (django-axes): LOGIN_FAILURE_LIMIT failed attempts for one email from one
# address lock that pair out for LOGIN_LOCKOUT_MINUTES; the answer is 429 with Retry-After.
AXES_FAILURE_LIMIT = int(_env_float("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=_env_float("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "goodword.dashboard.account.locked_out"
AXES_VERBOSE = False

# Optional two-factor sign-in with an authenticator app (TOTP, django-otp).
OTP_TOTP_ISSUER = "Goodword"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The languages messages are written in (goodword/messaging/words.py, default templates); the
# dashboard stays in English. Compiled catalogues are kept in the repository (docs/messaging.md).
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# Requests a minute per publishable key and client address: to the widget's endpoints (/w/v1/)
# and to refer-by-name lookup (GET /api/v1/referrers/lookup), counted per web process
# (goodword.lib.ratelimit). Over the limit: 429 with Retry-After.
WIDGET_RATE_PER_MINUTE = int(_env_float("WIDGET_RATE_PER_MINUTE", 60))
LOOKUP_RATE_PER_MINUTE = int(_env_float("LOOKUP_RATE_PER_MINUTE", 20))

# The API refuses larger bodies with 413 before reading them (goodword.api.middleware).
API_MAX_BODY_BYTES = 256 * 1024
# CSV uploads to /api/v1/imports/ (docs/import-export.md); bigger files go by the command line.
API_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploaded logos (Workspace -> Branding): bigger files are refused (docs/sharing-branding.md).
LOGO_MAX_BYTES = int(_env_float("GOODWORD_LOGO_MAX_BYTES", 1024 * 1024))

# Security: safe defaults; `goodword check --deploy` is clean when SITE_URL is https.
_https = _site.scheme == "https"
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and _env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _https else None
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

EMAIL_URL = os.environ.get("EMAIL_URL", "console://")
EMAIL_PROVIDER = ""  # anymail's name of the provider in EMAIL_URL; "": SMTP or the console
_email = urlsplit(EMAIL_URL)
if _email.scheme == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif _email.scheme in {"smtp", "smtp+tls", "smtps"}:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    # STARTTLS on the submission port whatever the scheme says: a password must not go in clear.
    EMAIL_USE_TLS = _email.scheme == "smtp+tls" or (_email.scheme == "smtp" and EMAIL_PORT == 587)
    # A mail server that stops answering must not hold a sender for ever (Django's default).
    EMAIL_TIMEOUT = 30
elif _email.scheme in email_providers.SCHEMES:
    # An email provider's API through django-anymail (goodword/lib/email_providers.py).
    _provider = email_providers.provider_settings(EMAIL_URL)
    EMAIL_BACKEND = _provider.backend
    EMAIL_PROVIDER = _provider.provider.esp
    ANYMAIL = _provider.anymail
else:
    raise ImproperlyConfigured(
        "EMAIL_URL must start with console://, smtp://, smtp+tls:// or smtps://, or name an"
        " email provider: " + ", ".join(f"{s}://" for s in sorted(email_providers.PROVIDERS))
    )
# The basic-auth "user:password" that providers' tracking webhooks (/hooks/email/<esp>/tracking/)
# must present; unset, those URLs answer 404. Several, comma-separated, while rotating.
_webhook_secrets = [s.strip() for s in os.environ.get("EMAIL_WEBHOOK_SECRET", "").split(",")]
ANYMAIL_WEBHOOK_SECRET = [s for s in _webhook_secrets if s]
if any(":" not in s for s in ANYMAIL_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "EMAIL_WEBHOOK_SECRET must be a user name and a password, such as goodword:Xk2…"
        " (put the same in the provider's webhook URL: https://goodword:Xk2…@refer.example.com/…)"
    )
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"goodword@{_site.hostname}")


_SMS_URL_EXAMPLE = "twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15005550006"


def _sms_api(url: str) -> dict[str, str] | None:
    """SMS_URL read into the Twilio API's base URL, credentials and sender; None when empty.

    `twilio+http://` means plain http, for a local stand-in in tests: never a real account.
    The query is split by hand so that `from=+1500…` keeps its + (a form decoder reads a space).
    """
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"twilio", "twilio+http"}:
        raise ImproperlyConfigured(f"SMS_URL must look like {_SMS_URL_EXAMPLE}")
    if not parts.username or not parts.password or not parts.hostname:
        raise ImproperlyConfigured(
            f"SMS_URL needs the account SID, the auth token and the host: {_SMS_URL_EXAMPLE}"
        )
    try:
        parts.port  # noqa: B018 (read for its check: a port out of range raises)
    except ValueError:
        raise ImproperlyConfigured("SMS_URL has a port that is not from 1 to 65535") from None
    if parts.path not in {"", "/"}:
        raise ImproperlyConfigured("SMS_URL takes no path: the API path is Twilio's own")
    query: dict[str, str] = {}
    for pair in filter(None, parts.query.split("&")):
        name, _, value = pair.partition("=")
        if name not in {"from", "messaging_service_sid"} or name in query or not value:
            raise ImproperlyConfigured(
                "SMS_URL takes one of from=<number or sender id> or messaging_service_sid=<MG…>"
                f"; {pair!r} is not that"
            )
        query[name] = unquote(value)
    if len(query) != 1:
        raise ImproperlyConfigured(
            "SMS_URL needs exactly one of from=<number or sender id> or messaging_service_sid=<MG…>"
        )
    scheme = "http" if parts.scheme == "twilio+http" else "https"
    return {
        "base_url": f"{scheme}://{parts.netloc.rpartition('@')[2]}",
        "account_sid": unquote(parts.username),
        "auth_token": unquote(parts.password),
        "from": query.get("from", ""),
        "messaging_service_sid": query.get("messaging_service_sid", ""),
    }


# The URL itself is not kept: "API" in the name hides the parsed value, token and all, on
# Django's error pages.
SMS_API = _sms_api(os.environ.get("SMS_URL", "").strip())

REDIS_URL = os.environ.get("REDIS_URL", "")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("GOODWORD_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# How often the scheduler runs its sweepers (approve due rewards, ingest the click log).
SWEEP_SECONDS = _env_float("GOODWORD_SWEEP_SECONDS", 5.0)
# How long the redirect keeps a code's destination in memory before asking the database again.
LINK_CACHE_SECONDS = _env_float("GOODWORD_LINK_CACHE_SECONDS", 30.0)
# The portal's per-program data (brand, page texts, offer, milestone rules) kept in process.
PORTAL_CACHE_SECONDS = _env_float("GOODWORD_PORTAL_CACHE_SECONDS", 5.0)
# How long a web process keeps an inbound connection (Shopify, Stripe, Segment) in memory:
# one turned off or deleted in another process is still accepted here for up to this long.
INBOUND_CONNECTION_CACHE_SECONDS = _env_float("GOODWORD_CONNECTION_CACHE_SECONDS", 5.0)
# Outbound webhooks: endpoints sent to at once by a dispatcher, and how long its claim on
# due messages lasts (a dispatcher that dies holding messages delays them this long).
WEBHOOK_CONCURRENCY = int(_env_float("GOODWORD_WEBHOOK_CONCURRENCY", 8))
if WEBHOOK_CONCURRENCY < 1:
    raise ImproperlyConfigured("GOODWORD_WEBHOOK_CONCURRENCY must be a whole number, at least 1")
WEBHOOK_LEASE_SECONDS = _env_float("GOODWORD_WEBHOOK_LEASE_SECONDS", 60.0)
MESSAGE_LEASE_SECONDS = _env_float("GOODWORD_MESSAGE_LEASE_SECONDS", 600.0)
# Mail sessions a sender keeps busy at once, a thread and a database connection each
# (docs/messaging.md, "Delivery"): a killed sender may repeat up to this many messages.
MESSAGE_EMAIL_SESSIONS = int(_env_float("GOODWORD_EMAIL_SESSIONS", 4))
if MESSAGE_EMAIL_SESSIONS < 1:
    raise ImproperlyConfigured("GOODWORD_EMAIL_SESSIONS must be a whole number, at least 1")
CLICK_LOG_DIR = DATA_DIR / "clicks"
# How long an advocate portal's magic link (`/p/<token>`) works after it is made; the cookie it
# sets lasts PORTAL_COOKIE_DAYS (docs/sharing-portal.md).
PORTAL_LINK_DAYS = _env_float("PORTAL_LINK_DAYS", 30.0)
PORTAL_COOKIE_DAYS = 90

# Networks that outbound calls (webhooks, goodword.lib.outbound) may reach although private,
# loopback or link-local; nothing by default. Public addresses are always reachable.
OUTBOUND_ALLOW_NETWORKS = _env_networks("OUTBOUND_ALLOW_NETWORKS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # django-axes logs every sign-in at INFO; its lockouts still come through as warnings.
        "axes": {"level": "WARNING"},
    },
}
