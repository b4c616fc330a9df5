"""Extensions, created once and bound to each app in create_app()."""
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from socketio.packet import BINARY_EVENT, EVENT, Packet
from sqlalchemy.orm import DeclarativeBase

from .jsontext import PacketJSON


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = SocketIO()


# Event names a client may never send: the library dispatches an EVENT packet named "connect"
# or "disconnect" straight to the lifecycle handlers (a client could delete its own connection
# row), and Flask-SocketIO gives "message", "json" and "*" their own meaning. The rest are the
# client libraries' own lifecycle names, refused so that no future handler can be reached by them.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "disconnecting", "message",
                             "json", "*", "error", "newListener", "removeListener", "ping", "pong",
                             "reconnect", "reconnect_attempt", "reconnect_error", "reconnect_failed"})
# What a refused name is renamed to on arrival: no handler has it, so the catch-all answers it.
REFUSED_EVENT = "refused event"


class TextPacket(Packet):
    """Everything we send is JSON text: skip the walk through every outgoing payload looking for
    bytes (a tenth of the server's time per turn went there). Packets are written with orjson
    (jsontext). A received event whose name is reserved, or not a name at all, is renamed
    REFUSED_EVENT before any handler is looked up (the serializer is the library's documented
    hook into decoding)."""

    uses_binary_events = False
    json = PacketJSON

    def decode(self, encoded_packet):
        attachments = super().decode(encoded_packet)
        if self.packet_type in (EVENT, BINARY_EVENT):
            data = self.data
            if not isinstance(data, list) or not data:
                self.data = [REFUSED_EVENT]
            elif not isinstance(data[0], str) or data[0] in RESERVED_EVENTS or data[0] == REFUSED_EVENT:
                self.data = [REFUSED_EVENT, *data[1:]]
        return attachments


class SocketEventSessions(SecureCookieSessionInterface):
    """The cookie session, not decoded again for every Socket.IO event.

    Flask-SocketIO runs each event in a request context, whose push opens (verifies and decodes)
    the session cookie; from the second event on it swaps in its own copy, kept in the socket's
    environ as "saved_session", so that work was thrown away on every event (4 % of the server's
    time per turn). The first event (the connect) still opens the real cookie session."""

    def open_session(self, app, request):
        if "saved_session" in request.environ:
            return self.session_class()  # replaced at once by Flask-SocketIO's copy
        return super().open_session(app, request)
