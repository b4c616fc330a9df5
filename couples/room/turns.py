"""A turn: everything that changes a session goes through here, around the pure exercise engine.

`act` takes a socket's action and returns an Outcome (the actor's ack, and what to broadcast to
whom); `fire_timer`, `apply_system` (a therapist's hold) and `end_for_couple` are the other ways a
session changes. Each loads
the session's state, applies the engine, and writes through the one store (room/store.py),
retrying when another writer won the race. Only after the commit are the events handed back.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import DomainError
from ..exercises import engine
from ..extensions import db
from ..models import ClientAction, PracticeSession
from ..perf import memory
from . import log, presence
from .clock import now
from .sessions import VIEWERS, active_for, forbidden
from .store import Conflict, SessionRow, Write, Written, store

USER_KINDS = engine.USER_KINDS
_VOLATILE = ("server_now", "seconds_left")  # view keys that change with time alone
MAX_TRIES = 3


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
    # A resent action: its first answer, and perhaps its broadcast, was lost (the commit may
    # have succeeded while the reply failed), so tell every viewer how far its log goes now.
    catch_up: bool = False
    audience_epoch: int | None = None  # the audience the write was made for (None: ask now)


def unauthenticated() -> DomainError:
    return DomainError("unauthenticated", "Your login has ended. Please log in again.", 401)


# --------------------------------------------------------------------------- a socket's action


def act(sid: str, action: dict) -> Outcome:
    """A socket's validated `action` ({session_id, id, kind, step, data}), applied once, or
    refused with a DomainError (`unauthenticated` when the socket's login has ended)."""
    fast = _joined_turn(sid, action)
    if fast is not None:
        return fast
    me = presence.identify(sid, action["session_id"], action["id"])
    if me is None:
        raise unauthenticated()
    session, role = me.target, me.target_role
    if session is None or role is None:
        raise forbidden()
    if me.session_id != session.id or me.role != role:
        raise DomainError("not_joined", "Join the session first.", 409)
    if role == "therapist":
        raise DomainError("observer_read_only", "Observers can watch but not act.", 403)
    return apply(me.id, session.id, role, action["id"], action["kind"], action["step"], action["data"],
                 loaded=session)


def apply(user_id: int | None, session_id: int, role: str, client_id: str | None, kind: str,
          step: str | None, payload: dict, loaded: SessionRow | None = None) -> Outcome:
    """Apply a partner's action; retried when another writer won the race. `loaded`: the row
    just read (saves reading it again on the first try; a stale row only loses the claim)."""
    if kind not in USER_KINDS:
        raise DomainError("bad_action", "Unknown action.", 400, {"kind": "Unknown action."})
    if loaded is not None and loaded.id != session_id:
        loaded = None
    for _ in range(MAX_TRIES):
        try:
            return _apply_once(user_id, session_id, role, client_id, kind, step, payload, loaded)
        except Conflict:
            db.session.rollback()
            loaded = None
    raise DomainError("busy", "The session is busy; please try again.", 503)


def _apply_once(user_id, session_id, role, client_id, kind, step, payload, row) -> Outcome:
    row = row if row is not None else store().load(session_id, user_id, client_id)
    if row is None:
        raise forbidden()
    if client_id and row.duplicate_of is not None:
        return _duplicate(row, role, row.duplicate_of)
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
        db.session.rollback()
        if not events:
            return Outcome(session_id, ack=error)
        try:  # the timer still fires; the action is refused
            outcome = _write(Write(row, state, events, at))
        except IntegrityError:
            raise Conflict() from None
        outcome.ack = error
        return outcome
    try:
        outcome = _write(Write(row, result.state, events + list(result.events), at, user_id, client_id))
    except IntegrityError:  # the action id was recorded meanwhile: answer with the original
        db.session.rollback()
        original = client_id and db.session.scalar(select(ClientAction.seq).where(
            ClientAction.session_id == session_id, ClientAction.user_id == user_id,
            ClientAction.client_id == client_id))
        if original:
            return _duplicate(None, role, original, session_id)
        raise Conflict() from None
    _acknowledge(outcome, role)
    return outcome


def _acknowledge(outcome: Outcome, role: str) -> None:
    """The actor's ack: its own seq of the last event it may see."""
    mine = outcome.base.get(role, 0) + sum(role in e["audience"] for e in outcome.events)
    outcome.ack = {"ok": True, "seq": mine}


def _duplicate(row: SessionRow | None, role: str, original_seq: int, session_id: int | None = None) -> Outcome:
    """The original's answer, and each viewer's count now (`catch_up`): a client behind it rejoins."""
    session_id = row.id if row is not None else session_id
    seq = log.visible_count(session_id, role, upto=original_seq)
    if row is None:  # the duplicate raced this write: the session as it is now
        row = db.session.get(PracticeSession, session_id, populate_existing=True)
    outcome = Outcome(session_id, row.public_id, ack={"ok": True, "seq": seq, "duplicate": True},
                      base=log.seen_counts(row), catch_up=True)
    db.session.rollback()
    return outcome


def _write(write: Write, alone: bool = True) -> Outcome:
    """Write through the store; the Outcome to broadcast, and this process remembers the row."""
    return _outcome(write, store().append(write, alone=alone))


def _outcome(write: Write, written: Written) -> Outcome:
    row, at = write.row, write.at
    first = row.last_seq + 1
    events = [{"seq": first + i, "type": e["type"], "actor": e["actor"], "data": e["data"],
               "audience": list(e["audience"]), "at": at.isoformat()} for i, e in enumerate(write.events)]
    changed, views = _changed_views(row.state, write.state, at, row.views)
    memory.remember(written.row.with_views(views))
    return Outcome(row.id, row.public_id, events=events, base=row.seen(), views=changed,
                   ended=write.ends(), audience_epoch=written.audience_epoch)


def _changed_views(old: dict, new: dict, at: datetime, before: dict | None = None) -> tuple[dict, dict]:
    """The new view of each viewer whose view changed (nobody is told that nothing changed), and
    every viewer's new view without its time-only keys. `before`: that, for `old`, when this
    process kept it from the write that made `old` (it is what the viewers were last sent)."""
    changed, stable = {}, {}
    for viewer in VIEWERS:
        after = engine.view(new, viewer, at)
        stable[viewer] = _stable(after)
        if stable[viewer] != (before[viewer] if before else _stable(engine.view(old, viewer, at))):
            changed[viewer] = after
    return changed, stable


def _stable(view: dict) -> dict:
    return {k: v for k, v in view.items() if k not in _VOLATILE}


# --------------------------------------------------------------------------- the joined turn (perf)


def _joined_turn(sid: str, action: dict) -> Outcome | None:
    """A joined partner's action in ONE statement (perf/memory.py), or None: take the usual way.

    A lost race returns the current row in the same statement, and the turn is applied again on
    it. Everything that needs a precise answer goes the usual way, which reads afresh: a refusal
    by the engine, a due timer, an action id already used, or access that is gone."""
    recalled = memory.recall(sid, action["session_id"])
    if recalled is None or action["kind"] not in USER_KINDS:
        return None
    joined, row = recalled
    for _ in range(MAX_TRIES):
        at = now()
        due = engine.deadline(row.state)
        if due is not None and at >= due:
            return None
        try:
            result = engine.apply(row.state, engine.Action(action["kind"], joined.role, action["data"], at,
                                                           action["step"]))
        except engine.EngineError:
            return None
        try:
            outcome = _write(Write(row, result.state, list(result.events), at, joined.user_id, action["id"], joined))
        except IntegrityError:  # the action id was used before: the usual way answers with the original
            return None
        except Conflict as lost:
            found = lost.found
            if lost.access_lost or found is None or found.version <= row.version:
                return None
            row = replace(found, public_id=row.public_id)
            memory.remember(row)
            continue
        _acknowledge(outcome, joined.role)
        return outcome
    return None


# --------------------------------------------------------------------------- timers and endings


def due_sessions(limit: int = 50) -> list[int]:
    """Ids of live sessions whose timer has fallen due (the sweeper asks twice a second)."""
    return list(db.session.scalars(select(PracticeSession.id).where(
        PracticeSession.deadline_at <= now(), PracticeSession.ended_at.is_(None)).order_by(
        PracticeSession.deadline_at).limit(limit)))


def fire_timer(session_id: int) -> Outcome | None:
    """Fire one due timer, exactly once across processes: the versioned UPDATE is the claim
    (on PostgreSQL the row is also taken FOR UPDATE SKIP LOCKED, so a busy row is left alone)."""
    at = now()
    locked = db.session.scalar(select(PracticeSession).where(
        PracticeSession.id == session_id, PracticeSession.deadline_at <= at).with_for_update(
        skip_locked=True).execution_options(populate_existing=True))
    if locked is None:
        db.session.rollback()
        return None
    row = SessionRow(*(getattr(locked, name) for name in (
        "id", "public_id", "couple_id", "state", "version", "last_seq", "ended_at", "seen_a", "seen_b",
        "seen_therapist")))
    try:
        result = engine.apply(row.state, engine.Action("timer", None, {}, at))
    except engine.EngineError:  # not due in the state (a pause, or already fired): clear the column
        db.session.execute(update(PracticeSession).where(
            PracticeSession.id == row.id, PracticeSession.version == row.version).values(
            deadline_at=engine.deadline(row.state)), execution_options={"synchronize_session": False})
        db.session.commit()
        return None
    try:
        return _write(Write(row, result.state, list(result.events), at), alone=False)  # we hold its lock
    except Conflict:
        db.session.rollback()
        return None


def apply_system(session_id: int, kind: str) -> Outcome | None:
    """A system action other than the timer (a therapist's "hold" or "release": holds.py) on a
    session, in the caller's transaction, which the write commits with it; a due timer fires
    first, as for any action. None, with nothing written or committed, when the engine has nothing
    to change (already so, or the session has ended). Raises Conflict when another writer won:
    the caller rolls back and tries again, reading afresh."""
    row = store().load(session_id, None, None)
    if row is None:
        return None
    at = now()
    state, events = row.state, []
    due = engine.deadline(state)
    if due is not None and at >= due:
        fired = engine.apply(state, engine.Action("timer", None, {}, at))
        state, events = fired.state, list(fired.events)
    try:
        result = engine.apply(state, engine.Action(kind, None, {}, at))
    except engine.EngineError:
        return None  # a due timer is left to the sweeper
    try:
        return _write(Write(row, result.state, events + list(result.events), at), alone=False)
    except IntegrityError:
        raise Conflict() from None


def end_for_couple(user, seat: str, couple_id: int) -> Outcome | None:
    """End the couple's live session as `seat` (when the couple ends): a logged session_ended,
    so the transcript shows why it stopped. Commits; returns the outcome to broadcast."""
    session = active_for(couple_id)
    if session is None:
        return None
    return apply(user.id, session.id, seat, None, "end", None, {})
