"""Throttles on everything a stranger can POST: logging in (the form and the token endpoint),
registering (the form and the API), and logging out while not logged in.

Logging in (docs/security.md, "Who has an account, and guessing passwords"):
- per address: LOGIN_RATE_LIMIT, whatever the emails: one address guessing at many accounts
  meets it (429);
- per email, from anywhere: no refusal (a stranger's ten wrong guesses must not lock the owner
  out) but a progressive, serialised delay. After LOGIN_FREE_FAILURES failed attempts at one email
  within LOGIN_FAILURE_WINDOW, every further attempt at it waits its turn: each takes a slot of
  LOGIN_DELAY_BASE seconds, doubling with each failure up to LOGIN_DELAY_MAX, one after another. So
  many addresses guessing at one account get one guess per slot between them, while the owner, from
  any address, waits at most a slot or two and gets in. Only a flood that would queue an attempt
  longer than LOGIN_MAX_WAIT is refused (429); then no guess is checked either.

The failure counts live in the rate-limit store (Redis when REDIS_URL is set, so shared by every
process); the queue of slots is per process. RATELIMIT_ENABLED=False turns all of it off (tests).
"""
from __future__ import annotations

import functools
import threading
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from ..errors import DomainError
from ..extensions import limiter


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def submitted_email() -> str:
    """The email a login or registration names (JSON body or form), normalised; "" if none."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # "[[[[..." nested past Python's limit: the view answers bad_json
            data = None
        email = data.get("email") if isinstance(data, dict) else None
    else:
        email = request.form.get("email")
    return email.strip().lower()[:254] if isinstance(email, str) else ""


# --- the per-email delay -----------------------------------------------------------------------

_FAILURES = "couples-login-failures/"
_queue_lock = threading.Lock()  # never held across a wait, so a plain lock is right in every mode


def _queue() -> dict[str, float]:
    """This app's email -> when its last reserved slot ends (time.monotonic())."""
    return current_app.extensions.setdefault("couples_login_queue", {})


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def failures(email: str) -> int:
    try:
        return int(limiter.storage.get(_FAILURES + email))
    except Exception:  # noqa: BLE001 - the store is unreachable: no delay rather than no login
        current_app.logger.warning("login failure count unavailable")
        return 0


def record_failure(email: str) -> None:
    try:
        limiter.storage.incr(_FAILURES + email, int(current_app.config["LOGIN_FAILURE_WINDOW"].total_seconds()))
    except Exception:  # noqa: BLE001
        current_app.logger.warning("login failure not counted")


def delay_for(failed: int) -> float:
    """Seconds one attempt at an email takes after `failed` failures in the window."""
    cfg = current_app.config
    over = failed - cfg["LOGIN_FREE_FAILURES"]
    if over < 0:
        return 0.0
    return min(cfg["LOGIN_DELAY_BASE"] * 2 ** min(over, 30), cfg["LOGIN_DELAY_MAX"])


def _reserve(email: str, delay: float) -> float:
    """Take the next slot for this email; returns how long to wait before checking the password."""
    now, queue = time.monotonic(), _queue()
    with _queue_lock:
        if len(queue) > 10_000:  # forget slots that have passed
            for key in [k for k, end in queue.items() if end <= now]:
                del queue[key]
        start = max(now, queue.get(email, 0.0))
        wait = start + delay - now
        if wait > current_app.config["LOGIN_MAX_WAIT"]:
            raise TooManyRequests("Too many attempts to log in to this account just now. Wait a minute, "
                                  "then try again.", retry_after=int(wait))
        queue[email] = start + delay
    return wait


def wait_your_turn(email: str) -> None:
    """Before a password is checked: the delay this email has earned (none for most logins)."""
    if not email:
        return
    delay = delay_for(failures(email))
    if delay > 0:
        time.sleep(_reserve(email, delay))  # green under eventlet and gevent


def _failed(response) -> bool:
    return response.status_code == 401


def _progressive_delay(view):
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if request.method != "POST" or not _enabled():
            return view(*args, **kwargs)
        email = submitted_email()
        wait_your_turn(email)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except DomainError as err:
            if err.code == "bad_credentials" and email:
                record_failure(email)
            raise
        if _failed(response) and email:
            record_failure(email)
        return response
    return guarded


# --- the decorators ----------------------------------------------------------------------------


def login_limits(view):
    """LOGIN_RATE_LIMIT per address, then the per-email delay, on POST only."""
    view = _progressive_delay(view)
    return limiter.limit(_login_limit, key_func=get_remote_address, methods=["POST"])(view)


def register_limits(view):
    """REGISTER_RATE_LIMIT per address on POST, the page and the API sharing one budget: each
    registration costs an Argon2id hash."""
    return limiter.shared_limit(_register_limit, scope="register", key_func=get_remote_address,
                                methods=["POST"])(view)


def stranger_limits(view):
    """LOGIN_RATE_LIMIT per address for anyone not logged in (logging out, for instance); a
    logged-in person is never refused."""
    return limiter.limit(_login_limit, key_func=get_remote_address, methods=["POST"],
                         exempt_when=lambda: current_user.is_authenticated)(view)
