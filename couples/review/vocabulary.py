"""The review's vocabulary: what each event of the log reads as, step titles and answers."""
from __future__ import annotations

from markupsafe import Markup

from ..exercises import engine
from ..web.filters import bdi


def _field(exercise, step, name):
    ex = engine.EXERCISES.get(exercise)
    try:
        schema = ex.step(step).schema or ex.step(step).log
        return schema._declared_fields.get(name)
    except (AttributeError, KeyError):
        return None


def step_title(exercise, step) -> str:
    ex = engine.EXERCISES.get(exercise)
    try:
        return ex.step(step).title or step.replace("_", " ").capitalize()
    except (AttributeError, KeyError):
        return (step or "").replace("_", " ").capitalize()


def answers(exercise, step, data: dict) -> tuple[list, list]:
    """(texts, ratings): each answer as (label, shown value), ratings apart from words."""
    texts, ratings = [], []
    for name, value in (data or {}).items():
        if value is None or value == "":
            continue
        f = _field(exercise, step, name)
        md = f.metadata if f is not None else {}
        label = md.get("label", name.replace("_", " ").capitalize())
        if md.get("kind") == "rating":
            ratings.append((_measure(name, label), value))
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
        entry["text"] = step_title(d.get("exercise"), d.get("step"))
        entry["answers"], entry["ratings"] = answers(d.get("exercise"), d.get("step"), d.get("data"))
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




def _measure(name, label):
    from .progress import MEASURES
    return MEASURES.get(name, label)
