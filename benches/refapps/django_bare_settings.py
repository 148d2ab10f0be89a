"""Reference: a bare Django view returning 302, with Goodword's own settings and middleware."""

from __future__ import annotations

from goodword.settings import *  # noqa: F403

ROOT_URLCONF = "django_bare_urls"
