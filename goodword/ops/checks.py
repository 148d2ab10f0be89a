"""System checks that explain a misconfiguration in Goodword's own terms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register()
def data_dir_writable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    data_dir = Path(settings.DATA_DIR)
    if not os.access(data_dir, os.W_OK):
        return [
            Error(
                f"GOODWORD_DATA_DIR ({data_dir}) is not writable",
                hint="Goodword keeps its secret key, click logs and static files there; "
                "point GOODWORD_DATA_DIR at a directory this user can write.",
                id="goodword.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def site_url_https(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not settings.SITE_URL.startswith("https://"):
        return [
            Warning(
                f"SITE_URL is {settings.SITE_URL}; referral links and the staff area should "
                "be served over https",
                hint="Set SITE_URL=https://your-referral-domain.",
                id="goodword.W001",
            )
        ]
    return []
