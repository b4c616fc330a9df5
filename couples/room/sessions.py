"""Practice sessions: finding one, the caller's role in it, starting the couple's one live session."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import access
from ..errors import DomainError
from ..exercises import engine
from ..extensions import db
from ..models import Couple, CoupleMember, PracticeSession, User
from .clock import now

VIEWERS = ("a", "b", "therapist")


def forbidden() -> DomainError:
    return DomainError("forbidden", "You do not have access to this session.", 403)


def find(public_id: str) -> PracticeSession | None:
    return db.session.scalar(select(PracticeSession).where(PracticeSession.public_id == public_id))


def role_in(user: User, session: PracticeSession | None, *, live: bool) -> str:
    """The user's role in the session ('a'|'b'|'therapist'), or `forbidden` (also when unknown)."""
    if session is None:
        raise forbidden()
    role = access.role_for(user, session.couple, live=live)
    if role is None:
        raise forbidden()
    return role


def find_live_role(user, public_id: str) -> tuple[PracticeSession, str]:
    """The session and the user's live role in it (access.live_role), in ONE statement.
    Raises `forbidden` when unknown or not allowed."""
    role = access.live_role(user.id, "therapist" if user.is_therapist else "partner", PracticeSession.couple_id)
    role = role.label("role")
    found = db.session.execute(select(PracticeSession, role).where(
        PracticeSession.public_id == public_id).execution_options(populate_existing=True)).first()
    if found is None or found[1] is None:
        raise forbidden()
    return found[0], found[1]


def start_or_get(user: User) -> tuple[PracticeSession, bool]:
    """The couple's one active session, created if there is none. Returns (session, created)."""
    if user.is_therapist:
        raise DomainError("not_a_partner", "Only partners can start a practice session.", 403)
    member = access.active_membership(user)
    if member is None:
        raise DomainError("not_in_couple", "You are not in a couple.", 409)
    existing = active_for(member.couple_id)
    if existing is not None:
        return existing, False
    # Held from its first state if the couple's therapist has paused joint practice (holds.py);
    # FOR SHARE: a hold being written now is waited for, a later one finds this session.
    held_since = db.session.scalar(select(Couple.joint_hold_at).where(
        Couple.id == member.couple_id).with_for_update(read=True))
    session = PracticeSession(couple_id=member.couple_id, started_by_id=user.id,
                              state=engine.new_state(held_since=held_since), version=0, last_seq=0,
                              active_couple_id=member.couple_id, created_at=now())
    db.session.add(session)
    try:
        db.session.commit()
    except IntegrityError:  # the other partner pressed start in the same instant: theirs wins
        db.session.rollback()
        return active_for(member.couple_id), False
    return session, True


def active_for(couple_id: int) -> PracticeSession | None:
    return db.session.scalar(select(PracticeSession).where(PracticeSession.active_couple_id == couple_id))


def sessions_for(user: User) -> list[PracticeSession]:
    """Sessions of the partner's couples (past ones included), or of a therapist's linked couples."""
    if user.is_therapist:
        couple_ids = access.linked_couple_ids(user)
    else:
        couple_ids = list(db.session.scalars(select(CoupleMember.couple_id).where(
            CoupleMember.user_id == user.id)))
    if not couple_ids:
        return []
    return list(db.session.scalars(select(PracticeSession).where(
        PracticeSession.couple_id.in_(couple_ids)).order_by(PracticeSession.id.desc())))


def partner_names(couple) -> dict:
    """{"a": name, "b": name}: a deleted or missing partner reads "Partner A" / "Partner B"."""
    names = {m.seat: (m.user.display_name if m.user else None) for m in couple.members}
    return {seat: names.get(seat) or f"Partner {seat.upper()}" for seat in ("a", "b")}


def summary(session: PracticeSession, viewer: str) -> dict:
    """The session as a client sees it (never its raw state)."""
    names = {m.seat: m.user.display_name if m.user else None for m in session.couple.members}
    return {"id": session.public_id, "created_at": _iso(session.created_at),
            "ended_at": _iso(session.ended_at), "active": session.ended_at is None,
            "role": viewer, "partners": names}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
