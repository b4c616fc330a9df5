"""Who may see and do what. Every HTTP view, API endpoint, socket event and broadcast asks here.

A partner sees only their couple; a therapist only couples whose BOTH partners consented and
have not revoked. Leaving a couple keeps read access to its past (the couple's history stays
readable by each former partner) but no live actions. A login is live until it is revoked, it
expires, its account is deleted, or (a browser login) it has been idle too long.

Each rule is written once, as a SQLAlchemy expression; the Python checks, the socket lookup,
the broadcast's audience, the sweeper and the joined turn's statement are all built from these.
"""
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, literal, or_, select

from .errors import DomainError
from .extensions import db
from .models import AuthSession, Connection, Couple, CoupleMember, PracticeSession, TherapistLink, User


# --------------------------------------------------------------------------- the rules


def link_is_active():
    """The TherapistLink row being selected is consented by both partners and not revoked."""
    return and_(TherapistLink.revoked_at.is_(None), TherapistLink.consent_a_at.is_not(None),
                TherapistLink.consent_b_at.is_not(None))


def has_live_link(therapist_id, couple_id):
    """EXISTS: the therapist has an active link to the couple."""
    return exists().where(TherapistLink.couple_id == couple_id, TherapistLink.therapist_id == therapist_id,
                          link_is_active())


def is_active_member(user_id, couple_id):
    """The CoupleMember row being selected is the user's seat in the couple while it is active."""
    return and_(CoupleMember.active_user_id == user_id, CoupleMember.couple_id == couple_id)


def active_seat(user_id, couple_id):
    """The user's seat ('a' | 'b') in the couple while it is active, else NULL."""
    return select(CoupleMember.seat).where(is_active_member(user_id, couple_id)).limit(1).scalar_subquery()


def holds_seat(user_id, user_role, couple_id, seat):
    """live_role(...) == seat for a partner's seat, as a join condition on CoupleMember: what a
    turn needs, since only partners act (a join costs the turn's statement less than a subquery)."""
    return and_(is_active_member(user_id, couple_id), CoupleMember.seat == seat, user_role != "therapist")


def live_role(user_id, user_role, couple_id):
    """The user's role in a live room of the couple: their active seat, 'therapist' for an
    active link, else NULL. `user_role` is the user's User.role (a column, or its value)."""
    as_therapist = case((has_live_link(user_id, couple_id), literal("therapist")))
    if isinstance(user_role, str):
        return as_therapist if user_role == "therapist" else active_seat(user_id, couple_id)
    return case((user_role == "therapist", as_therapist), else_=active_seat(user_id, couple_id))


def login_is_live(at, idle_after):
    """The AuthSession and User rows being selected make a live login at `at`: not revoked, not
    expired, the account not deleted, and (a browser login) used since `idle_after`."""
    return and_(AuthSession.revoked_at.is_(None), AuthSession.expires_at > at, User.deleted_at.is_(None),
                or_(AuthSession.kind != "cookie", AuthSession.last_seen_at >= idle_after))


def live_sockets(session_id, at, idle_after, *columns):
    """SELECT (sid, role, *columns) of the session's sockets whose login is live and whose role in
    the session is live: who may receive its events. Arguments: values, columns or bind parameters."""
    return select(Connection.sid, Connection.role, *columns).select_from(
        Connection.__table__.join(AuthSession, and_(AuthSession.id == Connection.auth_session_id,
                                                    AuthSession.user_id == Connection.user_id))
        .join(User, User.id == Connection.user_id)
        .join(PracticeSession, PracticeSession.id == Connection.session_id)).where(
        Connection.session_id == session_id, login_is_live(at, idle_after),
        Connection.role == live_role(Connection.user_id, User.role, PracticeSession.couple_id))


def idle_after(at: datetime, idle_timeout: timedelta) -> datetime:
    """The oldest last-seen stamp a browser login may have at `at` and still be live."""
    return at - idle_timeout


# --------------------------------------------------------------------------- the checks


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
    return db.session.scalar(select(TherapistLink).where(
        TherapistLink.couple_id == couple_id, TherapistLink.therapist_id == therapist.id, link_is_active()))


def role_for(user: User, couple: Couple, *, live: bool) -> str | None:
    """'a' | 'b' | 'therapist' | None. `live` asks for acting in (or observing) a live room:
    then a partner must still be in the active couple; otherwise (reading history) having been
    a partner is enough. A therapist needs an active link either way."""
    if live or user.is_therapist:
        return db.session.scalar(select(live_role(user.id, user.role, couple.id)))
    return seat_in(user, couple.id)


def linked_couple_ids(therapist: User) -> list[int]:
    """Couples whose both partners consented to this therapist, now."""
    return list(db.session.scalars(select(TherapistLink.couple_id).where(
        TherapistLink.therapist_id == therapist.id, link_is_active()).order_by(TherapistLink.couple_id)))


# --------------------------------------------------------------------------- refusals


def require_therapist(user: User) -> None:
    if not user.is_therapist:
        raise DomainError("therapist_only", "Only therapists can do this.", 403)


def require_active_link(therapist: User, couple_id: int) -> TherapistLink:
    """The therapist's consented link to this couple, or 403 `no_consent`."""
    require_therapist(therapist)
    link = active_link(therapist, couple_id)
    if link is None:
        raise DomainError("no_consent", "This couple has not given you access.", 403)
    return link

