"""Sockets: who each one is, what it joined, who is here, who may receive a broadcast, and
cutting the sockets whose access ended.

A connected socket is a `connections` row (presence lives in the database so that it holds
across processes). Rows are leases: each process renews its own; a crashed process's expire.
Every rule of who may do what comes from access.py.
"""
from __future__ import annotations

import functools
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, delete, not_, or_, select, update

from .. import access
from ..extensions import db, socketio
from ..models import AuthSession, ClientAction, Connection, PracticeSession, User, utcnow
from .. import perf
from ..perf.prepared import Prepared
from .sessions import VIEWERS
from .store import ROW_COLUMNS, SessionRow

LOGIN_TOUCH_EVERY = 60  # seconds: socket activity renews a login's last-seen stamp at most this often
# Names this process's sockets in the connections table (the sweeper checks only its own).
PROCESS = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

_AT = bindparam("at", type_=AuthSession.expires_at.type)
_IDLE_AFTER = bindparam("idle_after", type_=AuthSession.last_seen_at.type)


def _times(at: datetime | None = None) -> dict:
    at = at or utcnow()
    return {"at": at, "idle_after": access.idle_after(at, current_app.config["SESSION_IDLE_TIMEOUT"])}


def _socket_login():
    """A Connection, its login (only if it is the same user's) and that login's user; outer, so a
    missing login reads as NULLs, never as live."""
    return (Connection.__table__.outerjoin(AuthSession, and_(AuthSession.id == Connection.auth_session_id,
                                                             AuthSession.user_id == Connection.user_id))
            .outerjoin(User, User.id == AuthSession.user_id))


# --------------------------------------------------------------------------- who a socket is


@dataclass(frozen=True)
class SocketUser:
    """Who a socket is, re-read from the database on every event: its user (`id` and
    `is_therapist`, as on User, so the services take either), its login, and the session and
    role it joined. For an action, also the session it names (`target`, None when unknown) and
    the user's live role there (`target_role`, None: no access)."""

    sid: str
    id: int
    is_therapist: bool
    auth_row_id: int
    session_id: int | None
    role: str | None
    target: SessionRow | None = None
    target_role: str | None = None


@functools.cache
def _socket_lookup(for_action: bool) -> Prepared:
    """The socket, whether its login is live, and (for an action) the session it names with the
    user's live role in it and the seq of an earlier action with the same client id."""
    columns = []
    if for_action:
        table = PracticeSession.__table__
        duplicate = select(ClientAction.seq).where(
            ClientAction.session_id == table.c.id, ClientAction.user_id == Connection.user_id,
            ClientAction.client_id == bindparam("client_id")).scalar_subquery()
        columns = [table.c[name].label(f"t_{name}") for name in ROW_COLUMNS] + [
            access.live_role(Connection.user_id, User.role, table.c.couple_id).label("t_role"),
            duplicate.label("t_duplicate_of")]
    joins = _socket_login()
    if for_action:
        joins = joins.outerjoin(PracticeSession.__table__,
                                PracticeSession.__table__.c.public_id == bindparam("public_id"))
    query = select(Connection.user_id, Connection.session_id, Connection.role,
                   AuthSession.id.label("login_id"), User.role.label("user_role"),
                   access.login_is_live(_AT, _IDLE_AFTER).label("live"),
                   (AuthSession.last_seen_at < bindparam("touch_before", type_=AuthSession.last_seen_at.type))
                   .label("touch"), *columns).select_from(joins).where(Connection.sid == bindparam("sid"))
    return Prepared(f"couples_socket{'_action' if for_action else ''}", query)


_TOUCH_LOGIN = Prepared("couples_touch_login", update(AuthSession.__table__).where(
    AuthSession.__table__.c.id == bindparam("login_id")).values(
    last_seen_at=bindparam("stamp", type_=AuthSession.__table__.c.last_seen_at.type)))


def _run(statement: Prepared, params: dict):
    """One statement: alone through the driver where it can (no Session), else in the Session."""
    if statement.can_run_alone(db.engine):
        return statement.run_alone(db.engine, params)
    found = statement.execute(db.session.connection(), params)
    return found.first() if found.returns_rows else None


def identify(sid: str, public_id: str | None = None, client_id: str | None = None) -> SocketUser | None:
    """The socket's user if its login is still live, else None: one statement. With `public_id`
    (an action) it also reads the session named and the user's live role there. Socket activity
    keeps a login alive, as page views do (written at most once a minute)."""
    for_action = public_id is not None
    at = utcnow()
    params = {"sid": sid, **_times(at), "touch_before": at - timedelta(seconds=LOGIN_TOUCH_EVERY)}
    if for_action:
        params.update(public_id=public_id, client_id=client_id)
    found = _run(_socket_lookup(for_action), params)
    if found is None or found.login_id is None or not found.live:
        return None
    if found.touch:
        _run(_TOUCH_LOGIN, {"login_id": found.login_id, "stamp": at})
        if not _TOUCH_LOGIN.can_run_alone(db.engine):
            db.session.commit()
    target = None
    if for_action and found.t_id is not None:
        target = SessionRow(*(getattr(found, f"t_{name}") for name in ROW_COLUMNS), found.t_duplicate_of)
    return SocketUser(sid, found.user_id, found.user_role == "therapist", found.login_id, found.session_id,
                      found.role, target, found.t_role if for_action else None)


# --------------------------------------------------------------------------- a socket's row


def open_connection(sid: str, user, auth_row_id: int, process: str) -> None:
    db.session.merge(Connection(sid=sid, user_id=user.id, auth_session_id=auth_row_id,
                                session_id=None, role=None, process=process,
                                connected_at=utcnow(), last_seen_at=utcnow()))
    db.session.commit()


def connection(sid: str) -> Connection | None:
    return db.session.get(Connection, sid, populate_existing=True)


def enter(sid: str, session: PracticeSession, role: str) -> int | None:
    """Mark the socket as in this session (every broadcast after this commit reaches it);
    returns the session it left, if any."""
    conn = connection(sid)
    left = conn.session_id if conn.session_id != session.id else None
    conn.session_id, conn.role, conn.last_seen_at = session.id, role, utcnow()
    audience_changed([session.id, left])
    db.session.commit()
    return left


def leave(sid: str) -> int | None:
    conn = connection(sid)
    if conn is None or conn.session_id is None:
        return None
    left, conn.session_id, conn.role = conn.session_id, None, None
    audience_changed([left])
    db.session.commit()
    return left


def close_connection(sid: str) -> int | None:
    """Forget a socket; returns the session it was in (for a presence update)."""
    conn = connection(sid)
    if conn is None:
        return None
    session_id = conn.session_id
    db.session.delete(conn)
    if session_id is not None:
        audience_changed([session_id])
    db.session.commit()
    return session_id


# --------------------------------------------------------------------------- leases and presence


def _fresh_after() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["PRESENCE_TTL"])


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
    if affected:
        audience_changed(affected)
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


# --------------------------------------------------------------------------- who may receive


def audience_changed(session_ids=None, *, couple_id=None, login_id=None, user_id=None) -> None:
    """Bump the audience epoch of live sessions whose audience this transaction changes: by id,
    a couple's, or those where a login's (or a user's) sockets are. In the caller's transaction,
    before its commit, so the epoch always names an audience the database holds."""
    table = PracticeSession.__table__
    where = [table.c.ended_at.is_(None)]
    if session_ids is not None:
        where.append(table.c.id.in_([i for i in session_ids if i is not None]))
    if couple_id is not None:
        where.append(table.c.couple_id == couple_id)
    if login_id is not None or user_id is not None:
        mine = Connection.auth_session_id == login_id if login_id is not None else Connection.user_id == user_id
        where.append(table.c.id.in_(select(Connection.session_id).where(mine)))
    db.session.execute(update(table).where(*where).values(audience_epoch=table.c.audience_epoch + 1))


_VIEWERS = Prepared("couples_viewers", access.live_sockets(
    bindparam("session_id"), _AT, _IDLE_AFTER, AuthSession.kind, AuthSession.expires_at, AuthSession.last_seen_at))
_EPOCH = Prepared("couples_audience_epoch", select(PracticeSession.audience_epoch).where(
    PracticeSession.id == bindparam("session_id")))


@dataclass(frozen=True)
class _Audience:
    epoch: int
    viewers: list  # (sid, role)
    until: datetime  # the first moment one of its logins expires or goes idle


def _audiences() -> dict:
    found = current_app.extensions.get("couples_audiences")
    if found is None:
        found = current_app.extensions["couples_audiences"] = {}
    return found


def audience(session_id: int, epoch: int | None = None) -> list[tuple[str, str]]:
    """(sid, role) of every socket, on any process, that may receive what the session's write in
    audience epoch `epoch` committed (None: now): the sockets whose login and role are live.
    Kept per process, and read again when the epoch moved or a login in it has lapsed since."""
    at = utcnow()
    kept = _audiences().get(session_id)
    if (epoch is not None and kept is not None and kept.epoch == epoch and at < kept.until
            and perf.enabled("audience_cache")):
        return kept.viewers
    idle = current_app.config["SESSION_IDLE_TIMEOUT"]
    params = {"session_id": session_id, **_times(at)}
    current = _run(_EPOCH, {"session_id": session_id})  # first: the viewers read next are at least this new
    rows = (_VIEWERS.run_alone(db.engine, params, all_rows=True) if _VIEWERS.can_run_alone(db.engine)
            else list(_VIEWERS.execute(db.session.connection(), params)))
    if not _VIEWERS.can_run_alone(db.engine):
        db.session.commit()  # end the read before sending: with Redis each send is a publish
    until = min([r.expires_at for r in rows] + [r.last_seen_at + idle for r in rows if r.kind == "cookie"],
                default=at + timedelta(days=1))
    kept = _Audience(current.audience_epoch if current is not None else -1, [(r.sid, r.role) for r in rows], until)
    audiences = _audiences()
    if len(audiences) > 10_000:  # a long-lived process forgets ended sessions' audiences now and then
        audiences.clear()
    audiences[session_id] = kept
    return kept.viewers


# --------------------------------------------------------------------------- lost access


@functools.cache
def _lost_queries(scope: str):
    """lost_connections' two statements, built once per scope ('process': this process's sockets,
    for the sweeper; 'users': every process's sockets of some users, for a revocation)."""
    mine = (Connection.process == bindparam("process") if scope == "process"
            else Connection.user_id.in_(bindparam("user_ids", expanding=True)))
    login_ended = or_(AuthSession.id.is_(None), User.id.is_(None), not_(access.login_is_live(_AT, _IDLE_AFTER)))
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
    Two statements, whatever the number of sockets, returning only the lost sids."""
    params = _times()
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


def cut(lost: list[tuple[str, str]], cause: str | None = None) -> None:
    """Tell each socket why (`reason`, and the specific `cause`: the reason itself unless the
    request that ended access knows better), then disconnect it, on whichever process holds it
    (the message queue carries both when it is another's)."""
    for sid, reason in lost:
        socketio.emit("revoked", {"reason": reason, "cause": cause or reason}, to=sid)
        socketio.server.disconnect(sid, namespace="/")


def cut_lost_sockets(user_ids, cause: str | None = None) -> list[tuple[str, str]]:
    """Cut these users' sockets that lost their login or role: called by a revocation after its
    commit, so the cut happens in the same request (the sweeper is only the backstop, for expiries).
    `cause` says why in words the page can explain (docs/protocol.md §2: `revoked`)."""
    lost = lost_connections(user_ids=[u for u in user_ids if u is not None])
    cut(lost, cause)
    return lost


def tell_partners(couple_id: int, message: dict) -> None:
    """Send `notice` (message plus the session's id) to the partners' live sockets in the
    couple's open session, after the caller's commit: something changed around their room."""
    session = db.session.scalar(select(PracticeSession).where(PracticeSession.active_couple_id == couple_id))
    if session is None:
        return
    data = {"session_id": session.public_id, **message}
    for sid, role in audience(session.id):
        if role in ("a", "b"):
            socketio.emit("notice", data, to=sid)
