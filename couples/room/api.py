"""The sessions API: start (or get) the couple's session, list sessions, read one's current view.

The blueprint has authenticated the caller (bearer token, or the cookie plus CSRF); each route
asks access.py (through sessions.role_in) what the caller may see.
"""
from .. import access
from ..exercises import engine
from ..privacy import audit
from ..web.api import api_blueprint, body, caller
from . import presence, sessions
from .clock import now
from .schemas import StartSessionBody

bp = api_blueprint("room", __name__)


@bp.post("/sessions")
def start_session():
    """Start the couple's practice session, or return the one already running."""
    body(StartSessionBody)
    user = caller()
    session, created = sessions.start_or_get(user)
    return _session_body(session, sessions.role_in(user, session, live=True)), 201 if created else 200


@bp.get("/sessions")
def list_sessions():
    user = caller()
    out = []
    for session in sessions.sessions_for(user):
        role = access.role_for(user, session.couple, live=False)
        if role is not None:
            out.append(sessions.summary(session, role))
    return {"sessions": out}


@bp.get("/sessions/<public_id>")
def get_session(public_id):
    user = caller()
    session = sessions.find(public_id)
    role = sessions.role_in(user, session, live=False)
    out = _session_body(session, role)
    audit.therapist_read(user, role, session, "session_read")
    return out


def _session_body(session, role):
    return {"session": sessions.summary(session, role), "view": engine.view(session.state, role, now()),
            "presence": presence.presence(session.id)}
