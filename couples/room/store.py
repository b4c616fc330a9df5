"""Where a turn is written: one interface, a SQLite and a PostgreSQL implementation.

`append` is the only write of a session's log. In one transaction it claims the session row with
`UPDATE ... WHERE version = :seen` (so concurrent writers cannot both win), appends the events
with gap-free `seq`, records the client's action id (UNIQUE: an action is applied once), and
reads the row's `audience_epoch` as the claim left it: the broadcast's audience is the one of
that epoch (room/presence.py). A lost claim raises Conflict. Nothing here yields to other greenlets between the first write and the
commit (no emits, no sleeps): SQLite's lock wait would block the whole process.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (JSON, BigInteger, Boolean, Integer, String, Text, and_, bindparam, case, cast,
                        column, exists, func, insert, literal_column, select, true, update)

from .. import access
from ..exercises import engine
from ..extensions import db
from ..models import (AuthSession, ClientAction, Connection, CoupleMember, PracticeSession, SessionEvent, User,
                      utcnow)
from ..perf import jsontext
from ..perf.prepared import Prepared

ROW_COLUMNS = ("id", "public_id", "couple_id", "state", "version", "last_seq", "ended_at",
               "seen_a", "seen_b", "seen_therapist")


@dataclass(frozen=True)
class SessionRow:
    """A session row as a turn reads it (the names of PracticeSession's columns), and the seq of
    an earlier action with the client's id (None: the action is new)."""

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
    duplicate_of: int | None = None
    views: dict | None = None  # each viewer's view of `state` without time-only keys, when known

    def with_views(self, views: dict) -> SessionRow:
        return SessionRow(self.id, self.public_id, self.couple_id, self.state, self.version, self.last_seq,
                          self.ended_at, self.seen_a, self.seen_b, self.seen_therapist, self.duplicate_of, views)

    def seen(self) -> dict:
        """How many events each viewer may see in this row's log (its last seq on the wire)."""
        return {"a": self.seen_a or 0, "b": self.seen_b or 0, "therapist": self.seen_therapist or 0}


@dataclass(frozen=True)
class Joined:
    """A socket that joined a session from this process: what the one-statement turn re-checks."""

    sid: str
    user_id: int
    session_id: int
    public_id: str
    role: str


@dataclass
class Write:
    """What one turn writes: the new state and its events, by whom, and with which action id."""

    row: SessionRow
    state: dict
    events: list  # the engine's events: {type, actor, data, audience}
    at: datetime
    user_id: int | None = None
    client_id: str | None = None
    joined: Joined | None = None  # PostgreSQL: re-check this socket's access in the same statement

    def after(self) -> dict:
        counts = self.row.seen()
        for e in self.events:
            for viewer in e["audience"]:
                if viewer in counts:
                    counts[viewer] += 1
        return counts

    def ends(self) -> bool:
        return self.state.get("phase") == "ended" and self.row.ended_at is None

    def event_rows(self) -> list[dict]:
        first = self.row.last_seq + 1
        return [{"session_id": self.row.id, "seq": first + i, "type": e["type"], "seat": e["actor"],
                 "actor_id": self.user_id if e["actor"] else None, "audience": list(e["audience"]),
                 "data": e["data"], "created_at": self.at} for i, e in enumerate(self.events)]

    def values(self) -> dict:
        after = self.after()
        return {"state": self.state, "version": self.row.version + 1,
                "last_seq": self.row.last_seq + len(self.events), "deadline_at": engine.deadline(self.state),
                "seen_a": after["a"], "seen_b": after["b"], "seen_therapist": after["therapist"]}


@dataclass
class Written:
    """A committed write: the session row as it is now, and the audience epoch it was made in."""

    row: SessionRow
    audience_epoch: int


class Conflict(Exception):
    """Another writer changed the session first (or, for a joined turn, the socket's access is
    gone): nothing was written. `found`: the row as it is now, when the store read it."""

    def __init__(self, found: SessionRow | None = None, access_lost: bool = False):
        super().__init__()
        self.found, self.access_lost = found, access_lost


def store() -> SQLiteStore | PostgreSQLStore:
    """The store for this app's database (chosen once per app: every turn asks)."""
    found = current_app.extensions.get("couples_store")
    if found is None:
        found = current_app.extensions["couples_store"] = (
            _POSTGRESQL if db.engine.dialect.name == "postgresql" else _SQLITE)
    return found


def _login_times() -> tuple[datetime, datetime]:
    """Now (real time, whatever the practice clock says) and the idle cut-off of browser logins."""
    at = utcnow()
    return at, access.idle_after(at, current_app.config["SESSION_IDLE_TIMEOUT"])


def _new_row(write: Write, values: dict) -> SessionRow:
    row = write.row
    return SessionRow(row.id, row.public_id, row.couple_id, write.state, values["version"], values["last_seq"],
                      write.at if write.ends() else row.ended_at, values["seen_a"], values["seen_b"],
                      values["seen_therapist"])


# --------------------------------------------------------------------------- SQLite


class SQLiteStore:
    """Three statements in the Session's transaction (SQLite takes one writer at a time, so the
    audience read before the commit is the audience at the commit)."""

    def load(self, session_id: int, user_id: int | None, client_id: str | None) -> SessionRow | None:
        return _load(session_id, user_id, client_id)

    def append(self, write: Write, *, alone: bool = True) -> Written:
        """In the Session's transaction, which it commits (`alone` has no meaning here)."""
        values = write.values()
        claim = {**values, "ended_at": write.at, "active_couple_id": None} if write.ends() else values
        core = db.session.connection()
        claimed = core.execute(_claim(tuple(claim)), {
            "b_id": write.row.id, "b_version": write.row.version, **{f"v_{k}": v for k, v in claim.items()}})
        if claimed.rowcount != 1:
            db.session.rollback()
            raise Conflict()
        rows = write.event_rows()
        if rows:
            core.execute(insert(SessionEvent.__table__), rows)
        if write.client_id:
            core.execute(insert(ClientAction.__table__), {
                "session_id": write.row.id, "user_id": write.user_id, "client_id": write.client_id,
                "seq": values["last_seq"], "created_at": write.at})
        epoch = core.execute(select(PracticeSession.audience_epoch).where(PracticeSession.id == write.row.id)).scalar()
        db.session.commit()
        return Written(_new_row(write, values), epoch)


@functools.cache
def _claim(columns: tuple):
    """UPDATE practice_sessions SET <columns> WHERE id = :b_id AND version = :b_version."""
    table = PracticeSession.__table__
    return update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version")).values(
        {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in columns})


@functools.cache
def _load_query():
    table = PracticeSession.__table__
    duplicate = select(ClientAction.seq).where(
        ClientAction.session_id == table.c.id, ClientAction.user_id == bindparam("user_id"),
        ClientAction.client_id == bindparam("client_id")).scalar_subquery()
    return select(*(table.c[name] for name in ROW_COLUMNS), duplicate.label("duplicate_of")).where(
        table.c.id == bindparam("session_id"))


def _load(session_id, user_id, client_id) -> SessionRow | None:
    """The row, and the seq of an earlier action with this client id, in the Session."""
    found = db.session.connection().execute(_load_query(), {
        "session_id": session_id, "user_id": user_id, "client_id": client_id}).first()
    return None if found is None else SessionRow(*found)


# --------------------------------------------------------------------------- PostgreSQL


class PostgreSQLStore:
    """ONE statement per write (a round trip cost more than the SQL behind it): data-modifying
    CTEs see one snapshot, and the inserts select FROM the claimed row, so they happen only when
    the versioned UPDATE matched. The statement also returns the claimed row's audience epoch
    and, when nothing was claimed, the row as it is now. With a Joined socket it first re-checks that socket's access
    (perf: the joined turn, which then needs no socket lookup before it)."""

    def load(self, session_id: int, user_id: int | None, client_id: str | None) -> SessionRow | None:
        return _load(session_id, user_id, client_id)

    def append(self, write: Write, *, alone: bool = True) -> Written:
        """`alone`: on a pooled connection of its own, in autocommit (no Session); else in the
        Session's transaction, which it commits (for a caller that holds the row's lock)."""
        values = write.values()
        events = [{k: r[k] for k in ("seq", "type", "seat", "actor_id", "audience", "data")}
                  for r in write.event_rows()]
        login_now, idle_after = _login_times()
        params = {f"p_{k}": v for k, v in values.items()}
        params.update(p_state=jsontext.dumps(values["state"]), p_id=write.row.id, p_seen=write.row.version,
                      p_at=write.at, p_events=jsontext.dumps(events), p_record=bool(write.client_id),
                      p_user_id=write.user_id, p_client_id=write.client_id, p_ended=write.ends(),
                      p_login_now=login_now, p_idle_after=idle_after)
        joined = write.joined
        if joined is not None:
            params.update(p_sid=joined.sid, p_role=joined.role, p_public_id=joined.public_id,
                          p_user_id=joined.user_id, p_touch_before=login_now - timedelta(seconds=LOGIN_TOUCH_EVERY))
        statement, engine_ = _statements()[joined is not None], db.engine
        if alone and statement.can_run_alone(engine_):
            found = statement.run_alone(engine_, params)
        else:
            found = statement.execute(db.session.connection(), params).first()
            db.session.commit()
        if not found.claimed:
            now = None if found.version is None else SessionRow(
                write.row.id, write.row.public_id, write.row.couple_id, found.state, found.version,
                found.last_seq, found.ended_at, found.seen_a, found.seen_b, found.seen_therapist)
            raise Conflict(now, access_lost=joined is not None and found.login_id is None)
        return Written(_new_row(write, values), found.audience_epoch)


LOGIN_TOUCH_EVERY = 60  # seconds, as presence.LOGIN_TOUCH_EVERY: a joined turn renews its login


def _p(name, type_):
    """A bind parameter of the write (prefixed: a column's own name is reserved in SET clauses)."""
    return bindparam(f"p_{name}", type_=type_)


def _joined_access():
    """The CTE `me`: the joined socket's login, if the socket is still in this session in this
    seat, its login is live and the seat is still the user's (access.py)."""
    conn, live = Connection.__table__, PracticeSession.__table__.alias("joined_session")
    return select(AuthSession.id.label("login_id"),
                  (AuthSession.last_seen_at < _p("touch_before", AuthSession.last_seen_at.type)).label("touch")
                  ).select_from(conn.join(AuthSession, and_(AuthSession.id == conn.c.auth_session_id,
                                                            AuthSession.user_id == conn.c.user_id))
                                .join(User, User.id == conn.c.user_id).join(live, live.c.id == conn.c.session_id)
                                .join(CoupleMember, access.holds_seat(conn.c.user_id, User.role, live.c.couple_id,
                                                                      conn.c.role))
                                ).where(conn.c.sid == _p("sid", String), conn.c.user_id == _p("user_id", Integer),
                                        conn.c.session_id == _p("id", Integer), conn.c.role == _p("role", String),
                                        live.c.public_id == _p("public_id", String),
                                        access.login_is_live(_p("login_now", AuthSession.expires_at.type),
                                                             _p("idle_after", AuthSession.last_seen_at.type)),
                                        ).cte("me")


def _statement(joined: bool):
    """The write as one statement, built by SQLAlchemy: claim, append, record, (touch the login),
    and return the claim, its audience epoch, and the row as it is now when not claimed."""
    ps, events, actions = PracticeSession.__table__, SessionEvent.__table__, ClientAction.__table__
    me = _joined_access() if joined else None
    claim = update(ps).where(ps.c.id == _p("id", Integer), ps.c.version == _p("seen", Integer))
    if me is not None:
        claim = claim.where(exists(select(me.c.login_id)))
    claimed = claim.values(
        state=cast(_p("state", Text), JSON), version=_p("version", Integer), last_seq=_p("last_seq", BigInteger),
        deadline_at=_p("deadline_at", ps.c.deadline_at.type), seen_a=_p("seen_a", BigInteger),
        seen_b=_p("seen_b", BigInteger), seen_therapist=_p("seen_therapist", BigInteger),
        ended_at=case((_p("ended", Boolean), _p("at", ps.c.ended_at.type)), else_=ps.c.ended_at),
        active_couple_id=case((_p("ended", Boolean), None), else_=ps.c.active_couple_id),
    ).returning(ps.c.id, ps.c.audience_epoch).cte("claimed")
    event = func.json_to_recordset(cast(_p("events", Text), JSON)).table_valued(
        column("seq", BigInteger), column("type", Text), column("seat", Text), column("actor_id", Integer),
        column("audience", JSON), column("data", JSON)).render_derived(name="e", with_types=True)
    appended = insert(events).from_select(
        ["session_id", "seq", "type", "seat", "actor_id", "audience", "data", "created_at"],
        select(claimed.c.id, event.c.seq, event.c.type, event.c.seat, event.c.actor_id, event.c.audience,
               event.c.data, _p("at", events.c.created_at.type)).select_from(claimed).join(event, true())
    ).cte("appended")
    recorded = insert(actions).from_select(
        ["session_id", "user_id", "client_id", "seq", "created_at"],
        select(claimed.c.id, _p("user_id", Integer), _p("client_id", String), _p("last_seq", BigInteger),
               _p("at", actions.c.created_at.type)).where(_p("record", Boolean))).cte("recorded")
    ctes = [appended, recorded]
    if me is not None:
        # Socket activity keeps the login alive, here in the turn's own statement; only after the
        # claim, so the session's row is always locked before the login's.
        logins = AuthSession.__table__
        ctes.append(update(logins).where(
            logins.c.id == select(me.c.login_id).where(me.c.touch).scalar_subquery(),
            exists(select(claimed.c.id))).values(last_seen_at=_p("login_now", logins.c.last_seen_at.type))
            .cte("touched"))
    epoch = select(claimed.c.audience_epoch).scalar_subquery()
    n = select(func.count().label("claimed")).select_from(claimed).subquery("n")
    now = ps.alias("now")
    rows = n.outerjoin(me, true()) if me is not None else n
    login = me.c.login_id if me is not None else literal_column("NULL")
    return select(n.c.claimed, login.label("login_id"), *(now.c[c] for c in (
        "state", "version", "last_seq", "ended_at", "seen_a", "seen_b", "seen_therapist")),
        epoch.label("audience_epoch")).select_from(
        rows.outerjoin(now, and_(n.c.claimed == 0, now.c.id == _p("id", Integer)))).add_cte(*ctes)


@functools.cache
def _statements() -> dict:
    return {joined: Prepared(f"couples_{'turn' if joined else 'append'}", _statement(joined))
            for joined in (False, True)}


_SQLITE, _POSTGRESQL = SQLiteStore(), PostgreSQLStore()
