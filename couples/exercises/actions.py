"""Actions and the pure `apply`: (state, action) -> Result(new state, events), never changing its
input and raising EngineError to refuse; one handler per action kind checks, then changes a copy."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from marshmallow import ValidationError

from couples.fields import error_fields

from . import safety
from .declarations import BOTH, EXERCISES, NOBODY, PARTNERS, Ctx
from .inputs import schema, text
from .runs import add_event, advance, complete, end_session, exercise_of, pending, start
from .state import copy_state, deadline, iso, new_state, parse_time, upgrade


class EngineError(Exception):
    """A refused action. `code` is stable (the service maps it), `message` is for people."""

    def __init__(self, code: str, message: str, fields: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields or {}


@dataclass
class Action:
    kind: str
    actor: str | None
    payload: dict
    now: dt.datetime
    step: str | None = None


@dataclass
class Result:
    state: dict
    events: list = field(default_factory=list)


# --------------------------------------------------------------------------- input


@functools.cache
def _schema(schema_cls):
    """One instance per step schema: loading keeps no state on it, and building one per action
    cost more than the validation."""
    return schema_cls()


def _load(schema_cls, payload, ctx=None, check=None):
    if not isinstance(payload, dict):
        raise EngineError("invalid_input", "The input must be an object.",
                          {"_schema": "Must be an object."})
    if schema_cls is None:
        if payload:
            raise EngineError("invalid_input", "This step takes no input.",
                              {k: "Unknown field." for k in payload})
        return {}
    try:
        data = _schema(schema_cls).load(payload)
    except ValidationError as err:
        raise EngineError("invalid_input", "Some answers need another look.",
                          error_fields(err)) from None
    if check and ctx is not None:
        errs = check(ctx, data)
        if errs:
            raise EngineError("invalid_input", "Some answers need another look.", errs)
    return data


# --------------------------------------------------------------------------- handlers


def _need_partner(a):
    if a.actor not in PARTNERS:
        raise EngineError("not_your_turn", "Only a partner in the session can do this.")


def _no_start_reason(s, actor):
    """safety_hold only to someone who has answered: never tells a partner the other said no."""
    if s["phase"] == "hold" and s["safety"].get(actor) is not None:
        raise EngineError("safety_hold", "This session will not go ahead today.")
    raise EngineError("safety_pending", "Both of you need to answer the check-in question first.")


_ReasonSchema = schema("reason_schema", reason=text("A reason, only for you and your therapist "
                                                    "(optional)", max_length=500, required=False))


def _h_safety(s, a, ev):
    _need_partner(a)
    if s["phase"] not in ("safety", "hold") or s["safety"][a.actor] is not None:
        raise EngineError("not_your_turn", "You have already answered this question.")
    safe = _load(safety.SafetySchema, a.payload)["safe"]
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
    _need_partner(a)
    if s["phase"] in ("safety", "hold"):
        _no_start_reason(s, a.actor)
    if s["run"]:
        raise EngineError("exercise_in_progress", "An exercise is already running.")
    payload = a.payload if isinstance(a.payload, dict) else {}
    key = payload.get("exercise")
    if not isinstance(key, str) or key not in EXERCISES:
        raise EngineError("unknown_exercise", "There is no such exercise.",
                          {"exercise": "Unknown."})
    ex = EXERCISES[key]
    options = _load(ex.options, {k: v for k, v in payload.items() if k != "exercise"})
    start(s, ex, a.actor, options, a.now, ev)


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
        data = _load(step.log, payload, Ctx(run, now, actor=actor))
        add_event(ev, "step_logged", actor, {"exercise": run["exercise"], "step": step.name,
                                             "step_id": run["step_id"], "by": actor, "data": data})
        return
    if actor not in pending(step, run):
        raise EngineError("not_your_turn", "It is not your turn at this step.")
    data = _load(step.schema, payload, Ctx(run, now, actor=actor), step.check)
    add_event(ev, "step_submitted", actor, {"exercise": run["exercise"], "step": step.name,
                                            "step_id": run["step_id"], "round": run["round"],
                                            "by": actor, "data": data})
    if step.actor == BOTH:
        run["answers"][actor] = data
        if pending(step, run):
            return
        return complete(s, step, dict(run["answers"]), actor, now, ev)
    complete(s, step, data, actor, now, ev)


def _h_submit(s, a, ev):
    _need_partner(a)
    _submit(s, a.actor, a.step, a.payload, a.now, ev)


def _h_timeout(s, a, ev):
    _need_partner(a)
    if s["phase"] in ("safety", "hold"):
        _no_start_reason(s, a.actor)
    ex = next((e for e in EXERCISES.values() if e.interrupts), None)
    if ex is None:
        raise EngineError("unknown_exercise", "No timeout exercise is available.")
    run = s["run"]
    if run and exercise_of(run).interrupts:
        raise EngineError("exercise_in_progress", "A timeout is already running.")
    first = ex.step(ex.first)
    _load(first.schema, a.payload)  # refuse bad input before changing anything
    interrupted = None
    if run:
        interrupted = {"exercise": run["exercise"], "step": run["step"], "step_id": run["step_id"]}
        add_event(ev, "exercise_interrupted", a.actor, dict(interrupted, by=a.actor))
        s["stack"].append(run)
        s["run"] = None
    start(s, ex, a.actor, {}, a.now, ev, interrupted)
    _submit(s, a.actor, first.name, a.payload, a.now, ev)


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
    advance(s, step.on_timer or run["step"], a.now, ev)


def _h_pause(s, a, ev):
    _need_partner(a)
    if s["paused"]:
        raise EngineError("paused", "The session is already paused.")
    reason = _load(_ReasonSchema, a.payload).get("reason")
    s["paused"] = {"by": a.actor, "at": iso(a.now), "reason": reason,
                   "ready": {"a": False, "b": False}}
    add_event(ev, "paused", a.actor, {"by": a.actor})
    if reason:
        add_event(ev, "pause_reason", a.actor, {"by": a.actor, "reason": reason},
                  [a.actor, "therapist"])


def _h_ready(s, a, ev):
    _need_partner(a)
    p = s["paused"]
    if not p:
        raise EngineError("bad_action", "Nothing is paused.")
    if p["ready"][a.actor]:
        raise EngineError("not_your_turn", "You have already said you are ready.")
    _load(None, a.payload)
    p["ready"][a.actor] = True
    add_event(ev, "partner_ready", a.actor, {"partner": a.actor})
    if all(p["ready"].values()):
        s["paused"] = None
        paused_seconds = int((a.now - parse_time(p["at"])).total_seconds())
        add_event(ev, "resumed", None, {"paused_at": p["at"], "resumed_at": iso(a.now),
                                        "paused_seconds": paused_seconds})


def _h_end(s, a, ev):
    _need_partner(a)
    reason = _load(_ReasonSchema, a.payload).get("reason")
    end_session(s, a.actor, "ended_by_partner", a.now, ev)
    if reason:
        add_event(ev, "end_reason", a.actor, {"by": a.actor, "reason": reason},
                  [a.actor, "therapist"])


_HANDLERS = {"safety": _h_safety, "start_exercise": _h_start, "submit": _h_submit,
             "pause": _h_pause, "ready": _h_ready, "end": _h_end, "timer": _h_timer,
             "timeout": _h_timeout}


def apply(state: dict, action: Action) -> Result:
    """Apply one action. Pure: `state` is never changed; raises EngineError on refusal."""
    if not isinstance(action, Action) or action.kind not in _HANDLERS:
        raise EngineError("bad_action", "Unknown action.")
    if not isinstance(action.now, dt.datetime) or action.now.tzinfo is None:
        raise EngineError("bad_action", "The action needs a timezone-aware time.")
    if state.get("phase") == "ended":
        raise EngineError("session_ended", "This session has ended.")
    if state.get("paused") and action.kind not in ("pause", "ready", "end"):
        raise EngineError("paused", "The session is paused until you are both ready.")
    if action.kind != "timer" and action.actor not in PARTNERS:
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

