"""The review API: a session's events in the caller's numbering, its transcript, and a therapist's
safety signals."""
from flask import request

from ..extensions import db
from ..fields import EmptySchema
from ..privacy import audit
from ..room import holds, log, sessions
from ..room.sockets import broadcast
from ..web.api import api_blueprint, body, caller, reply
from . import signals, transcripts
from .schemas import EventsQuery, HoldOut, SignalMarkedOut, SignalsMarkedOut, SignalsOut, SignalsQuery

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


# --------------------------------------------------------------------------- safety signals


def _signal_body(signal: signals.Signal) -> dict:
    return {"id": signal.id, "couple_id": signal.couple_id, "session_id": signal.session, "at": signal.at,
            "type": signal.type, "partners": [{"seat": s, "display_name": n} for s, n in signal.partners],
            "text": signal.text, "words": signal.words, "rating": signal.rating, "return_at": signal.return_at,
            "read_at": signal.read_at}


@bp.get("/therapist/signals")
def therapist_signals():
    """The safety signals of the caller's linked couples (or of one), newest first, with each
    couple's unread count. Therapists only; each couple's view is audited."""
    user = caller()
    query = SignalsQuery().load(request.args.to_dict())
    couple_ids = signals.linked(user, query["couple_id"])
    found = signals.signals_of(user, couple_ids, query["state"], query["limit"])
    counts = signals.unread_counts(user, couple_ids)
    signals.record_viewed(user, couple_ids)
    db.session.commit()
    return reply(SignalsOut, {"signals": [_signal_body(s) for s in found],
                              "unread": [{"couple_id": c, "unread": n} for c, n in counts.items()]})


@bp.post("/therapist/signals/<int:signal_id>/read")
def mark_signal_read(signal_id):
    """Mark one signal read, for the caller only (404 `not_found` unless it is theirs to see)."""
    user = caller()
    body(EmptySchema)
    return reply(SignalMarkedOut, {"signal": _signal_body(signals.mark_read(user, signal_id))})


@bp.post("/therapist/couples/<int:couple_id>/signals/read")
def mark_couple_signals_read(couple_id):
    """Mark all of a linked couple's unread signals read, for the caller only."""
    user = caller()
    body(EmptySchema)
    return reply(SignalsMarkedOut, {"marked": signals.mark_all_read(user, couple_id)})


# --------------------------------------------------------------------------- a hold on joint practice


def _hold_body(couple_id: int) -> dict:
    since = holds.held_since(couple_id)
    return {"couple_id": couple_id, "held": since is not None, "held_at": since}


@bp.post("/therapist/couples/<int:couple_id>/hold")
def hold_practice(couple_id):
    """Put the couple's joint practice on hold (again: nothing changes); their room learns it live."""
    user = caller()
    body(EmptySchema)
    outcome = holds.hold(user, couple_id)
    if outcome is not None:
        broadcast(outcome)
    return reply(HoldOut, _hold_body(couple_id))


@bp.post("/therapist/couples/<int:couple_id>/release")
def release_practice(couple_id):
    """Lift the hold on the couple's joint practice."""
    user = caller()
    body(EmptySchema)
    outcome = holds.release(user, couple_id)
    if outcome is not None:
        broadcast(outcome)
    return reply(HoldOut, _hold_body(couple_id))
