"""A couple's greeting ritual, as they saved it at the end of a greeting (the `ritual_saved`
event): no table of its own, the latest saved one is the couple's ritual."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import PracticeSession, SessionEvent

RECENT = 20  # saved rituals looked at, newest first, for one the viewer may see


def latest_ritual(couple_id: int, viewer: str) -> dict | None:
    """The couple's latest saved ritual that `viewer` ("a", "b", "therapist") may see:
    {when, what, gesture, by, agreed_by, saved_at}; None when they have not saved one. The caller
    has already checked that the viewer may read the couple's sessions."""
    rows = db.session.execute(
        select(SessionEvent.data, SessionEvent.audience, SessionEvent.created_at)
        .join(PracticeSession, PracticeSession.id == SessionEvent.session_id)
        .where(PracticeSession.couple_id == couple_id, SessionEvent.type == "ritual_saved")
        .order_by(SessionEvent.id.desc()).limit(RECENT))
    for data, audience, saved_at in rows:
        if viewer in (audience or ()) and (data or {}).get("when"):
            return {"when": data["when"], "what": data.get("what"), "gesture": data.get("gesture"),
                    "by": data.get("by"), "agreed_by": data.get("agreed_by"), "saved_at": saved_at}
    return None
