"""WSGI entry point. `/r/<code>` is answered here, beneath Django's request stack."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goodword.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_application = get_wsgi_application()

from goodword.public import links  # noqa: E402

StartResponse = Callable[..., Any]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "").startswith("/r/"):
        status, headers, body = links.handle(environ)
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]
    return django_application(environ, start_response)
