"""Ratings read back from the log: every 0-10 rating of a session, the before/after pairs around
each finished exercise, and the weekly figures of the progress pages."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import url_for

from ..room import log, sessions as room_sessions
from ..web import times
from .vocabulary import ratings, step_title

# The engine's check-in and check-out around every exercise (a time-out has only the check-out).
PHASES = {"suds_before": "before", "suds_after": "after"}
WEEKLY_MEASURES = ("suds", "connected")


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
        for key, value in ratings(d.get("data")):
            out.append({"seat": d.get("by"), "measure": key, "value": value, "step_id": d.get("step_id"),
                        "minutes": round((_parse(ev["at"]) - start).total_seconds() / 60, 1),
                        "at": ev["at"], "step": step_title(d.get("exercise"), d.get("step")),
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


def progress_data(sessions, role_of) -> dict:
    """Per session: its ratings. Per week and partner: distress and connection before and after
    the exercises finished that week, and how many exercises were completed."""
    per_session = []
    weeks = defaultdict(lambda: {"done": 0, **{m: {"a": [], "b": []} for m in WEEKLY_MEASURES}})
    for session in sorted(sessions, key=lambda s: s.id):
        role = role_of(session)
        if role is None:
            continue
        events = log.events_for(session, role)
        ratings = ratings_of(events, session.created_at)
        per_session.append({"id": session.public_id, "at": times.iso_utc(session.created_at),
                            "label": times.utc_text(session.created_at),
                            "ratings": ratings, "names": room_sessions.partner_names(session.couple),
                            "url": url_for("review.transcript_page", public_id=session.public_id)})
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
