"""Extensions, created once and bound to each app in create_app()."""
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from socketio.packet import Packet
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


class TextPacket(Packet):
    """Everything we send is JSON text: skip the walk through every outgoing payload looking for
    bytes (a tenth of the server's time per turn went there). Received packets, binary or not,
    are decoded as before. Packets are written with orjson (jsontext)."""

    uses_binary_events = False
    json = PacketJSON


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
