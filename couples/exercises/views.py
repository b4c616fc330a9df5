"""What each viewer is shown: `view(state, viewer, now)` is the one screen description a partner
("a", "b") or the therapist gets, hiding what that viewer may not know."""
from __future__ import annotations

import datetime as dt

from . import hold, safety
from .declarations import EITHER, NOBODY, PARTNERS, Ctx, exercise_list, other
from .inputs import describe
from .pause import PauseCheck
from .runs import exercise_of, pending
from .state import deadline, iso, upgrade


def _text(value, ctx):
    return value(ctx) if callable(value) else value


def view(state: dict, viewer: str, now: dt.datetime) -> dict:
    s = upgrade(state)  # a stored older state is shown as it will be written
    phase = safety.phase_for(s, viewer)
    run = s["run"] if phase == "exercise" else None
    paused = s["paused"]
    out = {
        "role": viewer, "phase": phase, "exercise": None, "exercise_title": None, "step": None,
        "step_title": None, "step_id": 0, "step_number": None, "step_count": None,
        "either": False, "prompt": "", "your_turn": False, "waiting_for": [],
        "input": None, "paused": bool(paused), "paused_by": paused["by"] if paused else None,
        "pause_reason": None,
        "ready": dict(paused["ready"]) if paused else {"a": False, "b": False},
        "deadline_at": None, "seconds_left": None, "suggestions": [], "speaker": None,
        "listener": None, "caller": None, "round": 0, "moment": None, "interrupted": None,
        "answered": [], "responds_to": [], "exercises": [], "can_start": False, "can_timeout": False,
        "completed": dict(s["completed"]), "server_now": iso(now), "prompt_slots": {},
        "suggest_timeout": False, "breathing": None, "pause_check": None,
        "held": hold.held(s),  # a therapist's hold on joint practice (never why)
    }
    if paused and viewer in (paused["by"], "therapist"):
        out["pause_reason"] = paused["reason"]
    if phase == "safety":
        if viewer == "therapist":
            out["safety"] = dict(s["safety"])
            out["waiting_for"] = [p for p in PARTNERS if s["safety"][p] is None]
            out["prompt"] = "The partners are answering the private safety question."
        else:
            answered = s["safety"][viewer] is not None
            out["safety"] = {"answered": answered}
            if answered:
                out["prompt"] = "Thank you. We will begin when you are both ready."
            else:
                out["prompt"], out["your_turn"] = safety.QUESTION, True
                out["waiting_for"] = [viewer]
                out["input"] = describe(safety.SafetySchema)
    elif phase == "hold":
        out["prompt"] = safety.NOT_TODAY
        if viewer == "therapist":
            out["safety"] = dict(s["safety"])
            out["prompt"] = safety.NOT_TODAY_THERAPIST
    elif phase == "ready":
        out["prompt"] = ("Choose an exercise to do together, or end the session whenever you "
                         "like." if viewer != "therapist"
                         else "The partners are choosing an exercise.")
        out["exercises"] = exercise_list()
        out["can_start"] = viewer in PARTNERS and not paused and not out["held"]
        if out["held"]:
            out["prompt"] = hold.PROMPT if viewer in PARTNERS else hold.THERAPIST_PROMPT
        out["can_timeout"] = viewer in PARTNERS
    elif phase == "ended":
        out["prompt"] = ("This session has ended. Thank you both for your care today."
                         if viewer != "therapist" else "This session has ended.")
    if run:
        ex = exercise_of(run)
        step = ex.step(run["step"])
        ctx = Ctx(run, now, viewer=viewer)
        awaited = pending(step, run)
        dl = deadline(s)
        out.update({
            "exercise": ex.key, "exercise_title": ex.title, "step": step.name,
            "step_title": step.title or step.name.replace("_", " ").capitalize(),
            "step_id": run["step_id"], "waiting_for": awaited,
            # Where the couple is: the step's place in the exercise's declared order (a branch
            # not taken is skipped, so a number may be passed over).
            "step_number": ex.order.index(step.name) + 1, "step_count": len(ex.order),
            # One answer, from whichever partner gives it first, is kept for both.
            "either": step.actor == EITHER, "speaker": run["speaker"],
            "listener": other(run["speaker"]) if run["speaker"] else None, "caller": run["caller"],
            "round": run["round"], "moment": run["options"].get("moment"),
            "interrupted": run["interrupted"],
            "answered": [p for p in PARTNERS if p in run["answers"]],
            "deadline_at": iso(dl) if dl else None,
            "seconds_left": max(0, int((dl - now).total_seconds())) if dl else None,
            "suggestions": list(step.suggestions), "responds_to": list(step.responds_to),
            "can_timeout": viewer in PARTNERS and not ex.interrupts,
            "prompt_slots": {"caller": run["caller"], "return_at": iso(dl) if dl else None},
        })
        if viewer == "therapist":
            # What the awaited partner is asked, in their words; the page names who that is (the
            # engine knows seats, not names).
            asked = _text(step.prompt, Ctx(run, now, viewer=awaited[0])) if awaited else None
            out["prompt"] = (f"{'Both are asked' if len(awaited) > 1 else 'Asked'}: “{asked}”"
                             if awaited else _text(step.wait, ctx) if step.actor == NOBODY
                             else "Waiting for the timer.")
        elif viewer in awaited:
            out["your_turn"] = not paused
            out["prompt"] = _text(step.prompt, ctx)
            out["input"] = describe(step.schema)
        else:
            out["prompt"] = _text(step.wait, ctx)
            if step.actor == NOBODY and step.log is not None:
                out["input"] = describe(step.log)
    if paused:
        out["breathing"] = paused.get("breathe")
    if paused and viewer in PARTNERS:
        mine = paused["ready"][viewer]
        out["your_turn"] = False
        out["prompt"] = ("Paused. Take all the time you need; we carry on when you are both ready."
                         if not mine else "Thank you. Waiting until your partner is ready too.")
        out["input"] = None
        out["pause_check"] = describe(PauseCheck)
    if viewer in PARTNERS and out["can_timeout"]:
        # Private: only this partner's own latest rating decides it.
        out["suggest_timeout"] = bool(s.get("flooded", {}).get(viewer))
    return out
