"""The practice service: the transactions around the pure exercise engine.

Each write loads a session's state, applies the engine, and in ONE transaction bumps the row's
version (`UPDATE ... WHERE version = :seen`, so concurrent writers cannot both win), appends the
events with gap-free `seq`, and records the client's action id (UNIQUE). Only after the commit are
the events handed back for broadcast. Nothing here yields to other greenlets between the first
write and the commit (no emits, no sleeps): SQLite's lock wait would block the whole process.

On the wire a viewer's `seq` is its position in the events it may see (its own gap-free log), so
seq gaps never reveal how many private events (a partner's safety answer) happened in between.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, delete, exists, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import access, accounts
from .errors import DomainError
from .exercises import engine
from .extensions import db
from .models import (AuthSession, ClientAction, Connection, CoupleMember, PracticeSession, SessionEvent,
                     TherapistLink, User, utcnow)

VIEWERS = ("a", "b", "therapist")
USER_KINDS = ("safety", "start_exercise", "submit", "pause", "ready", "end", "timeout")
_VOLATILE = ("server_now", "seconds_left")  # view keys that change with time alone
MAX_TRIES = 3


# --------------------------------------------------------------------------- clock


def now() -> datetime:
    """The practice clock: app.config["CLOCK"] when set (tests), else real UTC time."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def install_test_clock(app) -> None:
    """Let a test shift a served process's clock through COUPLES_CLOCK_FILE (seconds of offset).

    Only with COUPLES_ENV=test; refused outright in production."""
    path = os.environ.get("COUPLES_CLOCK_FILE")
    if not path:
        return
    env = app.config.get("ENV_NAME")
    if env == "production":
        raise RuntimeError("COUPLES_CLOCK_FILE may not be set in production")
    if env != "test":
        return

    def file_clock():
        try:
            offset = float(Path(path).read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return utcnow() + timedelta(seconds=offset)

    app.config["CLOCK"] = file_clock


# --------------------------------------------------------------------------- sessions


def _forbidden():
    return DomainError("forbidden", "You do not have access to this session.", 403)


def find(public_id: str) -> PracticeSession | None:
    return db.session.scalar(select(PracticeSession).where(PracticeSession.public_id == public_id))


def role_in(user: User, session: PracticeSession | None, *, live: bool) -> str:
    """The user's role in the session ('a'|'b'|'therapist'), or `forbidden` (also when unknown)."""
    if session is None:
        raise _forbidden()
    role = access.role_for(user, session.couple, live=live)
    if role is None:
        raise _forbidden()
    return role


def _link_active():
    return and_(TherapistLink.revoked_at.is_(None), TherapistLink.consent_a_at.is_not(None),
                TherapistLink.consent_b_at.is_not(None))


def find_live_role(user: User, public_id: str) -> tuple[PracticeSession, str]:
    """The session and the user's live role in it, in ONE statement (per socket event): the
    same rule as access.role_for(live=True). Raises `forbidden` when unknown or not allowed."""
    if user.is_therapist:
        grant = select(TherapistLink.id).where(
            TherapistLink.couple_id == PracticeSession.couple_id, TherapistLink.therapist_id == user.id,
            _link_active()).limit(1).scalar_subquery()
    else:
        grant = select(CoupleMember.seat).where(
            CoupleMember.active_user_id == user.id,
            CoupleMember.couple_id == PracticeSession.couple_id).limit(1).scalar_subquery()
    found = db.session.execute(select(PracticeSession, grant).where(
        PracticeSession.public_id == public_id).execution_options(populate_existing=True)).first()
    if found is None or found[1] is None:
        raise _forbidden()
    return found[0], "therapist" if user.is_therapist else found[1]


def start_or_get(user: User) -> tuple[PracticeSession, bool]:
    """The couple's one active session, created if there is none. Returns (session, created)."""
    if user.is_therapist:
        raise DomainError("not_a_partner", "Only partners can start a practice session.", 403)
    member = access.active_membership(user)
    if member is None:
        raise DomainError("not_in_couple", "You are not in a couple.", 409)
    existing = _active_for(member.couple_id)
    if existing is not None:
        return existing, False
    session = PracticeSession(couple_id=member.couple_id, started_by_id=user.id,
                              state=engine.new_state(), version=0, last_seq=0,
                              active_couple_id=member.couple_id, created_at=now())
    db.session.add(session)
    try:
        db.session.commit()
    except IntegrityError:  # the other partner pressed start in the same instant: theirs wins
        db.session.rollback()
        return _active_for(member.couple_id), False
    return session, True


def end_for_couple(user: User, seat: str, couple_id: int) -> Outcome | None:
    """End the couple's live session as `seat` (when the couple ends): a logged session_ended,
    so the transcript shows why it stopped. Commits; returns the outcome to broadcast."""
    session = _active_for(couple_id)
    if session is None:
        return None
    return apply_action(user, session.id, seat, None, "end", None, {})


def _active_for(couple_id: int) -> PracticeSession | None:
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


def summary(session: PracticeSession, viewer: str) -> dict:
    """The session as a client sees it (never its raw state)."""
    names = {m.seat: m.user.display_name if m.user else None for m in session.couple.members}
    return {"id": session.public_id, "created_at": _iso(session.created_at),
            "ended_at": _iso(session.ended_at), "active": session.ended_at is None,
            "role": viewer, "partners": names}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


# --------------------------------------------------------------------------- applying actions


@dataclass
class Outcome:
    """A committed change (or a refusal): the ack for the actor and what to broadcast."""

    session_id: int
    public_id: str = ""
    ack: dict | None = None
    events: list = field(default_factory=list)  # {seq, type, actor, data, audience, at}
    base: dict = field(default_factory=dict)  # viewer -> events it had seen before these
    views: dict = field(default_factory=dict)  # viewer -> new view (only viewers whose view changed)
    ended: bool = False


class _Conflict(Exception):
    """Another writer changed the session first: re-read and try again."""


def apply_action(user: User, session_id: int, role: str, client_id: str | None, kind: str,
                 step: str | None, payload: dict, loaded: PracticeSession | None = None) -> Outcome:
    """Apply a partner's action in one transaction; retried when another writer won the race.

    `loaded`: the session row just read in this transaction (saves re-reading it on the first
    try; a stale row only loses the versioned UPDATE and is re-read on the retry)."""
    if kind not in USER_KINDS:
        raise DomainError("bad_action", "Unknown action.", 400, {"kind": "Unknown action."})
    if loaded is not None and loaded.id != session_id:
        loaded = None
    for _ in range(MAX_TRIES):
        try:
            return _apply_once(user, session_id, role, client_id, kind, step, payload, loaded)
        except _Conflict:
            db.session.rollback()
            loaded = None
    raise DomainError("busy", "The session is busy; please try again.", 503)


def _apply_once(user, session_id, role, client_id, kind, step, payload, loaded=None) -> Outcome:
    row = loaded if loaded is not None else _load(session_id)
    if client_id:
        original = _client_action(session_id, user.id, client_id)
        if original is not None:
            return _duplicate(session_id, role, original)
    at = now()
    state, events = row.state, []
    due = engine.deadline(state)
    if due is not None and at >= due:  # the lazy check: a due timer fires before anything else
        fired = engine.apply(state, engine.Action("timer", None, {}, at))
        state, events = fired.state, list(fired.events)
    try:
        result = engine.apply(state, engine.Action(kind, role, payload, at, step))
    except engine.EngineError as err:
        error = {"ok": False, "error": {"code": err.code, "message": err.message, "fields": err.fields}}
        if not events:
            db.session.rollback()
            return Outcome(session_id, ack=error)
        try:  # the timer still fires; the action is refused
            outcome = _write(row, state, events, at)
        except IntegrityError:
            raise _Conflict from None
        outcome.ack = error
        return outcome
    events.extend(result.events)
    try:
        outcome = _write(row, result.state, events, at, user, client_id)
    except IntegrityError:
        db.session.rollback()
        original = client_id and _client_action(session_id, user.id, client_id)
        if original:
            return _duplicate(session_id, role, original)
        raise _Conflict from None
    mine = outcome.base.get(role, 0) + sum(role in e["audience"] for e in outcome.events)
    outcome.ack = {"ok": True, "seq": mine}
    return outcome


def _load(session_id: int) -> PracticeSession:
    row = db.session.get(PracticeSession, session_id, populate_existing=True)
    if row is None:
        raise _forbidden()
    return row


def _client_action(session_id, user_id, client_id) -> ClientAction | None:
    return db.session.scalar(select(ClientAction).where(
        ClientAction.session_id == session_id, ClientAction.user_id == user_id,
        ClientAction.client_id == client_id))


def _duplicate(session_id, role, original: ClientAction) -> Outcome:
    seq = _visible_count(session_id, role, upto=original.seq)
    db.session.rollback()
    return Outcome(session_id, ack={"ok": True, "seq": seq, "duplicate": True})


def _write(row: PracticeSession, state: dict, events: list, at: datetime,
           user: User | None = None, client_id: str | None = None) -> Outcome:
    """Bump the version (or raise _Conflict), append the events, record the client id, commit."""
    session_id, public_id, seen, first = row.id, row.public_id, row.version, row.last_seq + 1
    base = seen_counts(row)  # each viewer's count before these events (its last seq on the wire)
    after = dict(base)
    for e in events:
        for viewer in e["audience"]:
            if viewer in after:
                after[viewer] += 1
    old_state = row.state
    ended = state.get("phase") == "ended" and row.ended_at is None
    values = {"state": state, "version": seen + 1, "last_seq": row.last_seq + len(events),
              "deadline_at": engine.deadline(state), "seen_a": after["a"], "seen_b": after["b"],
              "seen_therapist": after["therapist"]}
    if ended:
        values.update(ended_at=at, active_couple_id=None)
    # Everything below runs without yielding until the commit (see the module docstring).
    claimed = db.session.execute(update(PracticeSession).where(
        PracticeSession.id == row.id, PracticeSession.version == seen).values(**values),
        execution_options={"synchronize_session": False})
    if claimed.rowcount != 1:
        raise _Conflict
    stored = []
    for i, e in enumerate(events):
        db.session.add(SessionEvent(session_id=row.id, seq=first + i, type=e["type"], seat=e["actor"],
                                    actor_id=user.id if user is not None and e["actor"] else None,
                                    audience=list(e["audience"]), data=e["data"], created_at=at))
        stored.append({"seq": first + i, "type": e["type"], "actor": e["actor"], "data": e["data"],
                       "audience": list(e["audience"]), "at": at.isoformat()})
    if client_id:
        db.session.add(ClientAction(session_id=row.id, user_id=user.id, client_id=client_id,
                                    seq=values["last_seq"], created_at=at))
    db.session.commit()
    return Outcome(session_id, public_id, events=stored, base=base, views=_changed_views(old_state, state, at),
                   ended=ended)


def _changed_views(old: dict, new: dict, at: datetime) -> dict:
    """The new view of each viewer whose view changed (nobody is told that nothing changed)."""
    out = {}
    for viewer in VIEWERS:
        before, after = engine.view(old, viewer, at), engine.view(new, viewer, at)
        if _stable(before) != _stable(after):
            out[viewer] = after
    return out


def _stable(view: dict) -> dict:
    return {k: v for k, v in view.items() if k not in _VOLATILE}


# --------------------------------------------------------------------------- timers


def due_sessions(limit: int = 50) -> list[int]:
    """Ids of live sessions whose timer has fallen due."""
    return list(db.session.scalars(select(PracticeSession.id).where(
        PracticeSession.deadline_at <= now(), PracticeSession.ended_at.is_(None)).order_by(
        PracticeSession.deadline_at).limit(limit)))


def fire_timer(session_id: int) -> Outcome | None:
    """Fire one due timer, exactly once across processes: the versioned UPDATE is the claim
    (on PostgreSQL the row is also taken FOR UPDATE SKIP LOCKED, so a busy row is left alone)."""
    at = now()
    row = db.session.scalar(select(PracticeSession).where(
        PracticeSession.id == session_id, PracticeSession.deadline_at <= at).with_for_update(
        skip_locked=True).execution_options(populate_existing=True))
    if row is None:
        db.session.rollback()
        return None
    try:
        result = engine.apply(row.state, engine.Action("timer", None, {}, at))
    except engine.EngineError:  # not due in the state (a pause, or already fired): clear the column
        db.session.execute(update(PracticeSession).where(
            PracticeSession.id == row.id, PracticeSession.version == row.version).values(
            deadline_at=engine.deadline(row.state)), execution_options={"synchronize_session": False})
        db.session.commit()
        return None
    try:
        return _write(row, result.state, result.events, at)
    except _Conflict:
        db.session.rollback()
        return None


# --------------------------------------------------------------------------- reading the log


def _audiences(session_id: int, upto: int | None = None, after: int = 0):
    query = select(SessionEvent.seq, SessionEvent.audience).where(
        SessionEvent.session_id == session_id, SessionEvent.seq > after)
    if upto is not None:
        query = query.where(SessionEvent.seq <= upto)
    return db.session.execute(query.order_by(SessionEvent.seq)).all()


def seen_counts(row: PracticeSession) -> dict:
    """How many events each viewer may see in the row's log (kept with the row's version)."""
    return {"a": row.seen_a or 0, "b": row.seen_b or 0, "therapist": row.seen_therapist or 0}


def _visible_counts(session_id: int, upto: int) -> dict:
    counts = dict.fromkeys(VIEWERS, 0)
    for _, audience in _audiences(session_id, upto):
        for viewer in audience:
            if viewer in counts:
                counts[viewer] += 1
    return counts


def _visible_count(session_id: int, viewer: str, upto: int) -> int:
    return _visible_counts(session_id, upto)[viewer]


def events_for(session: PracticeSession, viewer: str, after: int = 0, limit: int | None = None,
               upto: int | None = None) -> list[dict]:
    """The viewer's events after its `after` (viewer seq), in order, numbered in its own log."""
    query = select(SessionEvent).where(SessionEvent.session_id == session.id)
    if upto is not None:
        query = query.where(SessionEvent.seq <= upto)
    rows = db.session.scalars(query.order_by(SessionEvent.seq)).all()
    out, n = [], 0
    for ev in rows:
        if viewer not in ev.audience:
            continue
        n += 1
        if n <= after:
            continue
        out.append(public_event(n, ev.type, ev.seat, ev.data, ev.created_at))
        if limit is not None and len(out) >= limit:
            break
    return out


def public_event(seq: int, type_: str, actor, data, at) -> dict:
    return {"seq": seq, "type": type_, "actor": actor, "data": data,
            "at": at.isoformat() if isinstance(at, datetime) else at}


def snapshot(session: PracticeSession, viewer: str, last_seq: int = 0) -> tuple[dict, list]:
    """The state a (re)joining client needs, and the events it missed since `last_seq`."""
    db.session.refresh(session)
    at = now()
    events = events_for(session, viewer, upto=session.last_seq)
    missed = [e for e in events if e["seq"] > last_seq]
    snap = {"session": summary(session, viewer), "view": engine.view(session.state, viewer, at),
            "presence": presence(session.id), "server_now": at.isoformat(),
            "last_seq": events[-1]["seq"] if events else 0}
    return snap, missed


# --------------------------------------------------------------------------- transcripts


def transcript(session: PracticeSession, viewer: str) -> dict:
    """A readable transcript per exercise: a fold over the events the viewer may see."""
    names = summary(session, viewer)["partners"]
    segments, stack, general = [], [], []

    def open_segment(ev):
        seg = {"exercise": ev["data"].get("exercise"), "title": ev["data"].get("title"),
               "started_at": ev["at"], "ended_at": None, "status": "running", "entries": []}
        segments.append(seg)
        stack.append(seg)
        return seg

    for ev in events_for(session, viewer):
        kind = ev["type"]
        if kind == "exercise_started":
            open_segment(ev)
        current = stack[-1] if stack else None
        entry = {"seq": ev["seq"], "at": ev["at"], "type": kind, "actor": ev["actor"],
                 "line": _line(ev, names)}
        (current["entries"] if current else general).append(entry)
        if kind in ("exercise_completed", "exercise_abandoned") and stack:
            done = stack.pop()
            done["status"] = "completed" if kind == "exercise_completed" else "abandoned"
            done["ended_at"] = ev["at"]
        elif kind == "exercise_interrupted" and current:
            current["status"] = "interrupted"
        elif kind == "exercise_resumed" and current:
            current["status"] = "running"
        elif kind == "session_ended":
            for seg in stack:
                seg["status"], seg["ended_at"] = "ended", ev["at"]
            stack.clear()
    return {"session": summary(session, viewer), "exercises": segments, "general": general}


def _who(seat, names) -> str:
    if seat is None:
        return "The session"
    return names.get(seat) or f"Partner {seat.upper()}"


def _step_title(exercise, step) -> str:
    ex = engine.EXERCISES.get(exercise)
    try:
        return ex.step(step).title or step if ex else step
    except KeyError:
        return step


def _line(ev: dict, names: dict) -> str:
    """One sentence a person can read for an event (the data stays alongside for details)."""
    d, who, kind = ev["data"], _who(ev["actor"], names), ev["type"]
    if kind in ("step_submitted", "step_logged"):
        answers = "; ".join(f"{k}: {v}" for k, v in (d.get("data") or {}).items())
        return f"{_who(d.get('by'), names)} ({_step_title(d.get('exercise'), d.get('step'))}): {answers}"
    if kind == "exercise_started":
        return f"{d.get('title') or d.get('exercise')} started."
    if kind == "step_started":
        return f"Step: {_step_title(d.get('exercise'), d.get('step'))}."
    if kind == "speaker_chosen":
        return f"{_who(d.get('speaker'), names)} speaks first."
    if kind == "roles_swapped":
        return f"Roles swapped: {_who(d.get('speaker'), names)} speaks now."
    if kind == "timer_started":
        return f"Timer set for {d.get('minutes')} minutes (until {d.get('deadline_at')})."
    if kind == "paused":
        return f"{who} paused the session."
    if kind in ("pause_reason", "end_reason"):
        return f"{who}'s private reason: {d.get('reason')}"
    if kind == "safety_answered":
        return f"{who} answered the safety question: {'safe' if d.get('safe') else 'not safe'}."
    if kind == "safety_concern":
        return f"{_who(d.get('partner'), names)} said it does not feel safe right now."
    if kind == "session_ended":
        return f"Session ended ({d.get('reason')})."
    text = kind.replace("_", " ").capitalize()
    return f"{text}." if not d else f"{text}: " + ", ".join(f"{k}={v}" for k, v in d.items())


# --------------------------------------------------------------------------- presence


def _fresh_after() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["PRESENCE_TTL"])


def open_connection(sid: str, user: User, auth_row_id: int, process: str) -> None:
    db.session.merge(Connection(sid=sid, user_id=user.id, auth_session_id=auth_row_id,
                                session_id=None, role=None, process=process,
                                connected_at=utcnow(), last_seen_at=utcnow()))
    db.session.commit()


def connection(sid: str) -> Connection | None:
    return db.session.get(Connection, sid, populate_existing=True)


def enter(sid: str, session: PracticeSession, role: str) -> int | None:
    """Mark the socket as in this session's room; returns the session it left, if any."""
    conn = connection(sid)
    left = conn.session_id if conn.session_id != session.id else None
    conn.session_id, conn.role, conn.last_seen_at = session.id, role, utcnow()
    db.session.commit()
    return left


def leave(sid: str) -> int | None:
    conn = connection(sid)
    if conn is None or conn.session_id is None:
        return None
    left, conn.session_id, conn.role = conn.session_id, None, None
    db.session.commit()
    return left


def close_connection(sid: str) -> int | None:
    """Forget a socket; returns the session it was in (for a presence update)."""
    conn = connection(sid)
    if conn is None:
        return None
    session_id = conn.session_id
    db.session.delete(conn)
    db.session.commit()
    return session_id


def touch(sid: str) -> None:
    db.session.execute(update(Connection).where(Connection.sid == sid).values(last_seen_at=utcnow()))
    db.session.commit()


def refresh_process(process: str) -> None:
    """Renew this process's leases (a third of the TTL before they would lapse)."""
    ttl = current_app.config["PRESENCE_TTL"]
    stamp = utcnow()
    db.session.execute(update(Connection).where(
        Connection.process == process,
        Connection.last_seen_at < stamp - timedelta(seconds=ttl / 3)).values(last_seen_at=stamp))
    db.session.commit()


def purge_stale() -> set[int]:
    """Delete expired leases (a crashed process's sockets); returns the sessions affected."""
    cutoff = _fresh_after()
    affected = set(db.session.scalars(select(Connection.session_id).where(
        Connection.last_seen_at < cutoff, Connection.session_id.is_not(None))))
    db.session.execute(delete(Connection).where(Connection.last_seen_at < cutoff))
    db.session.commit()
    return affected


def presence(session_id: int) -> dict:
    """Who is connected to the session, in which role, on how many devices (fresh leases only)."""
    rows = db.session.execute(select(Connection.role, Connection.user_id).where(
        Connection.session_id == session_id, Connection.last_seen_at >= _fresh_after())).all()
    devices = dict.fromkeys(VIEWERS, 0)
    for role, _ in rows:
        if role in devices:
            devices[role] += 1
    return {"a": {"online": devices["a"] > 0, "devices": devices["a"]},
            "b": {"online": devices["b"] > 0, "devices": devices["b"]},
            "therapist": {"observing": devices["therapist"] > 0, "devices": devices["therapist"]}}


def lost_connections(process: str) -> list[tuple[str, str]]:
    """This process's sockets whose login ended or whose role in their session was lost,
    as (sid, reason): a logout, leaving the couple, or a revoked consent.

    Set-based: two statements per pass, whatever the number of sockets, returning only the lost
    sids. The rules are accounts.is_live and access.role_for(live=True), written in SQL."""
    at = utcnow()
    idle_cutoff = at - current_app.config["SESSION_IDLE_TIMEOUT"]
    mine = Connection.process == process
    login_ended = or_(
        AuthSession.id.is_(None), User.id.is_(None), AuthSession.user_id != Connection.user_id,
        AuthSession.revoked_at.is_not(None), AuthSession.expires_at <= at, User.deleted_at.is_not(None),
        and_(AuthSession.kind == "cookie", AuthSession.last_seen_at < idle_cutoff))
    logged_out = set(db.session.scalars(select(Connection.sid).outerjoin(
        AuthSession, AuthSession.id == Connection.auth_session_id).outerjoin(
        User, User.id == AuthSession.user_id).where(mine, login_ended)))
    partner_seat = exists().where(CoupleMember.active_user_id == Connection.user_id,
                                  CoupleMember.couple_id == PracticeSession.couple_id,
                                  CoupleMember.seat == Connection.role)
    observer_link = exists().where(TherapistLink.couple_id == PracticeSession.couple_id,
                                   TherapistLink.therapist_id == Connection.user_id, _link_active())
    role_kept = or_(and_(User.role == "therapist", Connection.role == "therapist", observer_link),
                    and_(User.role != "therapist", partner_seat))
    revoked = db.session.scalars(select(Connection.sid).join(
        User, User.id == Connection.user_id).outerjoin(
        PracticeSession, PracticeSession.id == Connection.session_id).where(
        mine, Connection.session_id.is_not(None), or_(PracticeSession.id.is_(None), not_(role_kept))))
    lost = [(sid, "logged_out") for sid in sorted(logged_out)]
    lost += [(sid, "access_revoked") for sid in sorted(set(revoked) - logged_out)]
    db.session.rollback()
    return lost
