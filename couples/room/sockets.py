"""Socket.IO handlers: transport only (authenticate, validate, call the service, broadcast, ack).

Every event re-reads who the socket is from the database (its row, its login, the user's live
role), because a socket handler only sees a copy of the session taken at connect. A broadcast
goes socket by socket to the session's viewers whose login and role were live at its commit,
each getting only the events in its audience. Client event names that are reserved never reach
a handler (room/packets.py). See docs/protocol.md.
"""
import functools

from flask import current_app, request
from flask_login import current_user
# Socket.IO's own refusal, not Python's builtin of the same name: only this one carries our
# {"code", "message"} to the client (err.data in the JavaScript client).
from flask_socketio import ConnectionRefusedError, disconnect
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout

from ..accounts import service as accounts
from ..errors import DomainError, invalid
from ..extensions import db, socketio
from ..models import PracticeSession
from . import entering, log, presence, ratelimit, turns
from .clock import now
from .schemas import ActionSchema, HeartbeatSchema, JoinSchema, LeaveSchema

UNAUTHENTICATED = {"code": "unauthenticated", "message": "Please log in."}
CONNECTS_LIMITED = {"code": "rate_limited",
                    "message": "Too many connections just now. Please wait a minute, then try again."}


# --------------------------------------------------------------------------- connecting


@socketio.on("connect")
def on_connect(auth=None):
    """Accept a cookie login, or a bearer token in `auth` or the Authorization header; never a
    query parameter. Anything else is refused before the socket can receive a thing. Connects are
    limited per client address (before the credentials are read) and per person (ratelimit.py)."""
    if not ratelimit.may_connect_from(request.remote_addr):
        _refuse(CONNECTS_LIMITED)
    user = _authenticate(auth)
    if user is None or user.auth_row_id is None:
        _refuse(UNAUTHENTICATED)
    if not ratelimit.may_connect_as(user.id):
        _refuse(CONNECTS_LIMITED)
    presence.open_connection(request.sid, user, user.auth_row_id, presence.PROCESS)
    ratelimit.connected(request.sid, user.id)


def _refuse(why: dict):
    """connect_error with the one error shape's code and message (err.data in the JS client)."""
    db.session.rollback()
    raise ConnectionRefusedError(why["message"], why)


def _authenticate(auth):
    if isinstance(auth, dict) and "token" in auth:
        return accounts.load_user(auth["token"], "token")  # load_user refuses non-text itself
    if current_user.is_authenticated:  # the session cookie, or an Authorization: Bearer header
        return current_user._get_current_object()
    return None


@socketio.on("disconnect")
def on_disconnect(*_reason):
    ratelimit.forget(request.sid)
    session_id = entering.disconnected(request.sid)
    if session_id is not None:
        broadcast_presence(session_id)


# --------------------------------------------------------------------------- the handler shape


def _error(err: DomainError) -> dict:
    return {"ok": False, "error": err.to_dict()}


def socket_event(name, schema_cls, identified=True):
    """Register a handler that turns every refusal into the error ack. `identified`: the socket's
    user is re-read (and its login checked) before the payload, and passed in as `me`."""
    schema = schema_cls()  # stateless when loading: one instance serves every event

    def wrap(fn):
        @functools.wraps(fn)
        def handle(data=None):
            try:
                if not ratelimit.allow(request.sid):
                    raise DomainError("rate_limited", "Too many messages at once; please slow down.", 429)
                if not identified:
                    return fn(schema.load(data if data is not None else {}))
                me = presence.identify(request.sid)
                if me is None:
                    raise turns.unauthenticated()
                return fn(me, schema.load(data if data is not None else {}))
            except ValidationError as err:
                db.session.rollback()
                return _error(invalid(err))
            except DomainError as err:
                db.session.rollback()
                if err.code == "unauthenticated":
                    disconnect()
                return _error(err)
            except Exception as err:  # noqa: BLE001 - logged; the client gets the one error shape
                return _failed(name, err)

        socketio.on_event(name, handle)
        return handle

    return wrap


def _failed(name: str, err: Exception) -> dict:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone with the database
        pass
    if _database_unavailable(err):  # nothing was acknowledged: the client resends (same id)
        current_app.logger.warning("socket handler %s: database unavailable (%s)", name, type(err).__name__)
        return _error(DomainError("unavailable", "The service is briefly unavailable and could not "
                                  "confirm this. Please send it again (with the same id it is never "
                                  "applied twice).", 503))
    current_app.logger.exception("socket handler %s failed", name)
    return _error(DomainError("server_error", "Something went wrong on our side.", 500))


def _database_unavailable(err: Exception) -> bool:
    """A lost, refused or exhausted database connection (not a bug, not a constraint)."""
    return isinstance(err, (OperationalError, InterfaceError, PoolTimeout)) or bool(
        getattr(err, "connection_invalidated", False))


# --------------------------------------------------------------------------- events


@socket_event("join", JoinSchema)
def on_join(me, payload):
    ack, changed = entering.join(request.sid, me, payload["session_id"], payload["last_seq"])
    for session_id in changed:
        broadcast_presence(session_id)
    return ack


@socket_event("action", ActionSchema, identified=False)
def on_action(payload):
    outcome = turns.act(request.sid, payload)
    broadcast(outcome)
    return outcome.ack


@socket_event("heartbeat", HeartbeatSchema)
def on_heartbeat(me, payload):
    # Its whole work is the login re-check (done above); leases are renewed by this process's
    # sweeper for all its sockets at once (engine.io's ping drops a vanished client).
    return {"ok": True, "server_now": now().isoformat()}


@socket_event("leave", LeaveSchema)
def on_leave(me, payload):
    broadcast_presence(entering.leave(request.sid, me, payload["session_id"]))
    return {"ok": True}


@socketio.on("*")
def on_unknown_event(event, *_args):
    """Any other event name, including the reserved ones (room/packets.py renames those): an
    error ack, and nothing else happens."""
    if not ratelimit.allow(request.sid):
        return _error(DomainError("rate_limited", "Too many messages at once; please slow down.", 429))
    return _error(DomainError("unknown_event", "There is no such event.", 400))


# --------------------------------------------------------------------------- broadcast


def broadcast(outcome: turns.Outcome) -> None:
    """Send each viewer ONE `update`: the committed events it may see, numbered in its own log,
    and its new view when that changed; to the sockets whose access was live at the commit (the
    audience of the epoch the write was made in).
    A client whose log ends before `last_seq` missed a message and rejoins for the rest."""
    viewers = presence.audience(outcome.session_id, outcome.audience_epoch)
    messages = {}
    for sid, viewer in viewers:
        if viewer not in messages:
            messages[viewer] = _update_for(outcome, viewer)
        if messages[viewer] is not None:
            socketio.emit("update", messages[viewer], to=sid)


def _update_for(outcome: turns.Outcome, viewer: str) -> dict | None:
    """The viewer's `update` for this outcome, or None when it has nothing new."""
    n, events = outcome.base.get(viewer, 0), []
    for e in outcome.events:
        if viewer in e["audience"]:
            n += 1
            events.append(log.public_event(n, e["type"], e["actor"], e["data"], e["at"]))
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
    data = {"session_id": session.public_id, "presence": presence.presence(session_id)}
    # End the read's transaction before sending: with several processes each send is a Redis
    # publish, and an open transaction would hold its snapshot and table locks across them.
    db.session.commit()
    for sid, _viewer in presence.audience(session_id):
        socketio.emit("presence", data, to=sid)
