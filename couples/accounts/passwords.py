"""Passwords: Argon2id hashing off the event loop, and the check every new password passes.

Hashing. An Argon2id hash is slow and memory-hard by design. Run on the event loop (eventlet,
gevent) it would stop every socket of the process for that long (docs/benchmarks.md, "Registration
flood"). So every hash and verify runs in a native thread the async mode provides (eventlet's tpool, gevent's hub
threadpool; under threading the request's own thread), while the loop goes on serving. argon2-cffi
releases the GIL while it hashes. At most HASH_THREADS hashes run at once (one core is left to the
loop; the rest wait their turn without blocking anything), which also bounds the memory a flood
of logins can take.

New passwords (NIST SP 800-63B 3.1.1.2): at least 10 characters, and not one an attacker would try
early: zxcvbn (a PyPI package, shipped offline) compares it with the 30,000 most common passwords of
real breaches, English words, names and surnames, and finds repeats ("aaaa"), sequences ("1234"),
keyboard patterns ("qwerty"), dates, and the person's own email and name. A password it estimates at
fewer than 10^8 guesses is refused, with the reason in plain words.
"""
from __future__ import annotations

import os
import sys
import threading

from argon2 import PasswordHasher
from flask import current_app

# --- running blocking work off the event loop --------------------------------------------------


def _eventlet_patched() -> bool:
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher
    return patcher.is_monkey_patched("thread")


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey
    return monkey.is_module_patched("threading")


def off_loop(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` in a native thread when an event loop would otherwise wait for it;
    directly when nothing is monkey-patched (threading mode, the flask CLI, tests)."""
    if _eventlet_patched():
        from eventlet import tpool
        return tpool.execute(fn, *args, **kwargs)
    if _gevent_patched():
        import gevent
        return gevent.get_hub().threadpool.apply(fn, args, kwargs)
    return fn(*args, **kwargs)


_slots: threading.BoundedSemaphore | None = None  # made on first use: after monkey-patching


def default_hash_threads() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def _hash_slots() -> threading.BoundedSemaphore:
    global _slots
    if _slots is None:
        _slots = threading.BoundedSemaphore(current_app.config.get("HASH_THREADS") or default_hash_threads())
    return _slots


def _bounded(fn, *args):
    """`off_loop(fn, *args)`, at most HASH_THREADS at a time (the others wait, green)."""
    with _hash_slots():
        return off_loop(fn, *args)


# --- Argon2id --------------------------------------------------------------------------------


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg.get("ARGON2_TIME_COST", 3),
                          memory_cost=cfg.get("ARGON2_MEMORY_KIB", 65536),
                          parallelism=cfg.get("ARGON2_PARALLELISM", 1))


def hash_password(password: str, ph: PasswordHasher | None = None) -> str:
    return _bounded((ph or hasher()).hash, password)


def verify_password(stored_hash: str, password: str, ph: PasswordHasher | None = None) -> bool:
    """True, or raises argon2's VerificationError / InvalidHashError."""
    return _bounded((ph or hasher()).verify, stored_hash, password)


# One hash per parameter set, made once: a login for an unknown email verifies against it, so it
# costs exactly what a login for a known email costs (one verify, no hash).
_DUMMY_HASH: dict[tuple, str] = {}


def dummy_hash(ph: PasswordHasher) -> str:
    key = (ph.time_cost, ph.memory_cost, ph.parallelism)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password("not a password: nobody has this account", ph)
    return _DUMMY_HASH[key]


# --- what a new password must not be -----------------------------------------------------------

MIN_GUESSES = 1e8  # zxcvbn's "safely unguessable" (score 3)
CHECKED_LENGTH = 72  # zxcvbn's own bound: its matching grows with the square of the length
# Words an attacker of this site would try first, whoever the person is.
SITE_WORDS = ("couples", "couple", "therapy", "therapist", "partner", "practice")

_REASONS = {  # zxcvbn's pattern of the longest weak part -> why, in plain words
    "breached": "it is one of the most common passwords found in data breaches (or close to one), "
                "which attackers try first",
    "user_inputs": "it contains your email address, your name or the name of this site",
    "repeat": "it repeats characters or words (like \"aaaa\" or \"abcabc\")",
    "sequence": "it is a sequence (like \"abcd\" or \"1234\")",
    "spatial": "it is a pattern of neighbouring keys (like \"qwerty\")",
    "date": "it is mostly a date",
    "dictionary": "it is made of a few very common words or names",
}


def _estimate(password: str, context: list[str]) -> tuple[float, list[dict]]:
    """zxcvbn's guesses and match sequence, without its module-level state (its `zxcvbn()` writes
    the user inputs into a shared dictionary, which two threads could interleave)."""
    from zxcvbn import matching, scoring
    inputs = [str(word).lower() for word in context if word]
    dictionaries = {**matching.RANKED_DICTIONARIES, "user_inputs": matching.build_ranked_dict(inputs)}
    result = scoring.most_guessable_match_sequence(password, matching.omnimatch(password, dictionaries))
    return float(result["guesses"]), result["sequence"]


def _context_words(email: str | None, display_name: str | None) -> list[str]:
    words = list(SITE_WORDS)
    if email:
        local, _, domain = email.partition("@")
        words += [email, local, domain.split(".")[0]]
        words += [part for part in local.replace("_", ".").replace("-", ".").split(".") if len(part) >= 3]
    if display_name:
        words += [display_name] + [part for part in display_name.split() if len(part) >= 3]
    return words


def weakness(password: str, *, email: str | None = None, display_name: str | None = None) -> str | None:
    """Why this new password is too easy to guess, in plain words; None when it is fine."""
    guesses, sequence = _estimate(password[:CHECKED_LENGTH], _context_words(email, display_name))
    if guesses >= MIN_GUESSES:
        return None
    weak = [m for m in sequence if m.get("pattern") != "bruteforce"] or sequence
    longest = max(weak, key=lambda m: len(m.get("token", "")))
    pattern = longest.get("pattern")
    if pattern == "dictionary":
        name = longest.get("dictionary_name")
        pattern = "breached" if name == "passwords" else "user_inputs" if name == "user_inputs" else "dictionary"
    reason = _REASONS.get(pattern, _REASONS["dictionary"])
    return (f"This password is too easy to guess: {reason}. Choose another; "
            "three or four unrelated words make a strong one.")
