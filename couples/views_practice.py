"""HTML pages for the practice room, transcripts, progress and the therapist's views.

Routes live on the `views` blueprint. Transport only: each page asks `practice` / `access` who
the caller is in a session, reads the event log, and renders. The live room itself runs in the
browser (static/js/room.js) over the Socket.IO protocol in docs/protocol.md.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from . import access, audit, practice, times
from .errors import DomainError
from .exercises import engine
from .extensions import db
from .models import Couple, PracticeSession, TherapistNote
from .views import bdi, bp

MEASURES = {"suds": "Distress", "connected": "Connection", "arousal": "Stirred up"}
# The engine's check-in and check-out around every exercise (a time-out has only the check-out).
PHASES = {"suds_before": "before", "suds_after": "after"}
WEEKLY_MEASURES = ("suds", "connected")
NOTE_MAX = 4000


# --------------------------------------------------------------------------- partners


@bp.get("/practice")
@login_required
def practice_home():
    """Start or rejoin the couple's session; past sessions below."""
    if current_user.is_therapist:
        return redirect(url_for("views.therapist_home"))
    member = access.active_membership(current_user)
    sessions = practice.sessions_for(current_user)
    active = next((s for s in sessions if s.ended_at is None and member
                   and s.couple_id == member.couple_id), None)
    past = [s for s in sessions if s.ended_at is not None]
    return render_template("practice/home.html", member=member, active=active, past=past,
                           exercises=engine.exercise_list())


@bp.post("/practice")
@login_required
def practice_start():
    try:
        session, _ = practice.start_or_get(current_user)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("views.practice_home"), 303)
    return redirect(url_for("views.practice_room", public_id=session.public_id), 303)


@bp.get("/practice/<public_id>")
@login_required
def practice_room(public_id):
    """The live room: partners act in it, a consented therapist observes it read-only."""
    session = practice.find(public_id)
    if session is not None and session.ended_at is not None:
        return redirect(url_for("views.transcript_page", public_id=public_id))
    role = practice.role_in(current_user, session, live=True)
    return render_template("practice/room.html", session=session, role=role,
                           partners=_names(session), config=_room_config(session, role),
                           notes=_notes(session) if role == "therapist" else [])


@bp.get("/sessions/<public_id>/transcript")
@login_required
def transcript_page(public_id):
    """The readable transcript, per exercise, with the ratings charted."""
    session = practice.find(public_id)
    role = practice.role_in(current_user, session, live=False)
    events = practice.events_for(session, role)
    if role == "therapist":
        audit.record(current_user, "transcript_read", session.couple_id, f"session:{public_id}")
        db.session.commit()
    names = _names(session)
    return render_template("practice/transcript.html", session=session, role=role, partners=names,
                           segments=transcript_segments(events, names, role),
                           ratings=ratings_of(events, session.created_at), measures=MEASURES,
                           notes=_notes(session) if role == "therapist" else [])


@bp.get("/progress")
@login_required
def progress():
    """Both partners' ratings through each session, and distress, connection and exercises by week."""
    if current_user.is_therapist:
        return redirect(url_for("views.therapist_home"))
    data = _progress_data(practice.sessions_for(current_user),
                          lambda s: access.role_for(current_user, s.couple, live=False))
    return render_template("practice/progress.html", **data)


# --------------------------------------------------------------------------- therapists


@bp.get("/therapist")
@login_required
def therapist_home():
    """The consented couples, their sessions live now, and their past sessions."""
    _require_therapist()
    couples = []
    for couple_id in access.linked_couple_ids(current_user):
        couple = db.session.get(Couple, couple_id)
        sessions = list(db.session.scalars(select(PracticeSession).where(
            PracticeSession.couple_id == couple_id).order_by(PracticeSession.id.desc())))
        couples.append({"couple": couple, "names": _names_of(couple), "sessions": sessions,
                        "live": [s for s in sessions if s.ended_at is None]})
    return render_template("therapist/home.html", couples=couples)


@bp.get("/therapist/couples/<int:couple_id>")
@login_required
def therapist_couple(couple_id):
    """One consented couple's progress, as the partners see it on their own progress page."""
    _require_therapist()
    couple = db.session.get(Couple, couple_id)
    if couple is None or access.role_for(current_user, couple, live=False) != "therapist":
        raise DomainError("forbidden", "You do not have access to this couple.", 403)
    audit.record(current_user, "progress_read", couple_id, f"couple:{couple_id}")
    db.session.commit()
    sessions = list(db.session.scalars(select(PracticeSession).where(
        PracticeSession.couple_id == couple_id).order_by(PracticeSession.id.desc())))
    data = _progress_data(sessions, lambda s: "therapist")
    data["names"] = _names_of(couple)
    return render_template("therapist/couple.html", couple=couple, **data)


@bp.post("/sessions/<public_id>/notes")
@login_required
def add_note(public_id):
    """A therapist's private note on a session; partners never see notes."""
    _require_therapist()
    session = practice.find(public_id)
    if practice.role_in(current_user, session, live=False) != "therapist":
        abort(403)
    body = (request.form.get("body") or "").strip()
    back = (url_for("views.practice_room", public_id=public_id) if request.form.get("back") == "room"
            else url_for("views.transcript_page", public_id=public_id))
    if not body or len(body) > NOTE_MAX:
        flash(f"A note needs some text (at most {NOTE_MAX} characters).", "error")
        return redirect(back + "#notes", 303)
    db.session.add(TherapistNote(session_id=session.id, therapist_id=current_user.id, body=body))
    audit.record(current_user, "note_added", session.couple_id, f"session:{public_id}")
    db.session.commit()
    flash("Note saved. Only you can see it.", "success")
    return redirect(back + "#notes", 303)


def _require_therapist():
    if not current_user.is_therapist:
        raise DomainError("forbidden", "This page is for therapists.", 403)


def _notes(session) -> list:
    return list(db.session.scalars(select(TherapistNote).where(
        TherapistNote.session_id == session.id, TherapistNote.therapist_id == current_user.id)
        .order_by(TherapistNote.id)))


# --------------------------------------------------------------------------- room config


def _room_config(session, role) -> dict:
    """What room.js needs besides the socket: ids, names, and every step's title and labels."""
    interrupt = next((e for e in engine.EXERCISES.values() if e.interrupts), None)
    call = interrupt.step(interrupt.first) if interrupt else None
    return {"session_id": session.public_id, "role": role, "partners": _names(session),
            "me": current_user.display_name,
            "transcript_url": url_for("views.transcript_page", public_id=session.public_id),
            "home_url": url_for("views.therapist_home" if role == "therapist" else "views.practice_home"),
            "login_url": url_for("auth.login", next=request.path),
            "steps": _step_catalogue(), "measures": MEASURES,
            "started_at": session.created_at.isoformat(),
            "timeout_call": engine.describe(call.schema) if call else None}


def _step_catalogue() -> dict:
    """exercise -> {title, steps: {step: {title, labels: {field: label}, options: {...}}}}."""
    out = {}
    for ex in engine.EXERCISES.values():
        steps = {}
        for name in ex._order:
            step = ex.step(name)
            fields = engine.describe(step.schema) + (engine.describe(step.log) if step.log else [])
            steps[name] = {"title": step.title or name.replace("_", " ").capitalize(),
                           "labels": {f["name"]: f["label"] for f in fields},
                           "kinds": {f["name"]: f["kind"] for f in fields},
                           "options": {f["name"]: f["labels"] for f in fields if f.get("labels")}}
        out[ex.key] = {"title": ex.title, "steps": steps}
    return out


def _names(session) -> dict:
    return _names_of(session.couple)


def _names_of(couple) -> dict:
    names = {m.seat: (m.user.display_name if m.user else f"Partner {m.seat.upper()}")
             for m in couple.members}
    return {"a": names.get("a", "Partner A"), "b": names.get("b", "Partner B")}


# --------------------------------------------------------------------------- transcript


def _field(exercise, step, name):
    ex = engine.EXERCISES.get(exercise)
    try:
        schema = ex.step(step).schema or ex.step(step).log
        return schema._declared_fields.get(name)
    except (AttributeError, KeyError):
        return None


def _step_title(exercise, step) -> str:
    ex = engine.EXERCISES.get(exercise)
    try:
        return ex.step(step).title or step.replace("_", " ").capitalize()
    except (AttributeError, KeyError):
        return (step or "").replace("_", " ").capitalize()


def _answers(exercise, step, data: dict) -> tuple[list, list]:
    """(texts, ratings): each answer as (label, shown value), ratings apart from words."""
    texts, ratings = [], []
    for name, value in (data or {}).items():
        if value is None or value == "":
            continue
        f = _field(exercise, step, name)
        md = f.metadata if f is not None else {}
        label = md.get("label", name.replace("_", " ").capitalize())
        if md.get("kind") == "rating":
            ratings.append((MEASURES.get(name, label), value))
            continue
        if md.get("kind") == "bool" or isinstance(value, bool):
            value = "Yes" if value else "No"
        elif md.get("labels"):
            value = md["labels"].get(value, value)
        elif md.get("kind") == "minutes":
            value = f"{value} minutes"
        texts.append((label, value))
    return texts, ratings


def describe_event(ev: dict, names: dict, viewer: str) -> dict | None:
    """One transcript entry: who, a short sentence, answers and ratings; None to leave it out."""
    d, kind = ev["data"], ev["type"]
    who = names.get(ev["actor"]) if ev["actor"] else None
    entry = {"seq": ev["seq"], "at": ev["at"], "who": who, "seat": ev["actor"], "kind": kind,
             "text": "", "answers": [], "ratings": []}
    if kind in ("step_submitted", "step_logged"):
        entry["who"], entry["seat"] = names.get(d.get("by")), d.get("by")
        entry["text"] = _step_title(d.get("exercise"), d.get("step"))
        entry["answers"], entry["ratings"] = _answers(d.get("exercise"), d.get("step"), d.get("data"))
        return entry
    text = _sentence(kind, d, names, viewer)
    if text is None:
        return None
    entry["text"], entry["who"] = text, None  # the sentence names whoever acted
    return entry


def _sentence(kind, d, names, viewer):
    """The sentence for one event, as Markup: names and the partners' own words go in escaped
    inside `<bdi>`, so that a right-to-left name cannot reorder the sentence around it."""
    name = lambda seat: bdi(names.get(seat, "The session")) if seat else "The session"  # noqa: E731
    said = lambda key: bdi(d.get(key))  # noqa: E731
    sentences = {
        "exercise_started": lambda: f"{d.get('title') or d.get('exercise')} started.",
        "speaker_chosen": lambda: Markup("{} goes first.").format(name(d.get("speaker"))),
        "roles_swapped": lambda: Markup("Roles swapped: {} speaks now.").format(name(d.get("speaker"))),
        "timer_started": lambda: f"Break of {d.get('minutes')} minutes started.",
        "timer_fired": lambda: "The agreed break time was reached.",
        "return_time_agreed": lambda: f"Agreed break: {d.get('minutes')} minutes.",
        "break_extended": lambda: f"The break was extended by {d.get('minutes')} minutes.",
        "next_step_chosen": lambda: f"Next step chosen: {d.get('choice')}.",
        "needs_outcome": lambda: _outcome(d),
        "exercise_completed": lambda: "Exercise completed.",
        "exercise_interrupted": lambda: Markup("{} called a time-out.").format(name(d.get("by"))),
        "exercise_resumed": lambda: "Back to the exercise.",
        "exercise_abandoned": lambda: "The earlier exercise was set aside.",
        "paused": lambda: Markup("{} paused the session.").format(name(d.get("by"))),
        "pause_reason": lambda: Markup("Private reason for the pause: {}").format(said("reason")),
        "partner_ready": lambda: Markup("{} is ready to continue.").format(name(d.get("partner"))),
        "resumed": lambda: "Both were ready; the session continued.",
        "session_ready": lambda: "Both answered the private question. Ready to begin.",
        "not_today": lambda: d.get("message"),
        "safety_answered": lambda: ("You said it feels safe." if d.get("safe")
                                    else "You said it does not feel safe right now."),
        "safety_concern": lambda: Markup("{} said it does not feel safe right now.").format(name(d.get("partner"))),
        "safety_checked": lambda: Markup("{} said it feels safe.").format(name(d.get("partner"))),
        "session_ended": lambda: _ended(d, name),
        "end_reason": lambda: Markup("Private reason for ending: {}").format(said("reason")),
    }
    make = sentences.get(kind)
    return make() if make else None


def _outcome(d):
    result = {"agreed": Markup("Agreed: \u201c{}\u201d.").format(bdi(d.get("agreement"))),
              "declined": "The request was declined kindly.",
              "to_revisit": "Noted to revisit another time."}.get(d.get("outcome"), "Recorded.")
    if d.get("follow_up_date"):
        result += Markup(" Check in on {}.").format(d["follow_up_date"])
    return result


def _ended(d, name):
    if d.get("reason") == "rescheduled":
        return "The session ended, to continue another time."
    if d.get("by"):
        return Markup("{} ended the session.").format(name(d.get("by")))
    return "The session ended."


def transcript_segments(events: list, names: dict, viewer: str) -> list:
    """Events folded into one segment per exercise (and one for what came before)."""
    segments = [{"title": "Before the exercises", "exercise": None, "started_at": None,
                 "ended_at": None, "entries": []}]
    stack = []
    for ev in events:
        if ev["type"] == "exercise_started":
            seg = {"title": ev["data"].get("title") or ev["data"].get("exercise"),
                   "exercise": ev["data"].get("exercise"), "started_at": ev["at"],
                   "ended_at": None, "entries": []}
            segments.append(seg)
            stack.append(seg)
        current = stack[-1] if stack else segments[0] if len(segments) == 1 else segments[-1]
        entry = describe_event(ev, names, viewer)
        if entry is not None:
            current["entries"].append(entry)
        if ev["type"] in ("exercise_completed", "exercise_abandoned") and stack:
            stack.pop()["ended_at"] = ev["at"]
        elif ev["type"] == "session_ended":
            for seg in stack:
                seg["ended_at"] = ev["at"]
            stack.clear()
    return [s for s in segments if s["entries"]]


# --------------------------------------------------------------------------- ratings and progress


def _parse(at) -> datetime:
    return at if isinstance(at, datetime) else datetime.fromisoformat(at)


def ratings_of(events: list, started_at: datetime) -> list:
    """Every 0-10 rating given in a session: who, what, when (minutes since the start), where."""
    start = _parse(started_at)
    out = []
    for ev in events:
        if ev["type"] != "step_submitted":
            continue
        d = ev["data"]
        for key, value in (d.get("data") or {}).items():
            if key in MEASURES and isinstance(value, int):
                out.append({"seat": d.get("by"), "measure": key, "value": value, "step_id": d.get("step_id"),
                            "minutes": round((_parse(ev["at"]) - start).total_seconds() / 60, 1),
                            "at": ev["at"], "step": _step_title(d.get("exercise"), d.get("step")),
                            "exercise": d.get("exercise"), "phase": PHASES.get(d.get("step"))})
    return out


def _week(at) -> str:
    day = _parse(at).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def before_after_pairs(ratings: list) -> list:
    """(check-in, check-out) of one partner and measure around each exercise they finished.

    A check-in waits for the same exercise's check-out; one that never came (the exercise was set
    aside, the session ended) is dropped, and so is a check-out without a check-in (a time-out),
    so that "before" and "after" always describe the same exercises.
    """
    waiting, pairs = {}, []
    for r in ratings:
        key = (r["seat"], r["exercise"], r["measure"])
        if r["phase"] == "before":
            waiting[key] = r
        elif r["phase"] == "after" and key in waiting:
            pairs.append((waiting.pop(key), r))
    return pairs


def _before_after(pairs: list) -> dict:
    """Mean before, mean after, and the change between them (as shown, so the table adds up)."""
    if not pairs:
        return {"before": None, "after": None, "change": None, "count": 0}
    before = round(sum(b for b, _ in pairs) / len(pairs), 1)
    after = round(sum(a for _, a in pairs) / len(pairs), 1)
    return {"before": before, "after": after, "change": round(after - before, 1), "count": len(pairs)}


def _progress_data(sessions, role_of) -> dict:
    """Per session: its ratings. Per week and partner: distress and connection before and after
    the exercises finished that week, and how many exercises were completed."""
    per_session = []
    weeks = defaultdict(lambda: {"done": 0, **{m: {"a": [], "b": []} for m in WEEKLY_MEASURES}})
    for session in sorted(sessions, key=lambda s: s.id):
        role = role_of(session)
        if role is None:
            continue
        events = practice.events_for(session, role)
        ratings = ratings_of(events, session.created_at)
        per_session.append({"id": session.public_id, "at": times.iso_utc(session.created_at),
                            "label": times.utc_text(session.created_at),
                            "ratings": ratings, "names": _names(session),
                            "url": url_for("views.transcript_page", public_id=session.public_id)})
        for before, after in before_after_pairs(ratings):
            if after["measure"] in WEEKLY_MEASURES and after["seat"] in ("a", "b"):
                weeks[_week(after["at"])][after["measure"]][after["seat"]].append((before["value"], after["value"]))
        for ev in events:
            if ev["type"] == "exercise_completed":
                weeks[_week(ev["at"])]["done"] += 1
    weekly = [{"week": w, "label": times.day_text(datetime.fromisoformat(w)), "done": v["done"],
               **{m: {p: _before_after(v[m][p]) for p in "ab"} for m in WEEKLY_MEASURES}}
              for w, v in sorted(weeks.items())]
    names = per_session[-1]["names"] if per_session else {"a": "Partner A", "b": "Partner B"}
    return {"sessions": list(reversed(per_session)), "weekly": weekly, "names": names}
