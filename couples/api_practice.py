"""JSON API for practice sessions and transcripts (routes on the /api/v1 blueprint).

The blueprint's before_request has already authenticated the caller (bearer token, or the cookie
plus CSRF); each route asks couples/access.py (through practice.role_in) what the caller may see.
"""
from flask import request
from flask_login import current_user

from . import access, audit, practice
from .api import body, bp
from .exercises import engine
from .extensions import db
from .practice_schemas import EventsQuery, StartSessionBody


def _user():
    return current_user._get_current_object()


@bp.post("/sessions")
def start_session():
    """Start the couple's practice session, or return the one already running."""
    body(StartSessionBody)
    user = _user()
    session, created = practice.start_or_get(user)
    return _session_body(session, practice.role_in(user, session, live=True)), 201 if created else 200


@bp.get("/sessions")
def list_sessions():
    user = _user()
    out = []
    for session in practice.sessions_for(user):
        role = access.role_for(user, session.couple, live=False)
        if role is not None:
            out.append(practice.summary(session, role))
    return {"sessions": out}


@bp.get("/sessions/<public_id>")
def get_session(public_id):
    user = _user()
    session = practice.find(public_id)
    role = practice.role_in(user, session, live=False)
    out = _session_body(session, role)
    _audit_read(user, role, session, "session_read")
    return out


def _session_body(session, role):
    return {"session": practice.summary(session, role),
            "view": engine.view(session.state, role, practice.now()),
            "presence": practice.presence(session.id)}


@bp.get("/sessions/<public_id>/events")
def session_events(public_id):
    """The caller's events after `after` (their own seq), at most `limit`, in order."""
    user = _user()
    session = practice.find(public_id)
    role = practice.role_in(user, session, live=False)
    query = EventsQuery().load(request.args.to_dict())
    events = practice.events_for(session, role, query["after"], query["limit"] + 1)
    more = len(events) > query["limit"]
    events = events[:query["limit"]]
    _audit_read(user, role, session, "session_events_read", {"after": query["after"]})
    return {"events": events, "next_after": events[-1]["seq"] if more else None}


@bp.get("/sessions/<public_id>/transcript")
def session_transcript(public_id):
    user = _user()
    session = practice.find(public_id)
    role = practice.role_in(user, session, live=False)
    out = practice.transcript(session, role)
    _audit_read(user, role, session, "transcript_read")
    return out


def _audit_read(user, role, session, action, detail=None):
    """A therapist's read of a couple's log is recorded in the tamper-evident audit trail."""
    if role != "therapist":
        return
    audit.record(user, action, session.couple_id, f"session:{session.public_id}", detail)
    db.session.commit()
