"""The exercise engine: one pure function from (state, action) to (new state, events).

Exercises are declared as data (see greeting.py, timeout.py, needs.py): ordered steps, who acts,
the prompts, a marshmallow schema per step, optional timers, branches and rounds. This module
knows nothing about any particular exercise; adding one means writing a definition and calling
`register`. No Flask, database or socket here: persistence, broadcast and timers live in the
service around `apply`.

State is a JSON-serialisable dict; times are ISO 8601 strings (UTC).
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from marshmallow import ValidationError, fields as mfields, missing, validate

from couples.fields import Choice, PlainText, Rating, StrictSchema, Text, error_fields

from .feelings import FEELINGS

PARTNERS = ("a", "b")
EVERYONE = ["a", "b", "therapist"]

# Who acts at a step.
A, B = "A", "B"
SPEAKER, LISTENER = "SPEAKER", "LISTENER"
BOTH, EITHER = "BOTH", "EITHER"
CALLER, OTHER = "CALLER", "OTHER"
NOBODY = "NOBODY"  # only the timer moves this step on (partners may still log, see Step.log)

FINISH = "__finish__"  # a transition target: the declared steps are done (SUDS-after follows)
_DONE = "__done__"  # internal: the exercise is over

MAX_TEXT = 1000


# --------------------------------------------------------------------------- errors, actions


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


@dataclass(frozen=True)
class Swap:
    """A transition target: swap speaker and listener, start the next round at step `to`."""

    to: str


# --------------------------------------------------------------------------- field vocabulary
# Each helper is a marshmallow field carrying metadata for view()'s input description.


def text(label, *, max_length=MAX_TEXT, required=True):
    return Text(max_length=max_length, required=required,
                metadata={"kind": "text", "label": label})


def feeling(label="One feeling word", *, required=True):
    return PlainText(max_length=40, required=required, metadata={"kind": "feeling", "label": label})


def rating(label):
    return Rating(required=True, metadata={"kind": "rating", "label": label})


def choice(options, label, *, required=True, labels=None):
    return Choice(options, required=required,
                  metadata={"kind": "choice", "label": label, "labels": labels or {}})


def minutes(label, *, lo, hi, default):
    return mfields.Integer(strict=True, validate=validate.Range(min=lo, max=hi),
                           load_default=default, metadata={"kind": "minutes", "label": label})


class StrictBool(mfields.Field):
    """true or false, nothing else ("true", 1 and "yes" are errors)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise ValidationError("Must be true or false.")


def boolean(label, *, required=True):
    return StrictBool(required=required, metadata={"kind": "bool", "label": label})


class IsoDate(mfields.Field):
    """A calendar date as "YYYY-MM-DD"; kept as that string (state stays JSON)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) != 10:
            raise ValidationError("Must be a date like 2026-05-31.")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Must be a date like 2026-05-31.") from None
        return value


def date(label, *, required=False):
    return IsoDate(required=required, metadata={"kind": "date", "label": label})


def date_within(name, days=365):
    """A Step.check: the date `name` (if given) is today or later and at most `days` ahead."""

    def check(ctx, data):
        value = data.get(name)
        if value is None:
            return {}
        day, today = dt.date.fromisoformat(value), ctx.now.date()
        if day < today:
            return {name: "Must be today or later."}
        if day > today + dt.timedelta(days=days):
            return {name: f"Must be within {days} days."}
        return {}

    return check


def schema(name, **declared):
    """A StrictSchema subclass from fields (for steps that need no cross-field rules)."""
    return StrictSchema.from_dict(declared, name=name)


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Step:
    """One step of an exercise.

    actor:   A, B, SPEAKER, LISTENER, BOTH, EITHER, CALLER, OTHER or NOBODY.
    prompt:  text (or ctx -> text) for whoever acts; `wait` for whoever waits.
    schema:  marshmallow schema class for the input (None: an empty payload).
    next:    a step name, FINISH, Swap(step), or ctx -> one of those; None: the next declared step.
    timer:   ctx -> minutes: on entering the step a deadline is set; `on_timer` names the target.
    log:     for NOBODY steps: a schema partners may submit any number of times (recorded only).
    check:   ctx, data -> {field: message}: rules that need `now` or earlier answers.
    emit:    ctx -> [(event_type, data)]: extra events after the step completes (ctx.input set).
    """

    name: str
    actor: str
    prompt: Any
    title: str = ""
    wait: Any = "Your partner is answering. Take a slow breath while you wait."
    schema: Any = None
    next: Any = None
    timer: Callable | None = None
    on_timer: str | None = None
    log: Any = None
    check: Callable | None = None
    emit: Callable | None = None
    suggestions: tuple = ()


@dataclass(frozen=True)
class Exercise:
    """An exercise: the engine wraps `steps` in SUDS-before (+ choose-speaker) and SUDS-after.

    check_fields: extra fields asked with SUDS before and after (greeting: how connected).
    starter_role: "caller" makes whoever starts the exercise its caller (timeout).
    interrupts:   the exercise can be called with action kind "timeout" from any step.
    after:        ctx -> None | {"start": key} | {"end": reason}: what follows completion
                  (default: back to the interrupted exercise, or phase "ready").
    """

    key: str
    title: str
    summary: str
    steps: tuple
    options: Any = None
    suds_before: bool = True
    choose_speaker: bool = True
    check_fields: dict = field(default_factory=dict)
    starter_role: str | None = None
    interrupts: bool = False
    after: Callable | None = None

    def __post_init__(self):
        built = []
        if self.suds_before:
            built.append(_suds_step("suds_before", self.check_fields, before=True))
        if self.choose_speaker:
            built.append(_CHOOSE_SPEAKER)
        built.extend(self.steps)
        built.append(_suds_step("suds_after", self.check_fields, before=False))
        names = [s.name for s in built]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: duplicate step names")
        object.__setattr__(self, "_steps", {s.name: s for s in built})
        object.__setattr__(self, "_order", names)

    def step(self, name) -> Step:
        return self._steps[name]

    @property
    def first(self) -> str:
        return self._order[0]

    def default_next(self, name) -> str:
        if name == "suds_after":
            return _DONE
        i = self._order.index(name)
        nxt = self._order[i + 1]
        return nxt


def _suds_step(name, extra, before):
    fields_ = {"suds": rating("Distress right now, 0 (calm) to 10 (the worst imaginable)"),
               "feeling": feeling("One feeling word (optional)", required=False)}
    fields_.update(extra)
    if before:
        prompt = ("Before we begin: how much distress do you feel right now, from 0 (calm) to 10? "
                  "You can add one word for the feeling if you like.")
    else:
        prompt = ("Well done for taking part. How much distress do you feel now, from 0 to 10? "
                  "You can add one feeling word.")
    return Step(name, BOTH, prompt, title="Check-in" if before else "Check-out",
                schema=schema(f"{name}_schema", **fields_),
                next=None if before else _DONE,
                wait="Thank you. Waiting for your partner's check-in.")


_CHOOSE_SPEAKER = Step(
    "choose_speaker", EITHER,
    "Who would like to go first? Decide together; either of you can enter it.",
    title="Who goes first",
    schema=schema("choose_speaker_schema",
                  first=choice(["me", "partner"], "Who goes first",
                               labels={"me": "I'll go first", "partner": "My partner goes first"})),
)

EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.key in EXERCISES:
        raise ValueError(f"exercise {exercise.key!r} registered twice")
    EXERCISES[exercise.key] = exercise
    return exercise


def exercise_list() -> list:
    """The exercises a couple can start, with the choices (if any) to make when starting one."""
    return [{"key": e.key, "title": e.title, "summary": e.summary, "options": describe(e.options)}
            for e in EXERCISES.values()]


# --------------------------------------------------------------------------- context


def other(seat):
    return "b" if seat == "a" else "a"


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def _parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


class Ctx:
    """What prompts, transitions, timers and checks may read. Read-only by convention."""

    def __init__(self, run, now, viewer=None, input=None, actor=None):
        self.run, self.now, self.viewer, self.input, self.actor = run, now, viewer, input, actor

    speaker = property(lambda self: self.run.get("speaker"))
    listener = property(lambda self: other(self.run["speaker"]) if self.run.get("speaker")
                        else None)
    caller = property(lambda self: self.run.get("caller"))
    round = property(lambda self: self.run["round"])
    data = property(lambda self: self.run["data"])
    options = property(lambda self: self.run["options"])

    def visits(self, name):
        return self.run["visits"].get(name, 0)

    def role(self, seat=None):
        """"speaker"/"listener"/"caller"/"other" of `seat` (default: the viewer), or None."""
        seat = seat or self.viewer
        if self.caller:
            return "caller" if seat == self.caller else "other"
        if self.speaker:
            return "speaker" if seat == self.speaker else "listener"
        return None


def _text(value, ctx):
    return value(ctx) if callable(value) else value


def _actors(step: Step, run) -> list:
    k = step.actor
    if k in (BOTH, EITHER):
        return ["a", "b"]
    if k == A:
        return ["a"]
    if k == B:
        return ["b"]
    if k == SPEAKER:
        return [run["speaker"]]
    if k == LISTENER:
        return [other(run["speaker"])]
    if k == CALLER:
        return [run["caller"]]
    if k == OTHER:
        return [other(run["caller"])]
    return []


def _pending(step: Step, run) -> list:
    return [p for p in _actors(step, run) if p not in run["answers"]]


# --------------------------------------------------------------------------- state


STATE_VERSION = 2  # v2: "completed" counts per exercise key; v1 listed every completion


def new_state() -> dict:
    return {
        "v": STATE_VERSION,
        "phase": "safety",  # safety | hold | ready | exercise | ended
        "safety": {"a": None, "b": None},
        "step_seq": 0,
        "run": None,  # the running exercise
        "stack": [],  # exercises interrupted by a timeout
        "paused": None,  # {"by", "at", "reason", "ready": {"a","b"}}
        "completed": {},  # exercise key -> times completed, in order of first completion
        "ended": None,  # {"at", "by", "reason"}
    }


def upgrade(state: dict) -> dict:
    """`state` in the current shape; a stored older state is converted, never changed in place.
    The old list of every completed key grew with the session and was rewritten on every turn;
    the order it kept is in the event log (`exercise_completed`)."""
    if state.get("v", 1) >= STATE_VERSION:
        return state
    counts: dict = {}
    for key in state.get("completed") or ():
        counts[key] = counts.get(key, 0) + 1
    return {**state, "v": STATE_VERSION, "completed": counts}


def deadline(state) -> dt.datetime | None:
    run = state.get("run")
    if state.get("paused") or not run or not run.get("deadline_at"):
        return None
    return _parse(run["deadline_at"])


def _ev(events, type_, actor, data, audience=None):
    events.append({"type": type_, "actor": actor, "data": data,
                   "audience": list(audience or EVERYONE)})


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


# --------------------------------------------------------------------------- running exercises


def _exercise(run) -> Exercise:
    return EXERCISES[run["exercise"]]


def _enter(s, name, now, events):
    run = s["run"]
    ex = _exercise(run)
    step = ex.step(name)
    s["step_seq"] += 1
    run["step"], run["step_id"], run["answers"] = name, s["step_seq"], {}
    run["visits"][name] = run["visits"].get(name, 0) + 1
    run["deadline_at"] = None
    _ev(events, "step_started", None, {
        "exercise": ex.key, "step": name, "step_id": run["step_id"], "round": run["round"],
        "actors": _actors(step, run), "speaker": run["speaker"], "caller": run["caller"]})
    if step.timer:
        mins = int(step.timer(Ctx(run, now)))
        run["deadline_at"] = _iso(now + dt.timedelta(minutes=mins))
        _ev(events, "timer_started", None, {"step": name, "step_id": run["step_id"],
                                            "minutes": mins, "deadline_at": run["deadline_at"]})


def _start(s, ex, actor, options, now, events, interrupted=None):
    s["run"] = {
        "exercise": ex.key, "started_by": actor, "started_at": _iso(now), "options": options,
        "speaker": None, "caller": actor if ex.starter_role == "caller" else None,
        "round": 1, "data": {}, "visits": {}, "answers": {},
        "step": None, "step_id": 0, "deadline_at": None, "interrupted": interrupted,
    }
    s["phase"] = "exercise"
    _ev(events, "exercise_started", actor, {"exercise": ex.key, "title": ex.title, "by": actor,
                                            "options": options, "interrupted": interrupted})
    _enter(s, ex.first, now, events)


def _advance(s, target, now, events):
    run = s["run"]
    if target == FINISH:
        target = "suds_after"
    if target == _DONE:
        return _finish(s, now, events)
    if isinstance(target, Swap):
        run["round"] += 1
        run["speaker"] = other(run["speaker"])
        run["data"], run["visits"] = {}, {}
        _ev(events, "roles_swapped", None, {"round": run["round"], "speaker": run["speaker"],
                                            "listener": other(run["speaker"])})
        target = target.to
    _enter(s, target, now, events)


def _complete(s, step, input_, actor, now, events):
    run = s["run"]
    ex = _exercise(run)
    run["data"][step.name] = input_
    if step is _CHOOSE_SPEAKER:
        run["speaker"] = actor if input_["first"] == "me" else other(actor)
        _ev(events, "speaker_chosen", actor, {"by": actor, "speaker": run["speaker"]})
    ctx = Ctx(run, now, input=input_, actor=actor)
    if step.emit:
        for type_, data in step.emit(ctx):
            _ev(events, type_, None, data)
    nxt = step.next(ctx) if callable(step.next) else step.next
    _advance(s, nxt if nxt is not None else ex.default_next(step.name), now, events)


def _finish(s, now, events):
    run = s["run"]
    ex = _exercise(run)
    started = _parse(run["started_at"])
    _ev(events, "exercise_completed", None, {
        "exercise": ex.key, "started_at": run["started_at"], "completed_at": _iso(now),
        "duration_seconds": int((now - started).total_seconds()), "rounds": run["round"]})
    s["completed"][ex.key] = s["completed"].get(ex.key, 0) + 1
    directive = ex.after(Ctx(run, now)) if ex.after else None
    s["run"] = None
    s["phase"] = "ready"
    if directive and ("end" in directive or "start" in directive):
        _abandon_stack(s, events)
        if "end" in directive:
            return _end(s, None, directive["end"], now, events)
        return _start(s, EXERCISES[directive["start"]], None, {}, now, events)
    if s["stack"]:
        back = s["stack"].pop()
        s["step_seq"] += 1
        back["step_id"] = s["step_seq"]
        s["run"] = back
        s["phase"] = "exercise"
        _ev(events, "exercise_resumed", None, {"exercise": back["exercise"], "step": back["step"],
                                               "step_id": back["step_id"]})


def _abandon_stack(s, events):
    while s["stack"]:
        r = s["stack"].pop()
        _ev(events, "exercise_abandoned", None, {"exercise": r["exercise"], "step": r["step"]})


def _end(s, actor, reason_code, now, events):
    run = s["run"]
    s["ended"] = {"at": _iso(now), "by": actor, "reason": reason_code}
    _ev(events, "session_ended", actor, {
        "by": actor, "reason": reason_code, "exercise": run["exercise"] if run else None,
        "step": run["step"] if run else None})
    s["phase"], s["run"], s["stack"], s["paused"] = "ended", None, [], None


# --------------------------------------------------------------------------- handlers


def _need_partner(a):
    if a.actor not in PARTNERS:
        raise EngineError("not_your_turn", "Only a partner in the session can do this.")


def _no_start_reason(s, actor):
    """safety_hold only to someone who has answered: never tells a partner the other said no."""
    if s["phase"] == "hold" and s["safety"].get(actor) is not None:
        raise EngineError("safety_hold", "This session will not go ahead today.")
    raise EngineError("safety_pending", "Both of you need to answer the check-in question first.")


_SafetySchema = schema("safety_schema", safe=boolean("It feels safe to do this together now"))
_ReasonSchema = schema("reason_schema", reason=text("A reason, only for you and your therapist "
                                                    "(optional)", max_length=500, required=False))
_NOT_TODAY = ("Today is not the right day for a joint exercise, and that is fine. "
              "Your therapist can help you decide what comes next.")


_WAITING = "Thank you. Your answer is private. Waiting for your partner's answer."


def _h_safety(s, a, ev):
    _need_partner(a)
    if s["phase"] not in ("safety", "hold") or s["safety"][a.actor] is not None:
        raise EngineError("not_your_turn", "You have already answered this question.")
    safe = _load(_SafetySchema, a.payload)["safe"]
    s["safety"][a.actor] = safe
    # Every answer writes exactly three events, whatever was answered and in which order, so
    # that the gaps a partner sees in the shared seq numbers never hint at the other's answer.
    _ev(ev, "safety_answered", a.actor, {"safe": safe}, [a.actor])
    _ev(ev, "safety_checked" if safe else "safety_concern", None, {"partner": a.actor}, ["therapist"])
    if s["phase"] == "hold":
        # Someone already said no: this answerer now hears the same neutral message.
        _ev(ev, "not_today", None, {"message": _NOT_TODAY}, [a.actor])
    elif False in s["safety"].values():
        s["phase"] = "hold"
        answered = [p for p in PARTNERS if s["safety"][p] is not None]
        _ev(ev, "not_today", None, {"message": _NOT_TODAY}, answered + ["therapist"])
    elif all(s["safety"][p] for p in PARTNERS):
        s["phase"] = "ready"
        _ev(ev, "session_ready", None, {})
    else:
        _ev(ev, "safety_waiting", None, {"message": _WAITING}, [a.actor])


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
    _start(s, ex, a.actor, options, a.now, ev)


def _submit(s, actor, step_name, payload, now, ev):
    run = s["run"]
    if not run:
        raise EngineError("no_exercise", "No exercise is running.")
    if step_name != run["step"]:
        raise EngineError("stale_step", "That step has already moved on.")
    step = _exercise(run).step(run["step"])
    if step.actor == NOBODY:
        if step.log is None or actor not in PARTNERS:
            raise EngineError("not_your_turn", "Nothing to answer at this step.")
        data = _load(step.log, payload, Ctx(run, now, actor=actor))
        _ev(ev, "step_logged", actor, {"exercise": run["exercise"], "step": step.name,
                                       "step_id": run["step_id"], "by": actor, "data": data})
        return
    if actor not in _pending(step, run):
        raise EngineError("not_your_turn", "It is not your turn at this step.")
    data = _load(step.schema, payload, Ctx(run, now, actor=actor), step.check)
    _ev(ev, "step_submitted", actor, {"exercise": run["exercise"], "step": step.name,
                                      "step_id": run["step_id"], "round": run["round"],
                                      "by": actor, "data": data})
    if step.actor == BOTH:
        run["answers"][actor] = data
        if _pending(step, run):
            return
        return _complete(s, step, dict(run["answers"]), actor, now, ev)
    _complete(s, step, data, actor, now, ev)


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
    if run and _exercise(run).interrupts:
        raise EngineError("exercise_in_progress", "A timeout is already running.")
    first = ex.step(ex.first)
    _load(first.schema, a.payload)  # refuse bad input before changing anything
    interrupted = None
    if run:
        interrupted = {"exercise": run["exercise"], "step": run["step"], "step_id": run["step_id"]}
        _ev(ev, "exercise_interrupted", a.actor, dict(interrupted, by=a.actor))
        s["stack"].append(run)
        s["run"] = None
    _start(s, ex, a.actor, {}, a.now, ev, interrupted)
    _submit(s, a.actor, first.name, a.payload, a.now, ev)


def _h_timer(s, a, ev):
    if a.actor is not None:
        raise EngineError("not_your_turn", "Only the system fires timers.")
    due = deadline(s)
    if due is None or a.now < due:
        raise EngineError("not_due", "No timer is due.")
    run = s["run"]
    step = _exercise(run).step(run["step"])
    _ev(ev, "timer_fired", None, {"exercise": run["exercise"], "step": step.name,
                                  "step_id": run["step_id"], "deadline_at": run["deadline_at"],
                                  "fired_at": _iso(a.now)})
    run["deadline_at"] = None
    _advance(s, step.on_timer or run["step"], a.now, ev)


def _h_pause(s, a, ev):
    _need_partner(a)
    if s["paused"]:
        raise EngineError("paused", "The session is already paused.")
    reason = _load(_ReasonSchema, a.payload).get("reason")
    s["paused"] = {"by": a.actor, "at": _iso(a.now), "reason": reason,
                   "ready": {"a": False, "b": False}}
    _ev(ev, "paused", a.actor, {"by": a.actor})
    if reason:
        _ev(ev, "pause_reason", a.actor, {"by": a.actor, "reason": reason}, [a.actor, "therapist"])


def _h_ready(s, a, ev):
    _need_partner(a)
    p = s["paused"]
    if not p:
        raise EngineError("bad_action", "Nothing is paused.")
    if p["ready"][a.actor]:
        raise EngineError("not_your_turn", "You have already said you are ready.")
    _load(None, a.payload)
    p["ready"][a.actor] = True
    _ev(ev, "partner_ready", a.actor, {"partner": a.actor})
    if all(p["ready"].values()):
        s["paused"] = None
        _ev(ev, "resumed", None, {"paused_at": p["at"], "resumed_at": _iso(a.now),
                                  "paused_seconds": int((a.now - _parse(p["at"])).total_seconds())})


def _h_end(s, a, ev):
    _need_partner(a)
    reason = _load(_ReasonSchema, a.payload).get("reason")
    _end(s, a.actor, "ended_by_partner", a.now, ev)
    if reason:
        _ev(ev, "end_reason", a.actor, {"by": a.actor, "reason": reason}, [a.actor, "therapist"])


_HANDLERS = {"safety": _h_safety, "start_exercise": _h_start, "submit": _h_submit,
             "pause": _h_pause, "ready": _h_ready, "end": _h_end, "timer": _h_timer,
             "timeout": _h_timeout}


def _copy(value):
    """A deep copy of JSON-shaped state (dicts, lists, scalars): 3x faster than copy.deepcopy,
    which every action paid."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    return value


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
    s = _copy(upgrade(state))
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


# --------------------------------------------------------------------------- views


def describe(schema_cls) -> list | None:
    """The input description for a schema: what a client needs to render the form."""
    if schema_cls is None:
        return []
    out = []
    for name, f in schema_cls._declared_fields.items():
        md = f.metadata
        d = {"name": name, "kind": md.get("kind", "text"), "label": md.get("label", name),
             "required": bool(f.required)}
        for v in f.validators:
            if isinstance(v, validate.Range):
                d["min"], d["max"] = v.min, v.max
            elif isinstance(v, validate.OneOf):
                labels = md.get("labels") or {}
                d["options"] = list(v.choices)
                d["labels"] = {c: labels.get(c, c) for c in v.choices}
            elif isinstance(v, validate.Length) and v.max is not None:
                d["max_length"] = v.max
        if d["kind"] == "rating":
            d["min"], d["max"] = 0, 10
        if d["kind"] == "feeling":
            d["options"] = list(FEELINGS)
        if f.load_default is not missing:
            d["default"] = f.load_default
        out.append(d)
    return out


def _phase_for(s, viewer):
    phase = s["phase"]
    if phase == "hold" and viewer in PARTNERS and s["safety"][viewer] is None:
        return "safety"  # never tell someone who has not answered that the other said no
    return phase


_SAFETY_Q = ("Before anything starts, a private question, just for you: does it feel safe to do "
             "this together right now? Your answer is never shown to your partner.")


def view(state: dict, viewer: str, now: dt.datetime) -> dict:
    s = upgrade(state)  # a stored older state is shown as it will be written
    phase = _phase_for(s, viewer)
    run = s["run"] if phase == "exercise" else None
    paused = s["paused"]
    out = {
        "role": viewer, "phase": phase, "exercise": None, "exercise_title": None, "step": None,
        "step_title": None, "step_id": 0, "prompt": "", "your_turn": False, "waiting_for": [],
        "input": None, "paused": bool(paused), "paused_by": paused["by"] if paused else None,
        "pause_reason": None,
        "ready": dict(paused["ready"]) if paused else {"a": False, "b": False},
        "deadline_at": None, "seconds_left": None, "suggestions": [], "speaker": None,
        "listener": None, "caller": None, "round": 0, "moment": None, "interrupted": None,
        "answered": [], "exercises": [], "can_start": False, "can_timeout": False,
        "completed": dict(s["completed"]), "server_now": _iso(now),
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
                out["prompt"], out["your_turn"], out["waiting_for"] = _SAFETY_Q, True, [viewer]
                out["input"] = describe(_SafetySchema)
    elif phase == "hold":
        out["prompt"] = _NOT_TODAY
        if viewer == "therapist":
            out["safety"] = dict(s["safety"])
    elif phase == "ready":
        out["prompt"] = ("Choose an exercise to do together, or end the session whenever you "
                         "like." if viewer != "therapist"
                         else "The partners are choosing an exercise.")
        out["exercises"] = exercise_list()
        out["can_start"] = out["can_timeout"] = viewer in PARTNERS and not paused
    elif phase == "ended":
        out["prompt"] = "This session has ended. Thank you both for your care today."
    if run:
        ex = _exercise(run)
        step = ex.step(run["step"])
        ctx = Ctx(run, now, viewer=viewer)
        pending = _pending(step, run)
        dl = deadline(s)
        out.update({
            "exercise": ex.key, "exercise_title": ex.title, "step": step.name,
            "step_title": step.title or step.name.replace("_", " ").capitalize(),
            "step_id": run["step_id"], "waiting_for": pending, "speaker": run["speaker"],
            "listener": other(run["speaker"]) if run["speaker"] else None, "caller": run["caller"],
            "round": run["round"], "moment": run["options"].get("moment"),
            "interrupted": run["interrupted"],
            "answered": [p for p in PARTNERS if p in run["answers"]],
            "deadline_at": _iso(dl) if dl else None,
            "seconds_left": max(0, int((dl - now).total_seconds())) if dl else None,
            "suggestions": list(step.suggestions),
            "can_timeout": viewer in PARTNERS and not ex.interrupts and not paused,
        })
        if viewer == "therapist":
            # What the awaited partner is asked, in their words; the page names who that is (the
            # engine knows seats, not names).
            out["prompt"] = (f"{'Both are asked' if len(pending) > 1 else 'Asked'}: “{_text(step.prompt, Ctx(run, now, viewer=pending[0]))}”"
                             if pending else "Waiting for the timer.")
        elif viewer in pending:
            out["your_turn"] = not paused
            out["prompt"] = _text(step.prompt, ctx)
            out["input"] = describe(step.schema)
        else:
            out["prompt"] = _text(step.wait, ctx)
            if step.actor == NOBODY and step.log is not None:
                out["input"] = describe(step.log)
    if paused and viewer in PARTNERS:
        mine = paused["ready"][viewer]
        out["your_turn"] = False
        out["prompt"] = ("Paused. Take all the time you need; we carry on when you are both ready."
                         if not mine else "Thank you. Waiting until your partner is ready too.")
        out["input"] = None
    return out
