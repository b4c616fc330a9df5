"""Actions and the pure `apply`: (state, action) -> Result(new state, events), never changing its
input and raising EngineError to refuse; one handler per action kind checks, then changes a copy."""
from __future__ import annotations

import datetime as dt

from . import hold, pause, safety
from .acting import (Action, EngineError, Result, call_timeout, calm, load, log_entry,
                     need_partner, no_start_reason, note_distress, private_audience)
from .declarations import EXERCISES, NOBODY, PARTNERS, Ctx
from .runs import (abandon_stack, add_event, advance, collects, complete, exercise_of, pending,
                   start)
from .state import copy_state, deadline, iso, new_state, upgrade

__all__ = ["Action", "EngineError", "Result", "USER_KINDS", "SYSTEM_KINDS", "apply", "replay",
           "visible"]


CALM_GATE = ("This conversation is for when you are both calm: it starts when each of you has "
             "rated your distress {limit} or below, most recently. One of you has rated higher, "
             "or has not rated it yet in this session. Take a time-out to settle first, or pause "
             "and use the pause technique (name the feeling, rate it from 0 to 10), then try "
             "again.")

# --------------------------------------------------------------------------- handlers


def _h_safety(s, a, ev):
    need_partner(a)
    if s["phase"] not in ("safety", "hold") or s["safety"][a.actor] is not None:
        raise EngineError("not_your_turn", "You have already answered this question.")
    safe = load(safety.SafetySchema, a.payload)["safe"]
    s["safety"][a.actor] = safe
    # Every answer writes exactly three events, whatever was answered and in which order, so
    # that the gaps a partner sees in the shared seq numbers never hint at the other's answer.
    add_event(ev, "safety_answered", a.actor, {"safe": safe}, [a.actor])
    add_event(ev, "safety_checked" if safe else "safety_concern", None, {"partner": a.actor},
              ["therapist"])
    if s["phase"] == "hold":
        # Someone already said no: this answerer now hears the same neutral message.
        add_event(ev, "not_today", None, {"message": safety.NOT_TODAY}, [a.actor])
    elif False in s["safety"].values():
        s["phase"] = "hold"
        answered = [p for p in PARTNERS if s["safety"][p] is not None]
        add_event(ev, "not_today", None, {"message": safety.NOT_TODAY}, answered + ["therapist"])
    elif all(s["safety"][p] for p in PARTNERS):
        s["phase"] = "ready"
        add_event(ev, "session_ready", None, {})
    else:
        add_event(ev, "safety_waiting", None, {"message": safety.WAITING}, [a.actor])


def _h_start(s, a, ev):
    need_partner(a)
    if s["phase"] in ("safety", "hold"):
        no_start_reason(s, a.actor)
    if hold.refuses_start(s, a.payload):
        raise EngineError("therapist_hold", hold.REFUSED)
    if s["run"]:
        raise EngineError("exercise_in_progress", "An exercise is already running.")
    payload = a.payload if isinstance(a.payload, dict) else {}
    key = payload.get("exercise")
    if not isinstance(key, str) or key not in EXERCISES:
        raise EngineError("unknown_exercise", "There is no such exercise.",
                          {"exercise": "Unknown."})
    ex = EXERCISES[key]
    rest = {k: v for k, v in payload.items() if k not in ("exercise", "start_anyway")}
    anyway = payload.get("start_anyway", False)
    if anyway is not True and anyway is not False:
        raise EngineError("invalid_input", "Some answers need another look.",
                          {"start_anyway": "Must be true or false."})
    options = load(ex.options, rest)
    if ex.demanding and s.get("flooded", {}).get(a.actor) and not anyway:
        raise EngineError("distress_gate",
                          "Your last rating was high. A time-out first may help; to start this "
                          "exercise now, choose \"start anyway\".", {"start_anyway": "Needed."})
    if ex.calm_at_most is not None and not calm(s, ex.calm_at_most):
        # Whoever starts it: the talk needs both calm. Neither partner nor a rating is named.
        raise EngineError("calm_gate", CALM_GATE.format(limit=ex.calm_at_most))
    start(s, ex, a.actor, options, a.now, ev)
    if ex.demanding and s.get("flooded", {}).get(a.actor):  # the therapist learns it, the partner not
        add_event(ev, "started_anyway", a.actor, {"partner": a.actor, "exercise": ex.key},
                  [a.actor, "therapist"])


def _submit(s, actor, step_name, payload, now, ev):
    run = s["run"]
    if not run:
        raise EngineError("no_exercise", "No exercise is running.")
    if step_name != run["step"]:
        raise EngineError("stale_step", "That step has already moved on.")
    step = exercise_of(run).step(run["step"])
    if step.actor == NOBODY:
        if step.log is None or actor not in PARTNERS:
            raise EngineError("not_your_turn", "Nothing to answer at this step.")
        data = load(step.log, payload, Ctx(run, now, actor=actor))
        return log_entry(s, run, step, actor, data, now, ev)
    if actor not in pending(step, run):
        raise EngineError("not_your_turn", "It is not your turn at this step.")
    data = load(step.schema, payload, Ctx(run, now, actor=actor), step.check)
    add_event(ev, "step_submitted", actor, {"exercise": run["exercise"], "step": step.name,
                                            "step_id": run["step_id"], "round": run["round"],
                                            "by": actor, "data": data}, private_audience(actor, data))
    note_distress(s, actor, step.schema, data, step.name, ev)
    if collects(step):
        run["answers"][actor] = data
        if pending(step, run):
            return
        ex = exercise_of(run)
        if step.name == "suds_before" and ex.calm_at_most is not None \
                and not calm(s, ex.calm_at_most):
            return set_aside(s, run, "not_calm", ev)
        return complete(s, step, dict(run["answers"]), actor, now, ev)
    complete(s, step, data, actor, now, ev)


def set_aside(s, run, reason, ev):
    """The running exercise stops here, unfinished (`exercise_abandoned` with `reason`); an
    exercise a time-out interrupted is set aside with it."""
    add_event(ev, "exercise_abandoned", None, {"exercise": run["exercise"], "step": run["step"],
                                               "reason": reason})
    s["run"], s["phase"] = None, "ready"
    abandon_stack(s, ev)


def _h_submit(s, a, ev):
    need_partner(a)
    _submit(s, a.actor, a.step, a.payload, a.now, ev)


def _h_timeout(s, a, ev):
    """One press: the break starts at once, whatever step (or pause) the session is in; the
    payload is optional (the first step's log fields), and nobody else has to answer first."""
    need_partner(a)
    if s["phase"] in ("safety", "hold"):
        no_start_reason(s, a.actor)
    ex = next((e for e in EXERCISES.values() if e.interrupts), None)
    if ex is None:
        raise EngineError("unknown_exercise", "No timeout exercise is available.")
    run = s["run"]
    if run and exercise_of(run).interrupts:
        raise EngineError("exercise_in_progress", "A timeout is already running.")
    first = ex.step(ex.first)
    data = load(first.log, a.payload)  # refuse bad input before changing anything
    call_timeout(s, ex, a.actor, data, a.now, ev)


def _h_timer(s, a, ev):
    if a.actor is not None:
        raise EngineError("not_your_turn", "Only the system fires timers.")
    due = deadline(s)
    if due is None or a.now < due:
        raise EngineError("not_due", "No timer is due.")
    run = s["run"]
    step = exercise_of(run).step(run["step"])
    add_event(ev, "timer_fired", None, {"exercise": run["exercise"], "step": step.name,
                                        "step_id": run["step_id"],
                                        "deadline_at": run["deadline_at"], "fired_at": iso(a.now)})
    run["deadline_at"] = None
    if collects(step):  # what was answered before the time ran out
        run["data"][step.name] = dict(run["answers"])
    ctx = Ctx(run, a.now)
    if step.timer_emit:
        for type_, data, audience in step.timer_emit(ctx):
            add_event(ev, type_, None, data, audience)
    target = step.on_timer(ctx) if callable(step.on_timer) else step.on_timer
    advance(s, target or run["step"], a.now, ev)


_HANDLERS = {"safety": _h_safety, "start_exercise": _h_start, "submit": _h_submit,
             "pause": pause.h_pause, "ready": pause.h_ready, "end": pause.h_end, "timer": _h_timer,
             "timeout": _h_timeout, "pause_check": pause.h_pause_check, "hold": hold.h_hold,
             "release": hold.h_release}
# The system's own (actor None): the timer, and a therapist's hold applied by the room service.
SYSTEM_KINDS = ("timer", "hold", "release")
# What a person may send.
USER_KINDS = tuple(k for k in _HANDLERS if k not in SYSTEM_KINDS)
# What a partner can still do while the session is paused (and a hold, which comes from outside).
_WHILE_PAUSED = ("pause", "ready", "end", "timeout", "pause_check", "hold", "release")


def apply(state: dict, action: Action) -> Result:
    """Apply one action. Pure: `state` is never changed; raises EngineError on refusal."""
    if not isinstance(action, Action) or action.kind not in _HANDLERS:
        raise EngineError("bad_action", "Unknown action.")
    if not isinstance(action.now, dt.datetime) or action.now.tzinfo is None:
        raise EngineError("bad_action", "The action needs a timezone-aware time.")
    if state.get("phase") == "ended":
        raise EngineError("session_ended", "This session has ended.")
    if state.get("paused") and action.kind not in _WHILE_PAUSED:
        raise EngineError("paused", "The session is paused until you are both ready.")
    if action.kind not in SYSTEM_KINDS and action.actor not in PARTNERS:
        raise EngineError("not_your_turn", "Only a partner in the session can do this.")
    s = copy_state(upgrade(state))
    events: list = []
    _HANDLERS[action.kind](s, action, events)
    return Result(s, events)


def replay(actions, state: dict | None = None) -> Result:
    """Fold `apply` over actions (refused ones are skipped): the final state and all events."""
    s = state if state is not None else new_state()
    events: list = []
    for act in actions:
        try:
            r = apply(s, act)
        except EngineError:
            continue
        s = r.state
        events.extend(r.events)
    return Result(s, events)


def visible(events, viewer) -> list:
    """The events a viewer may see (the transcript for that viewer)."""
    return [e for e in events if viewer in e["audience"]]

