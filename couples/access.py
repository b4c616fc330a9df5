"""Who may see and do what. Every HTTP view, API endpoint and socket event asks here.

A partner sees only their couple; a therapist only couples whose BOTH partners consented and
have not revoked. Leaving a couple keeps read access to its past (the couple's history stays
readable by each former partner) but no live actions.
"""
from sqlalchemy import select

from .extensions import db
from .models import Couple, CoupleMember, TherapistLink, User


def active_membership(user: User) -> CoupleMember | None:
    """The user's seat in their active couple, if any."""
    return db.session.scalar(select(CoupleMember).where(CoupleMember.active_user_id == user.id))


def seat_in(user: User, couple_id: int) -> str | None:
    """'a' or 'b' if the user is (or was) a partner of this couple."""
    return db.session.scalar(select(CoupleMember.seat).where(
        CoupleMember.couple_id == couple_id, CoupleMember.user_id == user.id))


def active_link(therapist: User, couple_id: int) -> TherapistLink | None:
    """The therapist's consented, unrevoked link to this couple, if any."""
    if not therapist.is_therapist:
        return None
    link = db.session.scalar(select(TherapistLink).where(
        TherapistLink.couple_id == couple_id, TherapistLink.therapist_id == therapist.id,
        TherapistLink.revoked_at.is_(None)))
    return link if link is not None and link.active else None


def role_for(user: User, couple: Couple, *, live: bool) -> str | None:
    """'a' | 'b' | 'therapist' | None. `live` asks for acting in (or observing) a live room:
    then a partner must still be in the active couple; otherwise (reading history) having been
    a partner is enough. A therapist needs an active link either way."""
    if user.is_therapist:
        return "therapist" if active_link(user, couple.id) is not None else None
    if live:
        member = active_membership(user)
        return member.seat if member is not None and member.couple_id == couple.id else None
    return seat_in(user, couple.id)


def linked_couple_ids(therapist: User) -> list[int]:
    """Couples whose both partners consented to this therapist, now."""
    links = db.session.scalars(select(TherapistLink).where(
        TherapistLink.therapist_id == therapist.id, TherapistLink.revoked_at.is_(None))).all()
    return [link.couple_id for link in links if link.active]
