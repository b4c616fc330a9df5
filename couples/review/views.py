"""The review pages: a session's transcript, the progress page, and the therapist's couples, notes
and safety signals.

Transport only: each page asks access.py (through room.sessions) who the caller is, reads the
log, and renders.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import DomainError
from ..extensions import db
from ..models import Couple, PracticeSession, TherapistNote
from ..privacy import audit
from ..room import holds, log, sessions
from ..room.sockets import broadcast
from ..room.views import notes_of
from . import signals
from .cycles import latest_cycle
from .rituals import latest_ritual
from .progress import progress_data, ratings_of
from .transcripts import transcript_segments
from .vocabulary import MEASURES

bp = Blueprint("review", __name__)
NOTE_MAX = 4000
READ_SHOWN = 20  # signals already read, listed below the unread ones for reference


@bp.get("/sessions/<public_id>/transcript")
@login_required
def transcript_page(public_id):
    """The readable transcript, per exercise, with the ratings charted."""
    session = sessions.find(public_id)
    role = sessions.role_in(current_user, session, live=False)
    events = log.events_for(session, role)
    if role == "therapist":
        audit.record(current_user, "transcript_read", session.couple_id, f"session:{public_id}")
        db.session.commit()
    names = sessions.partner_names(session.couple)
    return render_template("practice/transcript.html", session=session, role=role, partners=names,
                           segments=transcript_segments(events, names, role),
                           ratings=ratings_of(events, session.created_at), measures=MEASURES,
                           notes=notes_of(session) if role == "therapist" else [])


@bp.get("/progress")
@login_required
def progress():
    """Both partners' ratings through each session, and distress, connection and exercises by week."""
    if current_user.is_therapist:
        return redirect(url_for("review.therapist_home"))
    data = progress_data(sessions.sessions_for(current_user),
                          lambda s: access.role_for(current_user, s.couple, live=False))
    return render_template("practice/progress.html", **data)


# --------------------------------------------------------------------------- therapists


@bp.get("/therapist")
@login_required
def therapist_home():
    """The consented couples, their sessions live now, their past sessions and unread signals."""
    _require_therapist()
    couple_ids = access.linked_couple_ids(current_user)
    unread = signals.unread_counts(current_user, couple_ids)
    couples = []
    for couple_id in couple_ids:
        couple = db.session.get(Couple, couple_id)
        theirs = list(db.session.scalars(select(PracticeSession).where(
            PracticeSession.couple_id == couple_id).order_by(PracticeSession.id.desc())))
        couples.append({"couple": couple, "names": sessions.partner_names(couple), "sessions": theirs,
                        "live": [s for s in theirs if s.ended_at is None], "unread": unread.get(couple_id, 0)})
    from ..pairing import live  # the page's live parts (static/js/dashboard.js)
    return render_template("therapist/home.html", couples=couples, live=live.status(current_user))


@bp.get("/therapist/couples/<int:couple_id>")
@login_required
def therapist_couple(couple_id):
    """One consented couple's unread safety signals, then their progress, as the partners see it
    on their own progress page."""
    _require_therapist()
    couple = db.session.get(Couple, couple_id)
    if couple is None or access.role_for(current_user, couple, live=False) != "therapist":
        raise DomainError("forbidden", "You do not have access to this couple.", 403)
    audit.record(current_user, "progress_read", couple_id, f"couple:{couple_id}")
    signals.record_viewed(current_user, [couple_id])
    db.session.commit()
    theirs = list(db.session.scalars(select(PracticeSession).where(
        PracticeSession.couple_id == couple_id).order_by(PracticeSession.id.desc())))
    data = progress_data(theirs, lambda s: "therapist")
    data["names"] = sessions.partner_names(couple)
    return render_template("therapist/couple.html", couple=couple,
                           ritual=latest_ritual(couple_id, "therapist"),
                           cycle=latest_cycle(couple_id, "therapist"),
                           unread=signals.signals_of(current_user, [couple_id], "unread"),
                           read=signals.signals_of(current_user, [couple_id], "read", limit=READ_SHOWN), **data)


@bp.post("/therapist/signals/<int:signal_id>/read")
@login_required
def mark_signal_read(signal_id):
    """Mark one safety signal read, for this therapist only; back to the couple's signals."""
    _require_therapist()
    signal = signals.mark_read(current_user, signal_id)
    flash("Marked as read.", "success")
    return redirect(url_for("review.therapist_couple", couple_id=signal.couple_id) + "#signals", 303)


@bp.post("/therapist/couples/<int:couple_id>/signals/read")
@login_required
def mark_couple_signals_read(couple_id):
    """Mark all of a couple's unread safety signals read, for this therapist only."""
    _require_therapist()
    marked = signals.mark_all_read(current_user, couple_id)
    flash(f"Marked {marked} signal{'' if marked == 1 else 's'} as read.", "success")
    return redirect(url_for("review.therapist_couple", couple_id=couple_id) + "#signals", 303)


@bp.post("/therapist/couples/<int:couple_id>/hold")
@login_required
def hold_practice(couple_id):
    """Put the couple's joint practice on hold; their open room learns it at once."""
    _require_therapist()
    _broadcast(holds.hold(current_user, couple_id))
    flash("Joint practice is on hold. The partners see that you paused it, never why. They can "
          "still take a time-out, pause or end a session.", "success")
    return redirect(url_for("review.therapist_couple", couple_id=couple_id) + "#hold", 303)


@bp.post("/therapist/couples/<int:couple_id>/release")
@login_required
def release_practice(couple_id):
    """Lift the hold: the partners may start joint exercises again."""
    _require_therapist()
    _broadcast(holds.release(current_user, couple_id))
    flash("Joint practice is open again.", "success")
    return redirect(url_for("review.therapist_couple", couple_id=couple_id) + "#hold", 303)


def _broadcast(outcome):
    if outcome is not None:
        broadcast(outcome)


@bp.post("/sessions/<public_id>/notes")
@login_required
def add_note(public_id):
    """A therapist's private note on a session; partners never see notes."""
    _require_therapist()
    session = sessions.find(public_id)
    if sessions.role_in(current_user, session, live=False) != "therapist":
        abort(403)
    body = (request.form.get("body") or "").strip()
    back = (url_for("room.practice_room", public_id=public_id) if request.form.get("back") == "room"
            else url_for("review.transcript_page", public_id=public_id))
    # The page's script saves without leaving the page (static/js/notes.js): it asks for JSON.
    wants_json = request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    if not body or len(body) > NOTE_MAX:
        message = f"A note needs some text (at most {NOTE_MAX} characters)."
        if wants_json:
            return {"error": {"code": "invalid_input", "message": message, "fields": {"body": message}}}, 422
        flash(message, "error")
        return redirect(back + "#notes", 303)
    note = TherapistNote(session_id=session.id, therapist_id=current_user.id, body=body)
    db.session.add(note)
    audit.record(current_user, "note_added", session.couple_id, f"session:{public_id}")
    db.session.commit()
    if wants_json:
        return {"note": {"id": note.id, "body": note.body, "created_at": note.created_at.isoformat()},
                "message": "Note saved. Only you can see it."}, 201
    flash("Note saved. Only you can see it.", "success")
    return redirect(back + "#notes", 303)


def _require_therapist():
    if not current_user.is_therapist:
        raise DomainError("forbidden", "This page is for therapists.", 403)
