"""Destination URLs for referral links: absolute http(s), within the workspace's domains."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2000


def url_host(url: str) -> str | None:
    """Return the lower-case host of an absolute http(s) URL fit to redirect to, else None."""
    if len(url) > MAX_URL_LENGTH or any(c in url for c in "\r\n\t\\ "):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password:
        return None
    return host.rstrip(".").lower()


def host_allowed(host: str, allowed_domains: list[str]) -> bool:
    """True when `host` is an allowed domain or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in allowed_domains)


def add_query_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))
