"""Rate limits on the live room's sockets: per socket, per person, and on connecting.

- **Per socket**: a token bucket per socket id. Each socket may send `SOCKET_RATE_PER_SECOND`
  events a second on average, with bursts of up to `SOCKET_RATE_BURST` (defaults 20 and 40: far
  above what a person typing can send, low enough that one flooding client cannot starve the
  others). Buckets live in this process's memory: a socket is one WebSocket to one process.
- **Per person**: `SOCKET_EVENTS_PER_PERSON` (default 1200 a minute) events across all of a
  person's sockets, whichever login, device or process they are on, so that ten sockets of one
  login share one budget instead of getting ten.
- **Connecting**: `SOCKET_CONNECTS_PER_ADDRESS` (default 600 a minute) per client address, counted
  before any credential is read (anonymous attempts count), then `SOCKET_CONNECTS_PER_PERSON`
  (default 60 a minute) per person. Disconnects need no limit of their own: a socket disconnects
  once, so there are never more disconnects than accepted connects.

Over a limit an event is refused with the error ack `rate_limited` before it touches the database
(the connection stays open), and a connect is refused with `connect_error`
`{"code": "rate_limited", "message"}` (docs/protocol.md).

With several processes (`RATELIMIT_STORAGE_URI` is Redis, as when REDIS_URL is set) the
per-person and per-address counts are moving windows (the `limits` library's
MovingWindowRateLimiter, the library Flask-Limiter is built on) in that store, so every process
counts together. With one process they are token buckets in its memory (a burst of the limit's
amount, refilled at amount per period): `limits`' own memory store re-scans every stored hit every
10 ms on a timer thread, which at 1,500 sockets took a whole core and stalled the room. When the store cannot be reached nothing is
refused for it (each socket's bucket still holds; a Redis outage must not close the room), the
log says so at most once a minute, and the store is left alone for `STORE_RETRY` seconds before it
is tried again, so that an outage costs the room one wait (at most config.RATE_LIMIT_STORE_TIMEOUT), not one per event.
`SOCKET_RATE_LIMIT=False` turns every socket limit off (tests and benchmarks that send fast).
"""
from __future__ import annotations

import threading
import time

from flask import current_app
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..config import rate_limit_store_options

DEFAULT_RATE, DEFAULT_BURST = 20.0, 40.0
STORE_RETRY = 5.0  # seconds: after a failure the store is not asked again for this long
WARN_EVERY = 60.0  # seconds between two warnings that the store is unreachable


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

    def prune(self) -> None:
        """Drop the buckets that have refilled: they hold nothing a new one would not."""
        now = self.clock()
        with self._lock:
            self._buckets = {k: (t, last) for k, (t, last) in self._buckets.items()
                             if t + (now - last) * self.rate < self.burst}

    def __len__(self) -> int:
        return len(self._buckets)


class SocketLimits:
    """One app's shared limits (per person, per address) and whose each of this process's
    sockets is."""

    def __init__(self, uri: str, options: dict, *, events: str, connects_person: str, connects_address: str):
        if uri.startswith("memory://"):
            self.window = _LocalWindows()
        else:
            options = {**rate_limit_store_options(uri), **options}
            self.window = MovingWindowRateLimiter(storage_from_string(uri, **options))
        self.events = parse_many(events)
        self.connects_person = parse_many(connects_person)
        self.connects_address = parse_many(connects_address)
        self.people: dict[str, int] = {}  # socket id -> user id, for this process's sockets
        self._warned_at = None
        self._down_until = 0.0  # time.monotonic() before which the store is not asked

    def hit(self, items, *key: str) -> bool:
        """Count one more against every limit in `items` for `key`; False once one is spent."""
        if self._down_until and time.monotonic() < self._down_until:
            return True
        try:
            return all(self.window.hit(item, *key) for item in items)
        except Exception as err:  # noqa: BLE001 - the store is unreachable: let it through, say so
            now = time.monotonic()
            self._down_until = now + STORE_RETRY
            if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                current_app.logger.warning("rate-limit store unreachable (%s): the per-person and "
                                           "per-address socket limits are not applied", type(err).__name__)
            return True


class _LocalWindows:
    """One process's stand-in for the moving window: a token bucket per limit and key."""

    PRUNE_EVERY = 10_000  # hits: keys (people, addresses) that came and went are forgotten

    def __init__(self):
        self._buckets: dict[tuple, TokenBuckets] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, item, *key: str) -> bool:
        limit = (item.amount, item.get_expiry())
        with self._lock:
            found = self._buckets.get(limit)
            if found is None:
                found = self._buckets[limit] = TokenBuckets(item.amount / item.get_expiry(), item.amount)
            self._hits += 1
            prune = self._hits % self.PRUNE_EVERY == 0
        if prune:
            for buckets in list(self._buckets.values()):
                buckets.prune()
        return found.allow("/".join(key))


def _on() -> bool:
    return bool(current_app.config.get("SOCKET_RATE_LIMIT", True))


def buckets(app=None) -> TokenBuckets:
    """This app's socket buckets, made on first use from its config."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("socket_rate_limit")
    if found is None:
        found = app.extensions["socket_rate_limit"] = TokenBuckets(
            app.config.get("SOCKET_RATE_PER_SECOND", DEFAULT_RATE),
            app.config.get("SOCKET_RATE_BURST", DEFAULT_BURST))
    return found


def limits(app=None) -> SocketLimits:
    """This app's shared limits, made on first use from its config (the same store as
    Flask-Limiter's: RATELIMIT_STORAGE_URI and RATELIMIT_STORAGE_OPTIONS)."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("socket_limits")
    if found is None:
        cfg = app.config
        found = app.extensions["socket_limits"] = SocketLimits(
            cfg.get("RATELIMIT_STORAGE_URI") or "memory://", dict(cfg.get("RATELIMIT_STORAGE_OPTIONS") or {}),
            events=cfg["SOCKET_EVENTS_PER_PERSON"], connects_person=cfg["SOCKET_CONNECTS_PER_PERSON"],
            connects_address=cfg["SOCKET_CONNECTS_PER_ADDRESS"])
    return found


def allow(sid: str) -> bool:
    """May this socket send one more event now? Its own bucket first (in memory), then its
    person's budget (in the shared store)."""
    if not _on():
        return True
    if not buckets().allow(sid):
        return False
    shared = limits()
    person = shared.people.get(sid)
    return person is None or shared.hit(shared.events, "couples-socket-events", str(person))


def may_connect_from(address: str | None) -> bool:
    """Before the credentials are read: one more connect from this client address?"""
    if not _on():
        return True
    shared = limits()
    return shared.hit(shared.connects_address, "couples-socket-connects-from", address or "unknown")


def may_connect_as(user_id: int) -> bool:
    """Once the person is known: one more connect of theirs, on any process?"""
    if not _on():
        return True
    shared = limits()
    return shared.hit(shared.connects_person, "couples-socket-connects", str(user_id))


def connected(sid: str, user_id: int) -> None:
    """A socket was accepted: its events count against this person's budget."""
    limits().people[sid] = user_id


def forget(sid: str) -> None:
    """Drop a closed socket's bucket and person."""
    buckets().forget(sid)
    limits().people.pop(sid, None)
