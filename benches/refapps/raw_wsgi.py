"""Reference: the least a WSGI app can do for a referral link — answer 302, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_HEADERS = [
    ("Location", "https://shop.example.com/?gw_ref=x"),
    ("Cache-Control", "no-store"),
    ("Content-Length", "0"),
]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("302 Found", list(_HEADERS))
    return [b""]
