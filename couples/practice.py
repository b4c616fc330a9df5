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

import functools
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import (BigInteger, Boolean, Integer, String, Text, and_, bindparam, delete, exists, insert, literal,
                        not_, or_, select, text, update)
from sqlalchemy.exc import IntegrityError

from . import access, accounts, jsontext
from .database import Prepared
from .errors import DomainError
from .exercises import engine
from .extensions import db
from .models import (AuthSession, ClientAction, Connection, CoupleMember, PracticeSession, SessionEvent,
                     TherapistLink, User, utcnow)

VIEWERS = ("a", "b", "therapist")
USER_KINDS = ("safety", "start_exercise", "submit", "pause", "ready", "end", "timeout")
_VOLATILE = ("server_now", "seconds_left")  # view keys that change with time alone
MAX_TRIES = 3
LOGIN_TOUCH_EVERY = 60  # seconds: socket activity renews a login's last-seen stamp at most this often


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


def _link_active():
    return and_(TherapistLink.revoked_at.is_(None), TherapistLink.consent_a_at.is_not(None),
                TherapistLink.consent_b_at.is_not(None))


def _grant(user_id, therapist: bool):
    """The user's live role in the session row being selected: the active seat of a partner, or
    'therapist' for a consented, unrevoked link (the rule of access.role_for(live=True))."""
    if therapist:
        return select(literal("therapist")).where(
            TherapistLink.couple_id == PracticeSession.couple_id, TherapistLink.therapist_id == user_id,
            _link_active()).limit(1).scalar_subquery()
    return select(CoupleMember.seat).where(
        CoupleMember.active_user_id == user_id,
        CoupleMember.couple_id == PracticeSession.couple_id).limit(1).scalar_subquery()


def find_live_role(user: User, public_id: str) -> tuple[PracticeSession, str]:
    """The session and the user's live role in it, in ONE statement: the same rule as
    access.role_for(live=True). Raises `forbidden` when unknown or not allowed."""
    found = db.session.execute(select(PracticeSession, _grant(user.id, user.is_therapist)).where(
        PracticeSession.public_id == public_id).execution_options(populate_existing=True)).first()
    if found is None or found[1] is None:
        raise forbidden()
    return found[0], found[1]


# The hot path of every turn is plain Core statements, built once with bind parameters: building
# and ORM-loading them per event cost more CPU than the database did (bench/query_cost.py).
_ROW_COLUMNS = ("id", "public_id", "couple_id", "state", "version", "last_seq", "ended_at",
                "seen_a", "seen_b", "seen_therapist")


@functools.cache
def _session_query():
    """The session columns a write needs and the seq of an earlier action with the same client id
    (NULL when new), in one SELECT (a retry after a lost race re-reads this)."""
    table = PracticeSession.__table__
    duplicate = select(ClientAction.seq).where(
        ClientAction.session_id == table.c.id, ClientAction.user_id == bindparam("user_id"),
        ClientAction.client_id == bindparam("client_id")).scalar_subquery()
    return select(*(table.c[name] for name in _ROW_COLUMNS), duplicate.label("duplicate_of")).where(
        table.c.id == bindparam("session_id"))


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
    # A resent action: its first answer, and perhaps its broadcast, was lost (the commit may
    # have succeeded while the reply failed), so tell every viewer how far its log goes now.
    catch_up: bool = False


class _Conflict(Exception):
    """Another writer changed the session first: re-read and try again. `found`: what the
    write statement returned (for a joined partner's turn, the row as it is now)."""

    def __init__(self, found=None):
        super().__init__()
        self.found = found


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
    row = loaded if loaded is not None else _load(session_id, user, client_id)
    if client_id and row.duplicate_of is not None:
        return _duplicate(session_id, role, row.duplicate_of, row)
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
            return _duplicate(session_id, role, original.seq)
        raise _Conflict from None
    _acknowledge(outcome, role)
    return outcome


def _acknowledge(outcome: Outcome, role: str) -> None:
    """The actor's ack: its own seq of the last event it may see."""
    mine = outcome.base.get(role, 0) + sum(role in e["audience"] for e in outcome.events)
    outcome.ack = {"ok": True, "seq": mine}


def _load(session_id: int, user, client_id: str | None):
    row = db.session.connection().execute(_session_query(), {
        "session_id": session_id, "user_id": user.id if user is not None else None,
        "client_id": client_id}).first()
    if row is None:
        raise forbidden()
    return row


def _client_action(session_id, user_id, client_id) -> ClientAction | None:
    return db.session.scalar(select(ClientAction).where(
        ClientAction.session_id == session_id, ClientAction.user_id == user_id,
        ClientAction.client_id == client_id))


def _duplicate(session_id, role, original_seq: int, row=None) -> Outcome:
    """The original's answer, and each viewer's count now (`catch_up`): a client behind it rejoins."""
    seq = _visible_count(session_id, role, upto=original_seq)
    if row is None:  # the duplicate raced this write: the session as it is now
        row = db.session.get(PracticeSession, session_id, populate_existing=True)
    outcome = Outcome(session_id, row.public_id, ack={"ok": True, "seq": seq, "duplicate": True},
                      base=seen_counts(row), catch_up=True)
    db.session.rollback()
    return outcome


def _write(row: PracticeSession, state: dict, events: list, at: datetime,
           user: User | None = None, client_id: str | None = None, joined: Joined | None = None) -> Outcome:
    """Bump the version (or raise _Conflict), append the events, record the client id, commit.

    `joined` (PostgreSQL only): the same statement also re-checks that socket's access, and on
    a lost race hands back the row as it is now (on the _Conflict)."""
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
    stored, rows = [], []
    for i, e in enumerate(events):
        rows.append({"session_id": row.id, "seq": first + i, "type": e["type"], "seat": e["actor"],
                     "actor_id": user.id if user is not None and e["actor"] else None,
                     "audience": list(e["audience"]), "data": e["data"], "created_at": at})
        stored.append({"seq": first + i, "type": e["type"], "actor": e["actor"], "data": e["data"],
                       "audience": list(e["audience"]), "at": at.isoformat()})
    client = client_id and {"session_id": row.id, "user_id": user.id, "client_id": client_id,
                            "seq": values["last_seq"], "created_at": at}
    # Everything below runs without yielding until the commit (see the module docstring).
    if joined is not None:  # one statement by itself, no Session (Prepared.run_alone; apply_joined checks it can)
        found = _append_postgresql(None, row.id, seen, values, rows, client, at, joined)
        if not found[0]:
            raise _Conflict(found)
    else:
        core = db.session.connection()
        if core.dialect.name == "postgresql":
            found = _append_postgresql(core, row.id, seen, values, rows, client, at, joined)
        else:
            found = _append_portable(core, row.id, seen, values, rows, client, at)
        if not found[0]:
            raise _Conflict(found)
        db.session.commit()
    changed, views = _changed_views(old_state, state, at, getattr(row, "views", None))
    _remember(_Target(session_id, public_id, row.couple_id, state, seen + 1, values["last_seq"],
                      values.get("ended_at", row.ended_at), after["a"], after["b"], after["therapist"], None, views))
    return Outcome(session_id, public_id, events=stored, base=base, views=changed, ended=ended)


_INSERT_EVENTS = insert(SessionEvent.__table__)
_INSERT_CLIENT_ACTION = insert(ClientAction.__table__)


def _append_portable(core, session_id, seen, values, rows, client, at) -> tuple:
    """The versioned UPDATE, then the inserts: three statements (SQLite). Returns (claimed,)."""
    claimed = core.execute(_claim(tuple(values)), {"b_id": session_id, "b_version": seen,
                                                   **{f"v_{k}": v for k, v in values.items()}})
    if claimed.rowcount != 1:
        return (False,)
    if rows:
        core.execute(_INSERT_EVENTS, rows)
    if client:
        core.execute(_INSERT_CLIENT_ACTION, client)
    return (True,)


# The same write as ONE PostgreSQL statement (a round trip cost more than the SQL behind it):
# data-modifying CTEs see one snapshot and the inserts select FROM the claimed row, so they
# happen only when the versioned UPDATE matched. The events travel as one JSON array.
_APPEND_PG = """
WITH {me}claimed AS (
    UPDATE practice_sessions SET state = CAST(:state AS JSON), version = :version, last_seq = :last_seq,
        deadline_at = :deadline_at, seen_a = :seen_a, seen_b = :seen_b, seen_therapist = :seen_therapist{ended}
    WHERE id = :id AND version = :seen{guard}
    RETURNING id
), appended AS (
    INSERT INTO session_events (session_id, seq, type, seat, actor_id, audience, data, created_at)
    SELECT claimed.id, e.seq, e.type, e.seat, e.actor_id, e.audience, e.data, :at
    FROM claimed CROSS JOIN json_to_recordset(CAST(:events AS JSON))
        AS e("seq" BIGINT, "type" TEXT, "seat" TEXT, "actor_id" INTEGER, "audience" JSON, "data" JSON)
), recorded AS (
    INSERT INTO client_actions (session_id, user_id, client_id, seq, created_at)
    SELECT claimed.id, :user_id, :client_id, :last_seq, :at FROM claimed WHERE :record
){touched}
{result}
"""
_APPEND_PLAIN = {"me": "", "guard": "", "touched": "", "result": "SELECT count(*) FROM claimed"}
# A joined partner's turn (apply_joined): the write happens only if, in the same snapshot, the
# socket is still in this session in this seat (connections), its login is live (the rule of
# accounts.login_live) and the seat is still the user's (access.role_for, live): everything
# identify_socket and on_action check. When nothing was claimed, the row as it is now comes back.
_APPEND_JOINED = {"me": """me AS (
    SELECT l.id AS login_id, l.last_seen_at < :touch_before AS touch
    FROM connections c
    JOIN auth_sessions l ON l.id = c.auth_session_id AND l.user_id = c.user_id
    JOIN users u ON u.id = c.user_id
    JOIN practice_sessions s ON s.id = c.session_id
    JOIN couple_members m ON m.couple_id = s.couple_id AND m.active_user_id = c.user_id AND m.seat = c.role
    WHERE c.sid = :sid AND c.user_id = :user_id AND c.session_id = :id AND c.role = :role
        AND s.public_id = :public_id AND u.role <> 'therapist' AND u.deleted_at IS NULL
        AND l.revoked_at IS NULL AND l.expires_at > :login_now
        AND (l.kind <> 'cookie' OR l.last_seen_at >= :idle_after)
), """, "guard": " AND EXISTS (SELECT FROM me)",
    # Socket activity keeps the login alive (identify_socket), here in the turn's own statement: a
    # separate write after it cost a Session and a commit, and logins made together came due
    # together (bench: a one-second stall a minute). Only after the claim, so the session's row
    # is always locked before the login's.
    "touched": """, touched AS (
    UPDATE auth_sessions SET last_seen_at = :login_now
    WHERE id = (SELECT login_id FROM me WHERE touch) AND EXISTS (SELECT FROM claimed)
)""", "result": """SELECT n.claimed, me.login_id,
    s.state, s.version, s.last_seq, s.ended_at, s.seen_a, s.seen_b, s.seen_therapist
FROM (SELECT count(*) AS claimed FROM claimed) AS n LEFT JOIN me ON true
LEFT JOIN practice_sessions AS s ON n.claimed = 0 AND s.id = :id"""}
# Typed where PostgreSQL cannot infer a type when preparing (in a SELECT list, or a bare WHERE).
_APPEND_PG_TYPES = [bindparam("at", type_=SessionEvent.__table__.c.created_at.type),
                    bindparam("user_id", type_=Integer), bindparam("client_id", type_=String),
                    bindparam("last_seq", type_=BigInteger), bindparam("record", type_=Boolean),
                    bindparam("events", type_=Text), bindparam("state", type_=Text)]
_APPEND_PG_STATEMENTS = {
    (joined, ended): Prepared(f"couples_{'turn' if joined else 'append'}{'_ended' if ended else ''}", text(
        _APPEND_PG.format(ended=", ended_at = :ended_at, active_couple_id = NULL" if ended else "",
                          **(_APPEND_JOINED if joined else _APPEND_PLAIN))).bindparams(*_APPEND_PG_TYPES))
    for joined in (False, True) for ended in (False, True)}


def autocommit_if_atomic() -> None:
    """On PostgreSQL, run this request's statements in autocommit mode. Only for handlers whose
    every statement stands alone: a read, a login's last-seen stamp, and an action's write (one
    statement there). SQLite keeps its transaction, as its write is three statements.

    psycopg2's own `autocommit` flag, not SQLAlchemy's isolation level: that one costs a
    `SET default_transaction_isolation` round trip when the connection goes back to the pool.
    database.configure_engine switches it back on check-in."""
    if db.session.get_bind().dialect.name == "postgresql":
        dbapi = db.session.connection().connection.dbapi_connection
        if not dbapi.autocommit and dbapi.get_transaction_status() == 0:  # idle: nothing begun yet
            dbapi.autocommit = True


def _append_postgresql(core, session_id, seen, values, rows, client, at, joined=None):
    """One statement; returns its row, whose first column is 1 when the version was claimed.
    `core` None: the statement runs by itself on a pooled connection (Prepared.run_alone)."""
    events = [{k: r[k] for k in ("seq", "type", "seat", "actor_id", "audience", "data")} for r in rows]
    params = {**values, "state": jsontext.dumps(values["state"]), "id": session_id, "seen": seen, "at": at,
              "events": jsontext.dumps(events), "record": bool(client),
              "user_id": client["user_id"] if client else None, "client_id": client["client_id"] if client else None}
    if joined is not None:
        login_now = utcnow()
        params.update(sid=joined.sid, user_id=joined.user_id, role=joined.role, public_id=joined.public_id,
                      login_now=login_now, idle_after=login_now - current_app.config["SESSION_IDLE_TIMEOUT"],
                      touch_before=login_now - timedelta(seconds=LOGIN_TOUCH_EVERY))
    statement = _APPEND_PG_STATEMENTS[joined is not None, "ended_at" in values]
    if core is None:
        return statement.run_alone(db.engine, params)
    return statement.execute(core, params).first()


@functools.cache
def _claim(columns: tuple):
    """UPDATE practice_sessions SET <columns> WHERE id = :b_id AND version = :b_version."""
    table = PracticeSession.__table__
    return update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version")).values(
        {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in columns})


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


# --------------------------------------------------------------------------- a joined partner's turn
#
# A turn normally costs two statements: identify_socket (the login, the role and the session row)
# and the write. For a partner who joined the session from this process, it can cost one: the
# write itself re-checks the access (see _APPEND_JOINED), against the session row as this process
# last wrote or read it. What this process remembers is only what to check and what it expects,
# never a grant: if any of it is no longer so, the statement writes nothing.


@dataclass(frozen=True)
class Joined:
    """What a socket joined, in this process (set by `enter`)."""

    sid: str
    user_id: int
    session_id: int
    public_id: str
    role: str


class _Remembered:
    """What a process remembers for joined partners' turns, per app (so per database)."""

    KEEP = 4096  # session rows kept (the least recently used go first)

    def __init__(self):
        self.joined: dict[str, Joined] = {}  # sid -> what it joined
        self.rows: OrderedDict[int, Any] = OrderedDict()  # session id -> _Target, newest last


def _remembered() -> _Remembered:
    memory = current_app.extensions.get("couples_remembered")
    if memory is None:
        memory = current_app.extensions["couples_remembered"] = _Remembered()
    return memory


def _remember(row) -> None:
    """Keep the session row as this process last wrote or read it. The last store wins: a stale
    row (two greenlets storing out of order, a restored database) only costs a turn a retry.

    The engine's dialect, not the Session's bind: a joined turn never needs a Session, and asking
    one for its bind would build one for the event (and close it at teardown)."""
    if db.engine.dialect.name != "postgresql":
        return
    rows = _remembered().rows
    rows[row.id] = row
    rows.move_to_end(row.id)
    while len(rows) > _Remembered.KEEP:
        rows.popitem(last=False)


def apply_joined(sid: str, public_id: str, client_id: str, kind: str, step: str | None,
                 payload: dict) -> Outcome | None:
    """A joined partner's action in ONE statement (PostgreSQL), or None: take the full path.

    A lost race (another process or partner wrote first) returns the current row in the same
    statement, and the turn is applied again on it. Everything that needs a precise answer goes
    the full way, which reads afresh: a refusal by the engine, a due timer, an action id already
    used (the UNIQUE constraint stops the statement), or access that is gone."""
    memory = _remembered()
    joined = memory.joined.get(sid)
    if joined is None or joined.public_id != public_id or kind not in USER_KINDS:
        return None
    row = memory.rows.get(joined.session_id)
    if row is None or not _APPEND_PG_STATEMENTS[True, False].can_run_alone(db.engine):
        return None
    for _ in range(MAX_TRIES):
        at = now()
        due = engine.deadline(row.state)
        if due is not None and at >= due:
            return None
        try:
            result = engine.apply(row.state, engine.Action(kind, joined.role, payload, at, step))
        except engine.EngineError:
            return None
        try:
            outcome = _write(row, result.state, list(result.events), at, _UserId(joined.user_id), client_id, joined)
        except IntegrityError:  # the action id was used before: the full path answers with the original
            db.session.rollback()
            return None
        except _Conflict as lost:
            found = lost.found
            if found is None or found.login_id is None or found.version is None or found.version <= row.version:
                db.session.rollback()
                return None
            row = _Target(row.id, row.public_id, row.couple_id, found.state, found.version, found.last_seq,
                          found.ended_at, found.seen_a, found.seen_b, found.seen_therapist, None)
            _remember(row)
            continue
        _acknowledge(outcome, joined.role)
        return outcome
    db.session.rollback()
    return None


@dataclass(frozen=True)
class _UserId:
    """A user as _write needs one: only its id."""

    id: int


# --------------------------------------------------------------------------- timers


def due_sessions(limit: int = 50) -> list[int]:
    """Ids of live sessions whose timer has fallen due (the sweeper asks twice a second)."""
    return list(db.session.scalars(_due_query(limit), {"now": now()}))


@functools.cache
def _due_query(limit: int):
    return select(PracticeSession.id).where(
        PracticeSession.deadline_at <= bindparam("now"), PracticeSession.ended_at.is_(None)).order_by(
        PracticeSession.deadline_at).limit(limit)


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
    _remember(_Target(*(getattr(session, name) for name in _ROW_COLUMNS), None))
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


@dataclass(frozen=True)
class SocketUser:
    """Who a socket is, re-read from the database on every event: its user (`id` and
    `is_therapist`, as on User, so the service takes either), its login, and the session and
    role it joined."""

    sid: str
    id: int
    is_therapist: bool
    auth_row_id: int
    session_id: int | None
    role: str | None
    # For an action, read in the same statement: the session it names (plain columns, None when
    # unknown), the user's live role in it (None: no access) and any earlier action with its id.
    target: Any = None
    target_role: str | None = None


@functools.cache
def _socket_lookup(for_action: bool = False) -> Prepared:
    """identify_socket's statement, prepared once per connection on PostgreSQL."""
    return Prepared(f"couples_socket{'_action' if for_action else ''}", _socket_query(for_action))


def _socket_query(for_action: bool = False):
    """The socket, its login and user; for an action also the named session with the socket
    user's live role in it and the seq of an earlier action with the same client id."""
    columns = []
    if for_action:
        table = PracticeSession.__table__
        seat, link = _grant(Connection.user_id, False), _grant(Connection.user_id, True)
        duplicate = select(ClientAction.seq).where(
            ClientAction.session_id == table.c.id, ClientAction.user_id == Connection.user_id,
            ClientAction.client_id == bindparam("client_id")).scalar_subquery()
        columns = [table.c[name].label(f"t_{name}") for name in _ROW_COLUMNS] + [
            seat.label("t_seat"), link.label("t_link"), duplicate.label("t_duplicate_of")]
    query = select(Connection.user_id, Connection.session_id, Connection.role, AuthSession.id.label("login_id"),
                  AuthSession.user_id.label("login_user_id"), AuthSession.revoked_at, AuthSession.expires_at,
                  AuthSession.kind, AuthSession.last_seen_at, User.id.label("owner_id"), User.role.label("user_role"),
                  User.deleted_at, *columns).select_from(Connection).outerjoin(
        AuthSession, AuthSession.id == Connection.auth_session_id).outerjoin(
        User, User.id == AuthSession.user_id)
    if for_action:
        query = query.outerjoin(PracticeSession.__table__,
                                PracticeSession.__table__.c.public_id == bindparam("public_id"))
    return query.where(Connection.sid == bindparam("sid"))


@dataclass(frozen=True)
class _Target:
    """A session row as the write path reads it (the names of PracticeSession's columns)."""

    id: int
    public_id: str
    couple_id: int
    state: dict
    version: int
    last_seq: int
    ended_at: Any
    seen_a: int
    seen_b: int
    seen_therapist: int
    duplicate_of: int | None
    views: dict | None = None  # each viewer's view of `state` without time-only keys, when known


_TOUCH_LOGIN = update(AuthSession.__table__).where(AuthSession.__table__.c.id == bindparam("login_id")).values(
    last_seen_at=bindparam("stamp", type_=AuthSession.__table__.c.last_seen_at.type))
_TOUCH_LOGIN_ALONE = Prepared("couples_touch_login", _TOUCH_LOGIN)


def identify_socket(sid: str, public_id: str | None = None, client_id: str | None = None) -> SocketUser | None:
    """The socket's user if its login is still live (accounts.is_live), else None: one statement.
    With `public_id` (an action) the same statement reads the session it names, the user's live
    role there and any earlier action with `client_id`. Socket activity keeps a login alive, as
    page views do (written at most once a minute)."""
    for_action = public_id is not None
    params = {"sid": sid, "public_id": public_id, "client_id": client_id} if for_action else {"sid": sid}
    lookup = _socket_lookup(for_action)
    alone = not for_action and lookup.can_run_alone(db.engine)
    if alone:
        # A read that stands alone (a heartbeat's whole work): straight through the driver, so
        # no Session is built for it. An action's lookup feeds the Session's write that follows.
        found = lookup.run_alone(db.engine, params)
    else:
        found = lookup.execute(db.session.connection(), params).first()
    if found is None or found.login_id is None or found.owner_id is None or found.login_user_id != found.user_id:
        return None
    at = utcnow()
    if not accounts.login_live(found.revoked_at, found.expires_at, found.deleted_at, found.kind,
                               found.last_seen_at, at):
        return None
    if (at - found.last_seen_at).total_seconds() > LOGIN_TOUCH_EVERY:
        if alone:  # the stamp too: one autocommitted statement, still no Session
            _TOUCH_LOGIN_ALONE.run_alone(db.engine, {"login_id": found.login_id, "stamp": at})
        else:
            db.session.connection().execute(_TOUCH_LOGIN, {"login_id": found.login_id, "stamp": at})
            db.session.commit()
    therapist = found.user_role == "therapist"
    target = role = None
    if for_action and found.t_id is not None:
        target = _Target(*(getattr(found, f"t_{name}") for name in _ROW_COLUMNS), found.t_duplicate_of)
        role = found.t_link if therapist else found.t_seat
    return SocketUser(sid, found.user_id, therapist, found.login_id, found.session_id, found.role, target, role)


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
    user_id = conn.user_id
    db.session.commit()
    if role in engine.PARTNERS:
        _remembered().joined[sid] = Joined(sid, user_id, session.id, session.public_id, role)
    else:
        _remembered().joined.pop(sid, None)
    return left


def leave(sid: str) -> int | None:
    _remembered().joined.pop(sid, None)
    conn = connection(sid)
    if conn is None or conn.session_id is None:
        return None
    left, conn.session_id, conn.role = conn.session_id, None, None
    db.session.commit()
    return left


def close_connection(sid: str) -> int | None:
    """Forget a socket; returns the session it was in (for a presence update)."""
    _remembered().joined.pop(sid, None)
    conn = connection(sid)
    if conn is None:
        return None
    session_id = conn.session_id
    db.session.delete(conn)
    db.session.commit()
    return session_id


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


def _idle_after(at: datetime) -> datetime:
    return access.idle_after(at, current_app.config["SESSION_IDLE_TIMEOUT"])


def _socket_login():
    """Join a Connection to its login and the login's user (outer: a missing login is lost)."""
    return (Connection.__table__.outerjoin(AuthSession, and_(AuthSession.id == Connection.auth_session_id,
                                                             AuthSession.user_id == Connection.user_id))
            .outerjoin(User, User.id == AuthSession.user_id))


@functools.cache
def _lost_queries(scope: str):
    """lost_connections' two statements, built once per scope ('process': this process's sockets,
    for the sweeper; 'users': every process's sockets of some users, for a revocation)."""
    at, idle = bindparam("at", type_=AuthSession.expires_at.type), bindparam("idle_after", type_=AuthSession.last_seen_at.type)
    mine = (Connection.process == bindparam("process") if scope == "process"
            else Connection.user_id.in_(bindparam("user_ids", expanding=True)))
    login_ended = or_(AuthSession.id.is_(None), User.id.is_(None), not_(access.login_is_live(at, idle)))
    logged_out = select(Connection.sid).select_from(_socket_login()).where(mine, login_ended)
    role_lost = Connection.role.is_distinct_from(access.live_role(Connection.user_id, User.role,
                                                                  PracticeSession.couple_id))
    revoked = select(Connection.sid).select_from(_socket_login().outerjoin(
        PracticeSession, PracticeSession.id == Connection.session_id)).where(
        mine, Connection.session_id.is_not(None), or_(PracticeSession.id.is_(None), role_lost))
    return logged_out, revoked


def lost_connections(process: str | None = None, user_ids=None) -> list[tuple[str, str]]:
    """Sockets whose login ended or whose role in their session was lost, as (sid, reason): a
    logout, an expiry, leaving the couple, a revoked consent. Either this process's (the
    sweeper) or, with `user_ids`, those users' sockets on every process (a revocation).

    Set-based: two statements, whatever the number of sockets, returning only the lost sids."""
    at = utcnow()
    params = {"at": at, "idle_after": _idle_after(at)}
    if user_ids is not None:
        params["user_ids"] = list(user_ids)
    else:
        params["process"] = process
    logged_out_query, revoked_query = _lost_queries("process" if user_ids is None else "users")
    logged_out = set(db.session.scalars(logged_out_query, params))
    revoked = db.session.scalars(revoked_query, params)
    lost = [(sid, "logged_out") for sid in sorted(logged_out)]
    lost += [(sid, "access_revoked") for sid in sorted(set(revoked) - logged_out)]
    db.session.rollback()
    return lost


def cut_lost_sockets(user_ids) -> list[tuple[str, str]]:
    """Disconnect, on whichever process holds them, these users' sockets that lost their login
    or their role: called by a revocation after its commit, so the cut happens in the same
    request (the sweeper is only the backstop, for expiries). Each gets `revoked` first."""
    from .extensions import socketio
    lost = lost_connections(user_ids=[u for u in user_ids if u is not None])
    for sid, reason in lost:
        socketio.emit("revoked", {"reason": reason}, to=sid)
        socketio.server.disconnect(sid, namespace="/")  # through the message queue when not ours
    return lost


# --------------------------------------------------------------------------- who receives a broadcast


@functools.cache
def _viewers_lookup() -> Prepared:
    """The session's sockets whose login and role are live (access rules): a broadcast's audience."""
    at, idle = bindparam("at", type_=AuthSession.expires_at.type), bindparam("idle_after", type_=AuthSession.last_seen_at.type)
    return Prepared("couples_viewers", select(Connection.sid, Connection.role).select_from(
        Connection.__table__.join(AuthSession, and_(AuthSession.id == Connection.auth_session_id,
                                                    AuthSession.user_id == Connection.user_id))
        .join(User, User.id == Connection.user_id)
        .join(PracticeSession, PracticeSession.id == Connection.session_id)).where(
        Connection.session_id == bindparam("session_id"), access.login_is_live(at, idle),
        Connection.role == access.live_role(Connection.user_id, User.role, PracticeSession.couple_id)))


def live_viewers(session_id: int) -> list[tuple[str, str]]:
    """(sid, role) of every socket that may receive this session's events now, on any process.
    Asked after each commit, so a broadcast reaches only viewers whose access is live then."""
    at = utcnow()
    params = {"session_id": session_id, "at": at, "idle_after": _idle_after(at)}
    lookup = _viewers_lookup()
    if lookup.can_run_alone(db.engine):
        return [(r.sid, r.role) for r in lookup.run_alone(db.engine, params, all_rows=True)]
    rows = [(r.sid, r.role) for r in lookup.execute(db.session.connection(), params)]
    db.session.commit()  # end the read before sending (see realtime.broadcast_presence)
    return rows
