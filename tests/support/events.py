"""Events appended to a session's log the way a turn appends them (room/store.py), for the
events a test needs that no action of the engine produces (yet, or in that world)."""
from sqlalchemy import select

from couples.extensions import db
from couples.models import SessionEvent
from couples.room import clock, store


def event(type_: str, data: dict, audience, actor: str | None = None) -> dict:
    """One event as the engine emits it: its type, the seat that did it, its data, who may see it."""
    return {"type": type_, "actor": actor, "data": data, "audience": list(audience)}


def append_events(session_id: int, *events: dict, user_id: int | None = None) -> list[int]:
    """Append `events` through the store (gap-free seq, each viewer's counter, a new version, the
    state unchanged), in an app context; the new rows' ids, in order."""
    writer = store.store()
    row = writer.load(session_id, None, None)
    writer.append(store.Write(row=row, state=row.state, events=list(events), at=clock.now(), user_id=user_id))
    return list(db.session.scalars(select(SessionEvent.id).where(
        SessionEvent.session_id == session_id, SessionEvent.seq > row.last_seq).order_by(SessionEvent.seq)))
