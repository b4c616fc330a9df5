"""What every action handler shares: the refusal (EngineError), the action and its result,
loading a payload with its schema, who may act, the audience of an answer a partner kept to
themselves, the distress flag, a log entry at a NOBODY step, and calling a time-out."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from marshmallow import ValidationError

from couples.fields import error_fields

from .declarations import FLOODED, PARTNERS, Ctx
from .inputs import distress_fields
from .runs import add_event, set_timer, start


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


@functools.cache
def _schema(schema_cls):
    """One instance per step schema: loading keeps no state on it, and building one per action
    cost more than the validation."""
    return schema_cls()


def load(schema_cls, payload, ctx=None, check=None):
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


def need_partner(a):
    if a.actor not in PARTNERS:
        raise EngineError("not_your_turn", "Only a partner in the session can do this.")


def no_start_reason(s, actor):
    """safety_hold only to someone who has answered: never tells a partner the other said no."""
    if s["phase"] == "hold" and s["safety"].get(actor) is not None:
        raise EngineError("safety_hold", "This session will not go ahead today.")
    raise EngineError("safety_pending", "Both of you need to answer the check-in question first.")


def private_audience(actor, data):
    """A partner's entry that they chose not to share: only them and the therapist."""
    return [actor, "therapist"] if data.get("share") is False else None


def note_distress(s, actor, schema_cls, data, step_name, ev):
    """Remember the partner's latest distress rating (the calm gate reads it) and whether it is
    FLOODED or more; tell them (the view suggests a time-out) and the therapist, never the other
    partner."""
    for name in distress_fields(schema_cls) if schema_cls is not None else ():
        value = data.get(name)
        if value is None:
            continue
        s.setdefault("distress", {"a": None, "b": None})[actor] = value
        flooded = s.setdefault("flooded", {"a": False, "b": False})
        flooded[actor] = value >= FLOODED
        if flooded[actor]:
            add_event(ev, "distress_flagged", actor, {"partner": actor, "rating": value,
                                                      "step": step_name}, [actor, "therapist"])


def calm(s, at_most) -> bool:
    """Whether both partners' most recent distress rating (any: a check-in or check-out, a break
    log, a return check, a pause check) is at most `at_most`; a partner with none is not known
    to be calm."""
    latest = s.get("distress") or {}
    return all(latest.get(p) is not None and latest[p] <= at_most for p in PARTNERS)


def log_entry(s, run, step, actor, data, now, ev):
    """A log entry at a NOBODY step: recorded, its values kept, the step's timer recomputed."""
    add_event(ev, "step_logged", actor, {"exercise": run["exercise"], "step": step.name,
                                         "step_id": run["step_id"], "by": actor, "data": data},
              private_audience(actor, data))
    note_distress(s, actor, step.log, data, step.name, ev)
    logs = run["data"].setdefault(f"{step.name}:log", {})
    logs[actor] = {**logs.get(actor, {}), **{k: v for k, v in data.items() if v is not None}}
    if step.log_emit:
        for type_, payload in step.log_emit(Ctx(run, now, input=data, actor=actor)):
            add_event(ev, type_, None, payload)
    if step.timer and run["deadline_at"] is not None:
        set_timer(run, step, now, ev)


def call_timeout(s, ex, actor, data, now, ev):
    if s["paused"]:  # a pause that turns into a time-out: the break replaces it
        s["paused"] = None
        add_event(ev, "pause_ended", actor, {"by": actor, "into": "timeout"})
    run, interrupted = s["run"], None
    if run:
        interrupted = {"exercise": run["exercise"], "step": run["step"], "step_id": run["step_id"]}
        add_event(ev, "exercise_interrupted", actor, dict(interrupted, by=actor))
        s["stack"].append(run)
        s["run"] = None
    start(s, ex, actor, {}, now, ev, interrupted)
    if any(v is not None for k, v in data.items() if k != "share"):  # not for defaults alone
        log_entry(s, s["run"], ex.step(ex.first), actor, data, now, ev)
