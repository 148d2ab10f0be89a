"""Reference peer: pinax-referrals' redirect view (`process_referral`) in a minimal project.

Runs in a throwaway virtualenv (see benches/redirect.py), never in Goodword's. SQLite gets the
same pragmas as Goodword's (WAL, synchronous=NORMAL) so the storage settings match.
"""

from __future__ import annotations

import os

BASE_DB = os.environ["PINAX_BENCH_DB"]
SECRET_KEY = "bench-only-not-secret-bench-only-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "pinax.referrals",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "pinax_bench_urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DB,
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
SITE_ID = 1
TEMPLATES: list[dict[str, object]] = []
PINAX_REFERRALS_ALLOWED_REDIRECT_HOSTS = ["shop.example.com"]
