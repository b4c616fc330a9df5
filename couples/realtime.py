"""Socket.IO handlers: transport only (authenticate, validate, call the service, ack, emit).

Every handler re-authorises from the database (the socket's Connection row, its AuthSession and
the user's live role), because a socket handler only sees a copy of the session taken at connect.
A joined partner's action on PostgreSQL does it inside its write statement (practice.apply_joined).
A broadcast goes socket by socket to the session's viewers whose login and role are live when it
is sent (practice.live_viewers), each getting only the events in its audience; there are no
Socket.IO rooms to outlive a revocation. Client event names that are reserved never reach a
handler (extensions.TextPacket). See docs/protocol.md.
"""
import functools
import os
import socket
import threading
import time
import uuid

from flask import current_app, request
from flask_login import current_user
# Socket.IO's own refusal, not Python's builtin of the same name: only this one carries our
# {"code", "message"} to the client (err.data in the JavaScript client).
from flask_socketio import ConnectionRefusedError, disconnect
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout

from . import accounts, audit, practice, ratelimit
from .errors import DomainError, invalid
from .extensions import db, socketio
from .models import PracticeSession
from .practice_schemas import ActionSchema, HeartbeatSchema, JoinSchema, LeaveSchema

# Names this process's sockets in the connections table (the sweeper checks only its own).
PROCESS = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- connect

UNAUTHENTICATED = {"code": "unauthenticated", "message": "Please log in."}



@socketio.on("connect")
def on_connect(auth=None):
    """Accept a cookie login, or a bearer token in `auth` or the Authorization header; never a
    query parameter. Anything else is refused before the socket can receive a thing."""
    user = _authenticate(auth)
    if user is None or user.auth_row_id is None:
        db.session.rollback()
        raise ConnectionRefusedError(UNAUTHENTICATED["message"], UNAUTHENTICATED)
    practice.open_connection(request.sid, user, user.auth_row_id, PROCESS)


def _authenticate(auth):
    if isinstance(auth, dict) and "token" in auth:
        return accounts.load_user(auth["token"], "token")  # load_user refuses non-text itself
    if current_user.is_authenticated:  # the session cookie, or an Authorization: Bearer header
        return current_user._get_current_object()
    return None


@socketio.on("disconnect")
def on_disconnect(*_reason):
    ratelimit.forget(request.sid)
    session_id = practice.close_connection(request.sid)
    if session_id is not None:
        broadcast_presence(session_id)


# --------------------------------------------------------------------------- the handler shape


def _error(err: DomainError) -> dict:
    return {"ok": False, "error": err.to_dict()}


def _handler(name, schema_cls, acts_on_session=False, single_statements=False, first_try=None):
    """Register a handler that re-authorises, validates, and turns refusals into error acks.

    `acts_on_session`: the payload names a session and an action id, and the same statement that
    re-authorises the socket reads them (so the payload is validated first).
    `first_try(payload)`: tried after validation; it authorises in its own statement and returns
    the ack, or None to take the usual way (re-authorise, then the handler).
    `single_statements`: every statement the handler runs is atomic on its own (on PostgreSQL an
    action's whole write is one statement, practice._append_postgresql), so it runs them in
    autocommit mode: no BEGIN and COMMIT round trips (half of a turn's round trips)."""

    schema = schema_cls()  # stateless when loading: one instance serves every event

    def wrap(fn):
        @functools.wraps(fn)
        def handle(data=None):
            try:
                if not ratelimit.allow(request.sid):
                    raise DomainError("rate_limited", "Too many messages at once; please slow down.", 429)
                if acts_on_session:
                    payload = schema.load(data if data is not None else {})
                    if first_try is not None and (ack := first_try(payload)) is not None:
                        return ack
                if single_statements:
                    practice.autocommit_if_atomic()
                if acts_on_session:
                    me = _reauthorise(payload["session_id"], payload["id"])
                else:
                    me = _reauthorise()
                    payload = schema.load(data if data is not None else {})
                return fn(me, payload)
            except ValidationError as err:
                db.session.rollback()
                return _error(invalid(err))
            except DomainError as err:
                db.session.rollback()
                return _error(err)
            except Exception as err:  # noqa: BLE001 - logged; the client gets the one error shape
                try:
                    db.session.rollback()
                except Exception:  # noqa: BLE001 - the connection may be gone with the database
                    pass
                if _database_unavailable(err):  # nothing was acknowledged: the client resends (same id)
                    current_app.logger.warning("socket handler %s: database unavailable (%s)", name,
                                               type(err).__name__)
                    return _error(DomainError("unavailable", "The service is briefly unavailable and "
                                              "could not confirm this. Please send it again (with "
                                              "the same id it is never applied twice).", 503))
                current_app.logger.exception("socket handler %s failed", name)
                return _error(DomainError("server_error", "Something went wrong on our side.", 500))

        socketio.on_event(name, handle)
        return handle

    return wrap


def _database_unavailable(err: Exception) -> bool:
    """A lost, refused or exhausted database connection (not a bug, not a constraint)."""
    return isinstance(err, (OperationalError, InterfaceError, PoolTimeout)) or bool(
        getattr(err, "connection_invalidated", False))


def _reauthorise(public_id=None, client_id=None) -> practice.SocketUser:
    """The socket's user, reloaded: its login must still be live. Else it is disconnected.

    One statement: the socket's row, its login and the user, joined (checked again on every event);
    for an action also the session it names (see practice.identify_socket)."""
    me = practice.identify_socket(request.sid, public_id, client_id)
    if me is None:
        disconnect()
        raise DomainError("unauthenticated", "Your login has ended. Please log in again.", 401)
    return me


# --------------------------------------------------------------------------- events


@_handler("join", JoinSchema)
def on_join(me, payload):
    session, role = practice.find_live_role(me, payload["session_id"])
    # The socket's row names the session before the snapshot is read: every broadcast after
    # this commit reaches it (practice.live_viewers), so nothing falls between the two.
    left = practice.enter(request.sid, session, role)
    if role == "therapist":
        audit.record(me, "session_observed", session.couple_id, f"session:{session.public_id}")
        db.session.commit()
    snap, missed = practice.snapshot(session, role, payload["last_seq"])
    broadcast_presence(session.id)
    if left is not None:
        broadcast_presence(left)
    return {"ok": True, "snapshot": snap, "events": missed}


def _joined_action(payload):
    """A joined partner's turn in one statement (practice.apply_joined), when it applies."""
    outcome = practice.apply_joined(request.sid, payload["session_id"], payload["id"], payload["kind"],
                                    payload["step"], payload["data"])
    if outcome is None:
        return None
    broadcast(outcome)
    return outcome.ack


@_handler("action", ActionSchema, acts_on_session=True, single_statements=True, first_try=_joined_action)
def on_action(me, payload):
    session, role = me.target, me.target_role
    if session is None or role is None:
        raise practice.forbidden()
    if me.session_id != session.id or me.role != role:
        raise DomainError("not_joined", "Join the session first.", 409)
    if role == "therapist":
        raise DomainError("observer_read_only", "Observers can watch but not act.", 403)
    outcome = practice.apply_action(me, session.id, role, payload["id"], payload["kind"],
                                    payload["step"], payload["data"], loaded=session)
    broadcast(outcome)
    return outcome.ack


@_handler("heartbeat", HeartbeatSchema)
def on_heartbeat(me, payload):
    # A read: the login is re-checked (on PostgreSQL by one statement outside any Session, see
    # practice.identify_socket); leases are renewed by this process's sweeper for all its sockets
    # at once (engine.io's ping drops a vanished client), so no write per heartbeat.
    return {"ok": True, "server_now": practice.now().isoformat()}


@_handler("leave", LeaveSchema)
def on_leave(me, payload):
    session = practice.find(payload["session_id"])
    if session is None or me.session_id != session.id:
        raise DomainError("not_joined", "You are not in this session.", 409)
    practice.leave(request.sid)
    broadcast_presence(session.id)
    return {"ok": True}


@socketio.on("*")
def on_unknown_event(event, *_args):
    """Any other event name, including the reserved ones (extensions.TextPacket renames those):
    an error ack, and nothing else happens."""
    if not ratelimit.allow(request.sid):
        return _error(DomainError("rate_limited", "Too many messages at once; please slow down.", 429))
    return _error(DomainError("unknown_event", "There is no such event.", 400))


# --------------------------------------------------------------------------- broadcast


def broadcast(outcome: practice.Outcome) -> None:
    """Send each viewer ONE `update`: the committed events it may see, numbered in its own log,
    and its new view when that changed. Called only after the commit, and sent only to the
    sockets whose access is live at that moment (practice.live_viewers), one by one.

    One message per viewer, not one per event plus one per view: a turn was nine messages, and
    sending them cost more than everything else the server did for it (docs/benchmarks.md).
    A client whose log ends before `last_seq` missed a message and rejoins for the rest."""
    messages = {}
    for sid, viewer in practice.live_viewers(outcome.session_id):
        if viewer not in messages:
            messages[viewer] = _update_for(outcome, viewer)
        if messages[viewer] is not None:
            socketio.emit("update", messages[viewer], to=sid)


def _update_for(outcome: practice.Outcome, viewer: str) -> dict | None:
    """The viewer's `update` for this outcome, or None when it has nothing new."""
    n, events = outcome.base.get(viewer, 0), []
    for e in outcome.events:
        if viewer in e["audience"]:
            n += 1
            events.append(practice.public_event(n, e["type"], e["actor"], e["data"], e["at"]))
    view = outcome.views.get(viewer)
    if not events and view is None and not outcome.catch_up:
        return None
    message = {"session_id": outcome.public_id, "events": events, "last_seq": n}
    if view is not None:
        message["view"] = view
    return message


def broadcast_presence(session_id: int) -> None:
    """Send who is here to the session's live viewers. Called after the caller's commit."""
    session = db.session.get(PracticeSession, session_id)
    if session is None:
        return
    data = {"session_id": session.public_id, "presence": practice.presence(session_id)}
    # End the read's transaction before sending: with several processes each send is a Redis
    # publish, and an open transaction would hold its snapshot and table locks across them.
    db.session.commit()
    for sid, _viewer in practice.live_viewers(session_id):
        socketio.emit("presence", data, to=sid)


# --------------------------------------------------------------------------- the sweeper

_sweeper_pid = None  # the process whose sweeper runs: a forked child starts its own
_sweeper_lock = threading.Lock()  # green under eventlet and gevent once they have patched


def start_background_tasks(app) -> None:
    """Start this process's sweeper, once per process: lost authorisation, due timers, leases."""
    global _sweeper_pid
    practice.install_test_clock(app)
    with _sweeper_lock:
        if _sweeper_pid == os.getpid():
            return
        _sweeper_pid = os.getpid()
    socketio.start_background_task(_sweep_forever, app)


def start_when_served(app) -> None:
    """Start the sweeper with the first request (HTTP or Socket.IO) this process serves, whatever
    serves it: gunicorn's worker, `flask run`, `python app.py` (which starts it before serving).

    Not at import: the flask CLI imports the app and serves nothing, and a pre-forking master
    (gunicorn --preload) would start it in the wrong process, before its workers patch."""
    practice.install_test_clock(app)  # refused in production here, at start-up, not per request
    served = app.wsgi_app

    def wsgi_app(environ, start_response):
        if _sweeper_pid != os.getpid():
            start_background_tasks(app)
        return served(environ, start_response)

    app.wsgi_app = wsgi_app


def _sweep_forever(app):
    # Revocations and timers are checked every pass (a logout disconnects within a second); the
    # leases only every sixth of their lifetime: renewed when a third old, so never near expiry.
    lease_every = max(app.config["SWEEP_INTERVAL"], app.config["PRESENCE_TTL"] / 6)
    leases_due = 0.0
    while True:
        socketio.sleep(app.config["SWEEP_INTERVAL"])
        with app.app_context():
            try:
                now = time.monotonic()
                leases = now >= leases_due
                if leases:
                    leases_due = now + lease_every
                sweep_once(leases=leases)
            except Exception:  # noqa: BLE001 - the loop must survive a bad moment (a DB restart)
                db.session.rollback()
                app.logger.exception("sweep failed")
            finally:
                db.session.remove()


def sweep_once(leases: bool = True) -> None:
    """One pass: disconnect sockets that lost their login or role, fire due timers, and (with
    `leases`) renew this process's presence leases and purge expired ones (a crashed process's)."""
    for sid, reason in practice.lost_connections(process=PROCESS):
        socketio.emit("revoked", {"reason": reason}, to=sid)
        socketio.server.disconnect(sid, namespace="/")
    for session_id in practice.due_sessions():
        outcome = practice.fire_timer(session_id)
        if outcome is not None:
            broadcast(outcome)
    if not leases:
        db.session.rollback()
        return
    practice.refresh_process(PROCESS)
    for session_id in practice.purge_stale():
        broadcast_presence(session_id)
