"""The practice pages: start or rejoin the couple's session, and the live room itself.

Transport only. The live room runs in the browser (static/js/room.js) over the Socket.IO protocol
in docs/protocol.md; the page gives it its configuration (ids, names, the step catalogue, and the
vocabulary's sentences, so that the room words the log as the transcript does).
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import DomainError
from ..exercises import engine
from ..extensions import db
from ..models import TherapistLink, TherapistNote, User
from ..review import vocabulary
from ..review.cycles import latest_cycle
from ..review.rituals import latest_ritual
from . import sessions

bp = Blueprint("room", __name__)


@bp.get("/practice")
@login_required
def practice_home():
    """Start or rejoin the couple's session; past sessions below."""
    if current_user.is_therapist:
        return redirect(url_for("review.therapist_home"))
    member = access.active_membership(current_user)
    mine = sessions.sessions_for(current_user)
    active = next((s for s in mine if s.ended_at is None and member
                   and s.couple_id == member.couple_id), None)
    past = [s for s in mine if s.ended_at is not None]
    # Only the active couple's ritual: a former couple's is theirs to read in its transcripts.
    ritual = latest_ritual(member.couple_id, member.seat) if member else None
    cycle = latest_cycle(member.couple_id, member.seat) if member else None
    from ..pairing import live  # the dashboard's live status reads the room
    return render_template("practice/home.html", member=member, active=active, past=past, live=live.status(current_user),
                           exercises=engine.exercise_list(), ritual=ritual, cycle=cycle,
                           names=sessions.partner_names(member.couple) if ritual or cycle else {})


@bp.post("/practice")
@login_required
def practice_start():
    try:
        session, _ = sessions.start_or_get(current_user)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("room.practice_home"), 303)
    return redirect(url_for("room.practice_room", public_id=session.public_id), 303)


@bp.get("/practice/<public_id>")
@login_required
def practice_room(public_id):
    """The live room: partners act in it, a consented therapist observes it read-only."""
    session = sessions.find(public_id)
    if session is not None and session.ended_at is not None:
        return redirect(url_for("review.transcript_page", public_id=public_id))
    role = sessions.role_in(current_user, session, live=True)
    return render_template("practice/room.html", session=session, role=role,
                           partners=sessions.partner_names(session.couple), config=_room_config(session, role),
                           notes=notes_of(session) if role == "therapist" else [])


def notes_of(session) -> list:
    """The current therapist's own private notes on a session."""
    return list(db.session.scalars(select(TherapistNote).where(
        TherapistNote.session_id == session.id, TherapistNote.therapist_id == current_user.id)
        .order_by(TherapistNote.id)))


# --------------------------------------------------------------------------- room config


def _room_config(session, role) -> dict:
    """What room.js needs besides the socket: ids, names, every step's title and labels, and the
    sentences of the log (review/vocabulary.py)."""
    return {"session_id": session.public_id, "role": role, "partners": sessions.partner_names(session.couple),
            "me": current_user.display_name,
            "transcript_url": url_for("review.transcript_page", public_id=session.public_id),
            "home_url": url_for("review.therapist_home" if role == "therapist" else "room.practice_home"),
            "login_url": url_for("accounts.login", next=request.path),
            "steps": vocabulary.catalogue(), "measures": vocabulary.MEASURES,
            "sentences": vocabulary.export(),
            "started_at": session.created_at.isoformat(),
            # The couple's named cycle ("Our cycle"), for the pause panel to refer to; or null.
            "cycle": _cycle(session.couple_id, role),
            # Who besides the partner sees a private answer (the safety question): the page says so.
            "therapists": _linked_therapists(session.couple_id) if role in ("a", "b") else []}


def _cycle(couple_id: int, role: str) -> dict | None:
    cycle = latest_cycle(couple_id, role)
    return {"name": cycle["name"], "sign": cycle["sign"]} if cycle else None


def _linked_therapists(couple_id: int) -> list[str]:
    """Display names of the therapists the couple has an active link to (access.link_is_active)."""
    return list(db.session.scalars(select(User.display_name).join(
        TherapistLink, TherapistLink.therapist_id == User.id).where(
        TherapistLink.couple_id == couple_id, access.link_is_active()).order_by(TherapistLink.id)))
