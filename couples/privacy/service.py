"""Data rights: export everything about a person as JSON, and delete their account.

What deletion does (explained on the page before confirming, and in docs/privacy.md):
- The account is anonymised, not removed: the email, name, password and therapist code are
  erased, every login and token ends at once (open sockets are disconnected by the sweeper), and
  nobody can log in to it again. The row stays as a tombstone so shared history still reads.
- A partner's active couple ends (as if they had left): linked therapists lose access, open
  invitations stop working, and a running practice session ends.
- What they said TO their partner in shared sessions stays in the partner's record, attributed
  to "A former partner": it is the other person's history too (their answers, their agreements
  only make sense beside it), and deleting one side would silently rewrite the other's record.
- What only they could see (their private safety answer, a private pause or end reason) is
  erased: the event stays as a placeholder so the log keeps its numbering.
- A therapist's private notes and their read marks on safety signals are deleted (nobody else
  could ever read them) and their links end. Read marks on a partner's erased events go too.
- The audit log is kept: it holds ids and actions, never anyone's words, and it must stay
  tamper-evident (the database refuses to update or delete its rows). The deletion itself is
  recorded in it.
- What is erased is erased from the file too: SQLite zeroes deleted content (secure_delete) and,
  after the deletion, the write-ahead log is checkpointed and truncated (database.scrub_wal).
  docs/privacy.md lists every place personal data lives, and what PostgreSQL keeps.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import delete, select

from .. import access
from ..accounts import service as accounts
from ..database import scrub_wal
from ..errors import DomainError
from ..extensions import db
from ..pairing import service as pairing
from . import audit
from ..models import (AuditEntry, AuthSession, Couple, CoupleMember, Invitation, PracticeSession,
                     SessionEvent, SignalRead, TherapistLink, TherapistNote, User, utcnow)

log = logging.getLogger(__name__)

CONFIRM_PHRASE = "delete my account"
FORMER = {"partner": "A former partner", "therapist": "A former therapist"}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


# --------------------------------------------------------------------------- export


def export(user: User) -> dict:
    """Everything the app holds about this person, as one JSON-ready dict."""
    audit.record(user, "data_exported", None, f"user:{user.id}")
    db.session.commit()
    memberships = db.session.scalars(select(CoupleMember).where(CoupleMember.user_id == user.id)
                                     .order_by(CoupleMember.id)).all()
    couple_ids = [m.couple_id for m in memberships]
    out = {
        "format": "couples-export/1",
        "exported_at": _iso(utcnow()),
        "account": {"id": user.id, "email": user.email, "display_name": user.display_name,
                    "role": user.role, "created_at": _iso(user.created_at),
                    "therapist_code": user.therapist_code},
        "logins": [_login(row) for row in db.session.scalars(
            select(AuthSession).where(AuthSession.user_id == user.id).order_by(AuthSession.id))],
        "couples": [_couple(m) for m in memberships],
        "audit": [_entry(e) for e in db.session.scalars(select(AuditEntry).where(
            (AuditEntry.actor_id == user.id) | AuditEntry.couple_id.in_(couple_ids or [-1]))
            .order_by(AuditEntry.id))],
    }
    if user.is_therapist:
        out["therapist"] = _therapist_part(user)
    return out


def _login(row: AuthSession) -> dict:
    return {"kind": row.kind, "label": row.label, "created_at": _iso(row.created_at),
            "last_seen_at": _iso(row.last_seen_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at)}


def _couple(member: CoupleMember) -> dict:
    from ..room import log  # the room's log, read as this partner sees it
    couple = member.couple
    others = [m for m in couple.members if m.id != member.id]
    sessions = db.session.scalars(select(PracticeSession).where(PracticeSession.couple_id == couple.id)
                                  .order_by(PracticeSession.id)).all()
    return {
        "couple_id": couple.id, "your_seat": member.seat, "joined_at": _iso(member.joined_at),
        "left_at": _iso(member.left_at), "ended_at": _iso(couple.ended_at),
        "partner": others[0].user.display_name if others and others[0].user else None,
        "therapists": [_link(link) for link in db.session.scalars(
            select(TherapistLink).where(TherapistLink.couple_id == couple.id).order_by(TherapistLink.id))],
        "invitations": [{"created_at": _iso(i.created_at), "expires_at": _iso(i.expires_at),
                         "used_at": _iso(i.used_at), "revoked_at": _iso(i.revoked_at)}
                        for i in db.session.scalars(select(Invitation).where(
                            Invitation.couple_id == couple.id, Invitation.created_by_id == member.user_id))],
        "sessions": [{"id": s.public_id, "created_at": _iso(s.created_at), "ended_at": _iso(s.ended_at),
                      "events": log.events_for(s, member.seat)} for s in sessions],
    }


def _link(link: TherapistLink) -> dict:
    who = link.therapist
    return {"therapist": who.display_name if who else None, "therapist_email": who.email if who else None,
            "invited_at": _iso(link.created_at), "consent_a_at": _iso(link.consent_a_at),
            "consent_b_at": _iso(link.consent_b_at), "revoked_at": _iso(link.revoked_at),
            "active": link.active}


def _therapist_part(user: User) -> dict:
    links = db.session.scalars(select(TherapistLink).where(TherapistLink.therapist_id == user.id)
                               .order_by(TherapistLink.id)).all()
    notes = db.session.execute(select(TherapistNote, PracticeSession.public_id).join(
        PracticeSession, PracticeSession.id == TherapistNote.session_id).where(
        TherapistNote.therapist_id == user.id).order_by(TherapistNote.id)).all()
    reads = db.session.execute(select(SignalRead, PracticeSession.public_id).join(
        SessionEvent, SessionEvent.id == SignalRead.event_id).join(
        PracticeSession, PracticeSession.id == SessionEvent.session_id).where(
        SignalRead.therapist_id == user.id).order_by(SignalRead.id)).all()
    return {"links": [{"couple_id": l.couple_id, "invited_at": _iso(l.created_at),
                       "active": l.active, "revoked_at": _iso(l.revoked_at)} for l in links],
            "notes": [{"session": pid, "created_at": _iso(n.created_at), "body": n.body} for n, pid in notes],
            "signals_read": [{"signal": r.event_id, "session": pid, "read_at": _iso(r.read_at)} for r, pid in reads]}


def _entry(e: AuditEntry) -> dict:
    return {"id": e.id, "at": _iso(e.at), "actor_id": e.actor_id, "action": e.action,
            "couple_id": e.couple_id, "subject": e.subject, "detail": e.detail}


# --------------------------------------------------------------------------- who viewed


def views_of_my_sessions(user: User) -> list[dict]:
    """Each time a therapist read or observed one of this partner's couples' sessions, newest first."""
    pairing._require_partner(user)
    couple_ids = list(db.session.scalars(select(CoupleMember.couple_id).where(CoupleMember.user_id == user.id)))
    out = []
    for e in audit.entries_about(couple_ids, audit.VIEW_ACTIONS):
        who = db.session.get(User, e.actor_id) if e.actor_id else None
        out.append({"at": _iso(e.at), "who": who.display_name if who else "Unknown",
                    "role": who.role if who else None, "action": e.action,
                    "what": audit.VIEW_ACTIONS[e.action], "subject": e.subject, "couple_id": e.couple_id})
    return out


# --------------------------------------------------------------------------- deletion


def deletion_preview(user: User) -> dict:
    """What deleting this account would do, in the person's own situation (shown before confirming)."""
    member = access.active_membership(user) if not user.is_therapist else None
    links = access.linked_couple_ids(user) if user.is_therapist else []
    return {"role": user.role, "in_couple": member is not None,
            "partner": _partner_name(member) if member else None,
            "linked_couples": len(links),
            "sessions": len(_my_sessions(user)) if not user.is_therapist else 0}


def _partner_name(member: CoupleMember) -> str | None:
    other = next((m for m in member.couple.members if m.id != member.id), None)
    return other.user.display_name if other and other.user else None


def _my_sessions(user: User) -> list[tuple[PracticeSession, str]]:
    rows = db.session.execute(select(PracticeSession, CoupleMember.seat).join(
        CoupleMember, CoupleMember.couple_id == PracticeSession.couple_id).where(
        CoupleMember.user_id == user.id)).all()
    return [(s, seat) for s, seat in rows]


def delete_account(user: User, password: str, confirm: str) -> None:
    """Check the password and the typed phrase, then anonymise the account (see module doc)."""
    if confirm.strip().lower() != CONFIRM_PHRASE:
        raise DomainError("confirmation_required", f'Type "{CONFIRM_PHRASE}" to confirm.', 422,
                          {"confirm": f'Type "{CONFIRM_PHRASE}" to confirm.'})
    accounts.authenticate(user.email, password)  # bad_credentials (401) when wrong
    user = db.session.get(User, user.id)
    if not user.is_therapist and access.active_membership(user) is not None:
        pairing.leave(user, deleting=True)  # ends the couple and its live session for both, revokes its therapists
    now = utcnow()
    erased_sessions = []
    if user.is_therapist:
        _therapist_leaves(user, now)
    else:
        erased_sessions = _erase_private_events(user)
    for row in db.session.scalars(select(AuthSession).where(AuthSession.user_id == user.id)):
        row.revoked_at, row.label = row.revoked_at or now, None
    tag = secrets.token_hex(6)
    user.email = f"deleted-{user.id}-{tag}@deleted.invalid"
    user.display_name = FORMER.get(user.role, "A former user")
    user.password_hash = "!deleted"  # not an Argon2 hash: every login attempt fails
    user.therapist_code = None
    user.deleted_at = now
    audit.record(user, "account_deleted", None, f"user:{user.id}")
    from ..room import presence
    presence.audience_changed(user_id=user.id)
    db.session.commit()
    presence.cut_lost_sockets([user.id], "account_deleted")
    _scrub(erased_sessions)


def _scrub(session_ids: list[int]) -> None:
    """After the commit: no copy of what was erased stays in this process's memory of the
    sessions, nor in SQLite's write-ahead log."""
    from ..perf import memory
    for session_id in session_ids:
        memory.forget(session_id)
    if not scrub_wal(db.engine):
        log.warning("after an account deletion, a reader kept SQLite's WAL from being truncated; "
                    "it will be overwritten by later checkpoints")


def _erase_private_events(user: User) -> list[int]:
    """Erase what only this partner (and perhaps their therapist) could see; keep what they said
    to their partner. The event row stays, so every viewer's numbering is unchanged. The session
    state loses it too: their safety answer and a private pause reason. Returns the session ids."""
    touched, erased = [], []
    for session, seat in _my_sessions(user):
        touched.append(session.id)
        partner_seat = "b" if seat == "a" else "a"
        for ev in db.session.scalars(select(SessionEvent).where(SessionEvent.session_id == session.id)):
            about_them = ev.seat == seat or (ev.seat is None and (ev.data or {}).get("partner") == seat)
            if about_them and partner_seat not in (ev.audience or []) and ev.data != {"erased": True}:
                ev.data = {"erased": True}
                erased.append(ev.id)
        state = _erase_from_state(session.state or {}, seat)
        if state is not None:
            session.state = state
    for start in range(0, len(erased), 500):  # a therapist's read marks on what is gone (signals.py)
        db.session.execute(delete(SignalRead).where(SignalRead.event_id.in_(erased[start:start + 500])))
    return touched


def _erase_from_state(state: dict, seat: str) -> dict | None:
    """The state without this seat's private values (None: it holds none)."""
    out = dict(state)
    safety = state.get("safety")
    if isinstance(safety, dict) and safety.get(seat) is not None:  # their private answer
        out["safety"] = {**safety, seat: None}
    paused = state.get("paused")
    if paused and paused.get("by") == seat and paused.get("reason"):  # a private reason
        out["paused"] = {**paused, "reason": None}
    if (state.get("flooded") or {}).get(seat):  # from their private ratings
        out["flooded"] = {**state["flooded"], seat: False}
    if (state.get("distress") or {}).get(seat) is not None:  # their latest rating (the calm gate)
        out["distress"] = {**state["distress"], seat: None}
    return out if out != state else None


def _therapist_leaves(user: User, now: datetime) -> None:
    for link in db.session.scalars(select(TherapistLink).where(TherapistLink.therapist_id == user.id,
                                                               TherapistLink.revoked_at.is_(None))):
        link.revoked_at, link.revoked_by_id, link.live_key = now, user.id, None
        audit.record(user, "therapist_revoked", link.couple_id, f"user:{user.id}", {"reason": "account_deleted"})
    for note in db.session.scalars(select(TherapistNote).where(TherapistNote.therapist_id == user.id)):
        db.session.delete(note)
    db.session.execute(delete(SignalRead).where(SignalRead.therapist_id == user.id))
