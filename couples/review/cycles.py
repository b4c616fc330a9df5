"""A couple's named cycle, as they agreed it at the end of "Our cycle" (the `cycle_named` event):
no table of its own, the latest agreed one is the couple's cycle (as rituals.py for the greeting
ritual)."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import PracticeSession, SessionEvent

RECENT = 20  # named cycles looked at, newest first, for one the viewer may see


def latest_cycle(couple_id: int, viewer: str) -> dict | None:
    """The couple's latest named cycle that `viewer` ("a", "b", "therapist") may see:
    {name, sign, by, agreed_by, named_at}; None when they have not named one. The caller has
    already checked that the viewer may read the couple's sessions."""
    rows = db.session.execute(
        select(SessionEvent.data, SessionEvent.audience, SessionEvent.created_at)
        .join(PracticeSession, PracticeSession.id == SessionEvent.session_id)
        .where(PracticeSession.couple_id == couple_id, SessionEvent.type == "cycle_named")
        .order_by(SessionEvent.id.desc()).limit(RECENT))
    for data, audience, named_at in rows:
        if viewer in (audience or ()) and (data or {}).get("name"):
            return {"name": data["name"], "sign": data.get("sign"), "by": data.get("by"),
                    "agreed_by": data.get("agreed_by"), "named_at": named_at}
    return None
