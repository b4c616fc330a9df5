"""Work Flask does for every Socket.IO event that the events do not need. Each is on unless
switched off by name in COUPLES_PERF_OFF."""
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from . import enabled

# Flask-SocketIO's default path, which the app keeps. Engine.IO's middleware takes every request
# under it, so Flask sees it only in event contexts; "/socket.io" itself is an ordinary 404 page.
SOCKET_PATH = "/socket.io/"


class SocketEventSessions(SecureCookieSessionInterface):
    """`cookie_once`: the cookie session is not decoded again for every Socket.IO event.

    Flask-SocketIO runs each event in a request context, whose push opens (verifies and decodes)
    the session cookie; from the second event on it swaps in its own copy, kept in the socket's
    environ as "saved_session", so that work was thrown away on every event. The first event
    (the connect) still opens the real cookie session."""

    def open_session(self, app, request):
        if "saved_session" in request.environ:
            return self.session_class()  # replaced at once by Flask-SocketIO's copy
        return super().open_session(app, request)


class CouplesApp(Flask):
    def create_url_adapter(self, request):
        """`no_url_match`: no URL matching for Socket.IO events. Flask-SocketIO pushes a request
        context for every event, built from the handshake's environ (/socket.io/, which the
        Engine.IO middleware answers before Flask ever sees it). Matching that path failed on
        every event and left a reference cycle in werkzeug's matcher for the collector."""
        if (request is not None and request.environ.get("PATH_INFO", "").startswith(SOCKET_PATH)
                and enabled("no_url_match")):
            return None
        return super().create_url_adapter(request)


def install(app: Flask) -> None:
    if enabled("cookie_once"):
        app.session_interface = SocketEventSessions()
