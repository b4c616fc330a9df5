"""Transcripts: a session's log folded into one segment per exercise, for the page and the API."""
from __future__ import annotations

from ..room import log, sessions
from . import render
from .render import describe_event


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


def transcript(session, viewer: str) -> dict:
    """A readable transcript per exercise: a fold over the events the viewer may see."""
    names = sessions.partner_names(session.couple)
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
                 "line": render.line(ev, names, viewer)}
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
