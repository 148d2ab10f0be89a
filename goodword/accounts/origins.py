"""Which web origins may call Goodword from a browser (CORS): those on a workspace's allowed
domains (a domain allows its subdomains), over http or https, on any port."""

from __future__ import annotations

import time

from goodword.accounts.models import Workspace
from goodword.lib.urls import host_allowed, url_host

# A preflight carries no key, so it can only ask whether *some* workspace allows the origin.
# Kept per process for a short while: preflights come often and domains change rarely.
_KNOWN_SECONDS = 30.0
_known: tuple[float, frozenset[str]] = (0.0, frozenset())


def origin_host(origin: str) -> str | None:
    """The host of an `Origin` header value, or None for `null` and anything malformed."""
    if not origin or origin == "null" or origin.count("/") != 2:
        return None
    return url_host(origin)


def origin_allowed(workspace: Workspace, origin: str) -> bool:
    host = origin_host(origin)
    return host is not None and host_allowed(host, list(workspace.allowed_domains or []))


def origin_known(origin: str, now: float | None = None) -> bool:
    """True when any workspace allows the origin (for answering a preflight)."""
    global _known
    host = origin_host(origin)
    if host is None:
        return False
    now = time.monotonic() if now is None else now
    if now >= _known[0]:
        domains: set[str] = set()
        for listed in Workspace.objects.values_list("allowed_domains", flat=True):
            domains.update(listed or [])
        _known = (now + _KNOWN_SECONDS, frozenset(domains))
    return host_allowed(host, list(_known[1]))


def forget() -> None:
    """Drop the cached domains (tests change them)."""
    global _known
    _known = (0.0, frozenset())
