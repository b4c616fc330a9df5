"""A therapist's hold on a couple's joint practice: the couple's flag, and its live session held
to match (the engine's system actions "hold" and "release", exercises/hold.py).

`hold` and `release` are for a therapist whose link is active now (access.py):
they set or clear `couples.joint_hold_at`, record it in the audit log and, in the same
transaction, apply the system action to the couple's live session through the turn's write path
(turns.apply_system), as a timer is. The caller broadcasts the Outcome, so the open room learns
it at once. Doing it again changes nothing and records nothing. A session started while the
couple is held starts held (sessions.start_or_get). Nothing says why: no reason is asked, stored
or sent.

Order, so that a hold and a new session never miss each other: a hold writes the couple's row
before it looks for the live session, and a new session reads the couple's row FOR SHARE (on
PostgreSQL) in the transaction that creates it: a hold being written makes it wait, and a hold
written after it finds the session.
"""
from __future__ import annotations

from sqlalchemy import select

from .. import access
from ..errors import DomainError
from ..extensions import db
from ..models import Couple, User, utcnow
from ..privacy import audit
from . import turns
from .sessions import active_for
from .store import Conflict

HELD, RELEASED = "practice_held", "practice_released"  # the audit actions (partners see them)


def hold(therapist: User, couple_id: int) -> turns.Outcome | None:
    """Put the couple's joint practice on hold; the Outcome to broadcast (None: no live session
    to change). 403 `therapist_only` / `no_consent` unless the caller's link is active."""
    return _set(therapist, couple_id, True)


def release(therapist: User, couple_id: int) -> turns.Outcome | None:
    """Lift the hold: the partners may start joint exercises again."""
    return _set(therapist, couple_id, False)


def held_since(couple_id: int):
    """When the couple's joint practice was put on hold (None: it is not)."""
    return db.session.scalar(select(Couple.joint_hold_at).where(Couple.id == couple_id))


def _set(therapist: User, couple_id: int, on: bool) -> turns.Outcome | None:
    kind = "hold" if on else "release"
    for _ in range(turns.MAX_TRIES):
        access.require_active_link(therapist, couple_id)
        couple = db.session.get(Couple, couple_id, populate_existing=True)
        if (couple.joint_hold_at is not None) != on:
            couple.joint_hold_at, couple.joint_hold_by_id = (utcnow(), therapist.id) if on else (None, None)
            audit.record(therapist, HELD if on else RELEASED, couple_id, f"couple:{couple_id}")  # flushes
        session = active_for(couple_id)  # read after the couple's row was written
        try:
            outcome = turns.apply_system(session.id, kind) if session is not None else None
        except Conflict:  # another turn won; a store may have committed the flag already
            db.session.rollback()
            continue
        if outcome is None:
            db.session.commit()
        return outcome
    raise DomainError("busy", "The session is busy; please try again.", 503)
