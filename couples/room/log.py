"""Reading a session's event log as one viewer may see it.

On the wire a viewer's `seq` is its position in the events it may see (its own gap-free log), so
seq gaps never reveal how many private events (a partner's safety answer) happened in between.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import PracticeSession, SessionEvent
from .sessions import VIEWERS


def seen_counts(row) -> dict:
    """How many events each viewer may see in the row's log (kept with the row's version)."""
    return {"a": row.seen_a or 0, "b": row.seen_b or 0, "therapist": row.seen_therapist or 0}


def visible_count(session_id: int, viewer: str, upto: int) -> int:
    """How many of the log's first `upto` events the viewer may see."""
    counts = dict.fromkeys(VIEWERS, 0)
    for audience in db.session.scalars(select(SessionEvent.audience).where(
            SessionEvent.session_id == session_id, SessionEvent.seq <= upto)):
        for who in audience:
            if who in counts:
                counts[who] += 1
    return counts[viewer]


def events_for(session: PracticeSession, viewer: str, after: int = 0, limit: int | None = None,
               upto: int | None = None) -> list[dict]:
    """The viewer's events after its `after` (viewer seq), in order, numbered in its own log."""
    query = select(SessionEvent).where(SessionEvent.session_id == session.id)
    if upto is not None:
        query = query.where(SessionEvent.seq <= upto)
    rows = db.session.scalars(query.order_by(SessionEvent.seq)).all()
    out, n = [], 0
    for ev in rows:
        if viewer not in ev.audience:
            continue
        n += 1
        if n <= after:
            continue
        out.append(public_event(n, ev.type, ev.seat, ev.data, ev.created_at))
        if limit is not None and len(out) >= limit:
            break
    return out


def public_event(seq: int, type_: str, actor, data, at) -> dict:
    return {"seq": seq, "type": type_, "actor": actor, "data": data,
            "at": at.isoformat() if isinstance(at, datetime) else at}
