"""Per-connection rate limits for socket events: a token bucket per socket id.

Each socket may send `SOCKET_RATE_PER_SECOND` events a second on average, with bursts of up to
`SOCKET_RATE_BURST` (defaults 20 and 40: far above what a person typing can send, low enough that
one flooding client cannot starve the others). Over the limit an event is refused with the error
ack `rate_limited` before it touches the database; the connection stays open.

Buckets live in this process's memory: a socket is pinned to one process (sticky sessions), so a
per-process bucket is a per-connection bucket.
"""
from __future__ import annotations

import threading
import time

from flask import current_app

DEFAULT_RATE, DEFAULT_BURST = 20.0, 40.0


class TokenBuckets:
    """Thread-safe token buckets keyed by socket id."""

    def __init__(self, rate: float, burst: float, clock=time.monotonic):
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, key: str, cost: float = 1.0) -> bool:
        """Take `cost` tokens from the key's bucket if it has them."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= cost
            self._buckets[key] = (tokens - cost if allowed else tokens, now)
            return allowed

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)


def buckets(app=None) -> TokenBuckets:
    """This app's socket buckets, made on first use from its config."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("socket_rate_limit")
    if found is None:
        found = app.extensions["socket_rate_limit"] = TokenBuckets(
            app.config.get("SOCKET_RATE_PER_SECOND", DEFAULT_RATE),
            app.config.get("SOCKET_RATE_BURST", DEFAULT_BURST))
    return found


def allow(sid: str) -> bool:
    """May this socket send one more event now? (Always yes when SOCKET_RATE_LIMIT is False.)"""
    if not current_app.config.get("SOCKET_RATE_LIMIT", True):
        return True
    return buckets().allow(sid)


def forget(sid: str) -> None:
    """Drop a closed socket's bucket."""
    buckets().forget(sid)
