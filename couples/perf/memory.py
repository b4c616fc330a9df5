"""`joined_turn`: what a process remembers so that a joined partner's turn is one statement.

A turn normally costs two statements: the socket lookup (its login, its role, the session row)
and the write. For a partner who joined the session from this process it can cost one: the write
itself re-checks the socket's access (room/store.py) against the session row as this process last
wrote or read it. What is remembered is only what to check and what to expect, never a grant: if
any of it is no longer so, the statement writes nothing and the turn takes the usual way.
Off: COUPLES_PERF_OFF=joined_turn (or COUPLES_DB_PREPARE=0, which it needs).
"""
from __future__ import annotations

from collections import OrderedDict

from flask import current_app

from ..extensions import db
from . import enabled
from .prepared import Prepared

KEEP = 4096  # session rows kept (the least recently used go first)


class Memory:
    """Per app (so per database): the sockets' joins and the latest session rows."""

    def __init__(self, on: bool):
        self.on = on  # PostgreSQL and the shortcut on: known once per app
        self.joined: dict = {}  # sid -> store.Joined
        self.rows: OrderedDict = OrderedDict()  # session id -> store.SessionRow, newest last


def memory() -> Memory:
    found = current_app.extensions.get("couples_memory")
    if found is None:
        # The engine, not the Session's bind: a joined turn never needs a Session. It runs its
        # statement prepared and alone (room/store.py), so it is off wherever that is.
        found = current_app.extensions["couples_memory"] = Memory(
            enabled("joined_turn") and Prepared.available(db.engine))
    return found


def on() -> bool:
    return memory().on


def note_joined(sid: str, joined) -> None:
    """The socket joined this (or, None, no) session as a partner."""
    if joined is None:
        memory().joined.pop(sid, None)
    elif on():
        memory().joined[sid] = joined


def remember(row) -> None:
    """Keep the session row as this process last wrote or read it. The last store wins: a stale
    row (two greenlets storing out of order, a restored database) only costs a turn a retry."""
    kept = memory()
    if not kept.on:
        return
    rows = kept.rows
    rows[row.id] = row
    rows.move_to_end(row.id)
    while len(rows) > KEEP:
        rows.popitem(last=False)


def forget(session_id: int) -> None:
    """Drop a session's remembered row (an erasure changed what it holds)."""
    found = current_app.extensions.get("couples_memory")
    if found is not None:
        found.rows.pop(session_id, None)


def recall(sid: str, public_id: str):
    """(joined, row) for a socket's turn in `public_id`, or None when this process cannot tell."""
    kept = memory()
    if not kept.on:
        return None
    joined = kept.joined.get(sid)
    if joined is None or joined.public_id != public_id:
        return None
    row = kept.rows.get(joined.session_id)
    return None if row is None else (joined, row)
