"""A small in-process rate limiter for public endpoints (the widget, refer-by-name lookup, the
landing page's claim form).

Fixed windows per key (a minute unless said otherwise), counted in memory: no database write
per request, which these endpoints (called from shoppers' browsers) could not afford. Each web
process counts on its own, so with GOODWORD_WEB_WORKERS=n a client gets at most n times the
limit; the limit bounds abuse (enumerating names, flooding claims), it is not an exact quota.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

_MAX_KEYS = 50_000  # beyond this, forget every window (at worst a client starts afresh)


@dataclass
class Limiter:
    per_window: int
    window: float
    _counts: dict[str, tuple[float, int]]
    _lock: threading.Lock

    @classmethod
    def new(cls, per_window: int, window: float = 60.0) -> Limiter:
        return cls(per_window, window, {}, threading.Lock())

    def hit(self, key: str, now: float | None = None) -> int:
        """Count one request; return 0 when allowed, else the seconds until the next may be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.per_window:
                return max(1, math.ceil(start + self.window - now))
            if len(self._counts) >= _MAX_KEYS and key not in self._counts:
                self._counts.clear()
            self._counts[key] = (start, count + 1)
            return 0

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
