"""Entering and leaving a session's room: the role check, the socket's row, the therapist's
observation in the audit trail, and the snapshot a (re)joining client needs."""
from __future__ import annotations

from ..exercises import engine
from ..extensions import db
from ..models import PracticeSession
from ..perf import memory
from ..privacy import audit
from . import log, presence
from .clock import now
from .sessions import find, find_live_role, summary
from .store import ROW_COLUMNS, Joined, SessionRow
from ..errors import DomainError


def join(sid: str, me: presence.SocketUser, public_id: str, last_seq: int) -> tuple[dict, list[int]]:
    """Enter the session's room (leaving any other); returns the ack, and the sessions whose
    presence changed. The socket's row names the session before the snapshot is read: every
    broadcast after this commit reaches it, so nothing falls between the two."""
    session, role = find_live_role(me, public_id)
    left = presence.enter(sid, session, role)
    partner = role in engine.PARTNERS
    memory.note_joined(sid, Joined(sid, me.id, session.id, session.public_id, role) if partner else None)
    if role == "therapist":
        audit.record(me, "session_observed", session.couple_id, f"session:{session.public_id}")
        db.session.commit()
    snap, missed = snapshot(session, role, last_seq)
    return {"ok": True, "snapshot": snap, "events": missed}, [session.id] + ([left] if left is not None else [])


def leave(sid: str, me: presence.SocketUser, public_id: str) -> int:
    """Leave the session's room (the socket stays connected); returns the session left."""
    session = find(public_id)
    if session is None or me.session_id != session.id:
        raise DomainError("not_joined", "You are not in this session.", 409)
    memory.note_joined(sid, None)
    presence.leave(sid)
    return session.id


def disconnected(sid: str) -> int | None:
    """Forget a closed socket; returns the session it was in."""
    memory.note_joined(sid, None)
    return presence.close_connection(sid)


def snapshot(session: PracticeSession, viewer: str, last_seq: int = 0) -> tuple[dict, list]:
    """The state a (re)joining client needs, and the events it missed since `last_seq`."""
    db.session.refresh(session)
    memory.remember(SessionRow(*(getattr(session, name) for name in ROW_COLUMNS)))
    at = now()
    events = log.events_for(session, viewer, upto=session.last_seq)
    missed = [e for e in events if e["seq"] > last_seq]
    snap = {"session": summary(session, viewer), "view": engine.view(session.state, viewer, at),
            "presence": presence.presence(session.id), "server_now": at.isoformat(),
            "last_seq": events[-1]["seq"] if events else 0}
    return snap, missed
