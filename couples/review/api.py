"""The review API: a session's events in the caller's numbering, and its transcript."""
from flask import request

from ..privacy import audit
from ..room import log, sessions
from ..web.api import api_blueprint, caller
from . import transcripts
from .schemas import EventsQuery

bp = api_blueprint("review", __name__)


@bp.get("/sessions/<public_id>/events")
def session_events(public_id):
    """The caller's events after `after` (their own seq), at most `limit`, in order."""
    user = caller()
    session = sessions.find(public_id)
    role = sessions.role_in(user, session, live=False)
    query = EventsQuery().load(request.args.to_dict())
    events = log.events_for(session, role, query["after"], query["limit"] + 1)
    more = len(events) > query["limit"]
    events = events[:query["limit"]]
    audit.therapist_read(user, role, session, "session_events_read", {"after": query["after"]})
    return {"events": events, "next_after": events[-1]["seq"] if more else None}


@bp.get("/sessions/<public_id>/transcript")
def session_transcript(public_id):
    user = caller()
    session = sessions.find(public_id)
    role = sessions.role_in(user, session, live=False)
    out = transcripts.transcript(session, role)
    audit.therapist_read(user, role, session, "transcript_read")
    return out
