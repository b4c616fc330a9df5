"""What a person's dashboard shows that can change while it is open: for a partner, their couple,
its therapists and its open session (who started it, who is in the room, whether this partner
has been in it); for a therapist, each consenting couple's open session and unread signals.

The pages render it (dashboard, practice page, the therapist's couples) and static/js/dashboard.js
asks `GET /api/v1/dashboard` for it again every few seconds: when its `version` moved, the page
says what changed and redraws its live parts. Every read goes through access.py: a partner sees
only their active couple, a therapist only the couples whose both partners consent now.

Why a poll and not a socket subscription: most of these changes are made by HTTP requests (a
partner leaving, a therapist removed, an invitation used), not by the room's socket events, so a
subscription would need every write path to publish; and one more socket per open dashboard
would count against each person's connection limit. A conditional GET (ETag, 304 when nothing
changed) every few seconds while the page is visible is simpler and says the same thing.
"""
from __future__ import annotations

import hashlib
import json

from flask import url_for
from sqlalchemy import exists, select

from .. import access
from ..extensions import db
from ..models import Couple, PracticeSession, SessionEvent, TherapistLink, User
from ..room import presence, sessions


def status(user: User) -> dict:
    """The caller's live status (partner or therapist), with its `version`."""
    body = _therapist(user) if user.is_therapist else _partner(user)
    text = json.dumps(body, sort_keys=True, default=str)
    return {**body, "version": hashlib.sha256(text.encode()).hexdigest()[:16]}


def _partner(user: User) -> dict:
    member = access.active_membership(user)
    if member is None:
        return {"role": "partner", "couple": None, "session": None}
    couple = member.couple
    active = sessions.active_for(couple.id)
    return {"role": "partner",
            "couple": {"id": couple.id, "me": member.seat,
                       "partners": {m.seat: m.user.display_name for m in couple.members
                                    if m.active_user_id is not None and m.user},
                       "therapists": _therapists(couple.id), "held": couple.joint_hold_at is not None},
            "session": _session(active, member.seat, user.id) if active else None}


def _therapists(couple_id: int) -> list[str]:
    return list(db.session.scalars(select(User.display_name).join(
        TherapistLink, TherapistLink.therapist_id == User.id).where(
        TherapistLink.couple_id == couple_id, access.link_is_active()).order_by(TherapistLink.id)))


def _session(session: PracticeSession, seat: str | None, user_id: int | None) -> dict:
    """The open session as its viewer's dashboard shows it. Who is in the room only for a partner:
    a therapist learns that by observing, which is audited (room/entering.py)."""
    out = {"id": session.public_id, "started_at": session.created_at.isoformat(),
           "started_by": _seat_of(session), "url": url_for("room.practice_room", public_id=session.public_id)}
    if seat is not None:
        here = presence.presence(session.id)
        out["here"] = {"a": here["a"]["online"], "b": here["b"]["online"]}
        out["joined"] = _has_been_in(session, seat, user_id)
    return out


def _seat_of(session: PracticeSession) -> str | None:
    """The seat of the partner who started the session (None: they have left since)."""
    for m in session.couple.members:
        if m.user_id == session.started_by_id:
            return m.seat
    return None


def _has_been_in(session: PracticeSession, seat: str, user_id: int) -> bool:
    """This partner started the session, or did something in it: "Rejoin", not "Join"."""
    if session.started_by_id == user_id:
        return True
    return bool(db.session.scalar(select(exists().where(
        SessionEvent.session_id == session.id, SessionEvent.seat == seat))))


def _therapist(user: User) -> dict:
    from ..review import signals  # review reads pairing; the dashboard reads both
    couple_ids = access.linked_couple_ids(user)
    unread = signals.unread_counts(user, couple_ids)
    couples = []
    for couple_id in couple_ids:
        couple = db.session.get(Couple, couple_id)
        active = sessions.active_for(couple_id)
        couples.append({"id": couple_id, "partners": sessions.partner_names(couple),
                        "unread": unread.get(couple_id, 0),
                        "session": _session(active, None, None) if active else None})
    return {"role": "therapist", "couples": couples}
