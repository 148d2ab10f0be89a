"""What every provider's `views.py` shares: the body limit, JSON answers, finding the
connection. A delivery is verified before anything is stored, and answered at once.

Connections are found through a small in-process cache, as the redirect finds links: a
delivery costs one INSERT and no look-up. An entry lives `INBOUND_CONNECTION_CACHE_SECONDS`
(`GOODWORD_CONNECTION_CACHE_SECONDS`, 5 s by default; 0 turns the cache off). Changes made
through `integrations.services` empty this process's cache when they commit; another web
process goes on accepting a connection turned off or deleted there (or its old secret, or
refusing its new one) until its entry ends, that many seconds at most.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from goodword.integrations.models import Connection

# As the API's body limit (settings.API_MAX_BODY_BYTES), checked before the body is read, but
# larger: a Shopify order with many lines or a Segment batch (Segment's own cap is 500 KB)
# is bigger than any API event.
MAX_BODY_BYTES = max(settings.API_MAX_BODY_BYTES, 1024 * 1024)


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": None}}, status=status
    )


def read_body(request: HttpRequest) -> bytes | JsonResponse:
    """The raw body, or the answer refusing it (too large: 413, before it is read)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > MAX_BODY_BYTES:
        return error(413, "payload_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return error(413, "payload_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes")
    return body


def decode(body: bytes) -> str | None:
    """The body as text (stored so); None when it is not UTF-8 or holds a NUL character,
    which no provider sends and PostgreSQL cannot store in text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


# Entries (misses too: a caller trying ids costs no query each) by key: when each ends, what.
# The connections in it are shared by every thread: they are read, never changed.
_cache: dict[Hashable, tuple[float, Connection | None]] = {}
_CACHE_LIMIT = 10_000
clock = time.monotonic  # a name of its own, so tests can move time on


def cached(key: Hashable, load: Callable[[], Connection | None]) -> Connection | None:
    """`load()`'s answer, from the cache while its entry lasts."""
    now = clock()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = load()
    ttl = settings.INBOUND_CONNECTION_CACHE_SECONDS
    if ttl > 0:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = (now + ttl, found)
    return found


def forget() -> None:
    """Empty the cache: a connection changed or was deleted (see `integrations.services`)."""
    _cache.clear()


def connection(public_id: str, provider: str) -> Connection | None:
    """An active connection of this provider; None for anything else (one answer for all, so
    a caller learns nothing about other workspaces' connections)."""
    if len(public_id) > 32 or "\x00" in public_id:
        return None

    def load() -> Connection | None:
        found: Connection | None = Connection.objects.filter(
            public_id=public_id, provider=provider, active=True
        ).first()
        return found

    return cached(("id", public_id, provider), load)


NOT_FOUND = "no such connection"
UNSIGNED = "the signature does not match this connection's secret"
NOT_UTF8 = "the body is not UTF-8 text"
