"""Transcripts: a session's log folded into one segment per exercise, for the page and the API."""
from __future__ import annotations

from ..exercises import engine
from ..room import log, sessions
from .vocabulary import describe_event


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


def transcript(session: PracticeSession, viewer: str) -> dict:
    """A readable transcript per exercise: a fold over the events the viewer may see."""
    names = sessions.summary(session, viewer)["partners"]
    segments, stack, general = [], [], []

    def open_segment(ev):
        seg = {"exercise": ev["data"].get("exercise"), "title": ev["data"].get("title"),
               "started_at": ev["at"], "ended_at": None, "status": "running", "entries": []}
        segments.append(seg)
        stack.append(seg)
        return seg

    for ev in log.events_for(session, viewer):
        kind = ev["type"]
        if kind == "exercise_started":
            open_segment(ev)
        current = stack[-1] if stack else None
        entry = {"seq": ev["seq"], "at": ev["at"], "type": kind, "actor": ev["actor"],
                 "line": _line(ev, names)}
        (current["entries"] if current else general).append(entry)
        if kind in ("exercise_completed", "exercise_abandoned") and stack:
            done = stack.pop()
            done["status"] = "completed" if kind == "exercise_completed" else "abandoned"
            done["ended_at"] = ev["at"]
        elif kind == "exercise_interrupted" and current:
            current["status"] = "interrupted"
        elif kind == "exercise_resumed" and current:
            current["status"] = "running"
        elif kind == "session_ended":
            for seg in stack:
                seg["status"], seg["ended_at"] = "ended", ev["at"]
            stack.clear()
    return {"session": sessions.summary(session, viewer), "exercises": segments, "general": general}


def _who(seat, names) -> str:
    if seat is None:
        return "The session"
    return names.get(seat) or f"Partner {seat.upper()}"


def _step_title(exercise, step) -> str:
    ex = engine.EXERCISES.get(exercise)
    try:
        return ex.step(step).title or step if ex else step
    except KeyError:
        return step


def _line(ev: dict, names: dict) -> str:
    """One sentence a person can read for an event (the data stays alongside for details)."""
    d, who, kind = ev["data"], _who(ev["actor"], names), ev["type"]
    if kind in ("step_submitted", "step_logged"):
        answers = "; ".join(f"{k}: {v}" for k, v in (d.get("data") or {}).items())
        return f"{_who(d.get('by'), names)} ({_step_title(d.get('exercise'), d.get('step'))}): {answers}"
    if kind == "exercise_started":
        return f"{d.get('title') or d.get('exercise')} started."
    if kind == "step_started":
        return f"Step: {_step_title(d.get('exercise'), d.get('step'))}."
    if kind == "speaker_chosen":
        return f"{_who(d.get('speaker'), names)} speaks first."
    if kind == "roles_swapped":
        return f"Roles swapped: {_who(d.get('speaker'), names)} speaks now."
    if kind == "timer_started":
        return f"Timer set for {d.get('minutes')} minutes (until {d.get('deadline_at')})."
    if kind == "paused":
        return f"{who} paused the session."
    if kind in ("pause_reason", "end_reason"):
        return f"{who}'s private reason: {d.get('reason')}"
    if kind == "safety_answered":
        return f"{who} answered the safety question: {'safe' if d.get('safe') else 'not safe'}."
    if kind == "safety_concern":
        return f"{_who(d.get('partner'), names)} said it does not feel safe right now."
    if kind == "session_ended":
        return f"Session ended ({d.get('reason')})."
    text = kind.replace("_", " ").capitalize()
    return f"{text}." if not d else f"{text}: " + ", ".join(f"{k}={v}" for k, v in d.items())


