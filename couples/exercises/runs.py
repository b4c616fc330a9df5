"""How the running exercise (`state["run"]`) moves on: entering and completing steps, swapping
roles, finishing, resuming an interrupted exercise, and ending the session. Each function changes
the state it is given and appends its events; the handlers refuse bad actions before calling."""
from __future__ import annotations

import datetime as dt

from .declarations import (A, B, BOTH, CALLER, CHOOSE_SPEAKER, DONE, EITHER, EVERYONE, EXERCISES,
                           FINISH, LISTENER, OTHER, SPEAKER, Ctx, End, Exercise, Step, Swap, other)
from .state import iso, parse_time


def add_event(events, type_, actor, data, audience=None):
    events.append({"type": type_, "actor": actor, "data": data,
                   "audience": list(audience or EVERYONE)})


def exercise_of(run) -> Exercise:
    return EXERCISES[run["exercise"]]


def actors(step: Step, run) -> list:
    k = step.actor
    if callable(k):
        return list(k(run))
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


def pending(step: Step, run) -> list:
    return [p for p in actors(step, run) if p not in run["answers"]]


def enter(s, name, now, events):
    run = s["run"]
    ex = exercise_of(run)
    step = ex.step(name)
    s["step_seq"] += 1
    run["step"], run["step_id"], run["answers"] = name, s["step_seq"], {}
    run["visits"][name] = run["visits"].get(name, 0) + 1
    run["deadline_at"] = None
    run["entered_at"] = iso(now)
    add_event(events, "step_started", None, {
        "exercise": ex.key, "step": name, "step_id": run["step_id"], "round": run["round"],
        "actors": actors(step, run), "speaker": run["speaker"], "caller": run["caller"]})
    if step.timer:
        set_timer(run, step, now, events)


def start(s, ex, actor, options, now, events, interrupted=None):
    s["run"] = {
        "exercise": ex.key, "started_by": actor, "started_at": iso(now), "options": options,
        "speaker": None, "caller": actor if ex.starter_role == "caller" else None,
        "round": 1, "data": {}, "visits": {}, "answers": {},
        "step": None, "step_id": 0, "deadline_at": None, "interrupted": interrupted,
    }
    s["phase"] = "exercise"
    add_event(events, "exercise_started", actor, {"exercise": ex.key, "title": ex.title,
                                                  "by": actor, "options": options,
                                                  "interrupted": interrupted})
    enter(s, ex.first, now, events)


def advance(s, target, now, events):
    run = s["run"]
    if s.get("held") and isinstance(target, str) and target not in (FINISH, DONE) \
            and target not in exercise_of(run).solo_steps:
        target = FINISH  # a therapist's hold: a time-out skips its joint steps, to its check-out
    if target == FINISH:
        target = "suds_after"
    if target == DONE:
        return finish(s, now, events)
    if isinstance(target, End):
        abandon_stack(s, events)
        return end_session(s, None, target.reason, now, events)
    if isinstance(target, Swap):
        run["round"] += 1
        run["speaker"] = other(run["speaker"])
        run["data"], run["visits"] = {}, {}
        add_event(events, "roles_swapped", None, {"round": run["round"], "speaker": run["speaker"],
                                                  "listener": other(run["speaker"])})
        target = target.to
    enter(s, target, now, events)


def collects(step: Step) -> bool:
    """Whether everyone the step lists answers (keyed by seat) before it completes."""
    return step.actor == BOTH or callable(step.actor)


def set_timer(run, step, now, events):
    """(Re)compute a step's deadline from its entry time; an event when it changed."""
    mins = int(step.timer(Ctx(run, now)))
    due = iso(parse_time(run["entered_at"]) + dt.timedelta(minutes=mins))
    if due != run["deadline_at"]:
        kind = "timer_started" if run["deadline_at"] is None else "timer_changed"
        run["deadline_at"] = due
        add_event(events, kind, None, {"step": step.name, "step_id": run["step_id"],
                                                  "minutes": mins, "deadline_at": due})


def complete(s, step, input_, actor, now, events):
    run = s["run"]
    ex = exercise_of(run)
    run["data"][step.name] = input_
    if not collects(step):  # who answered it: a later step may be for the other one (Ctx.by)
        run["data"][f"{step.name}:by"] = actor
    run["last_completed"] = step.name
    if step is CHOOSE_SPEAKER:
        run["speaker"] = actor if input_["first"] == "me" else other(actor)
        add_event(events, "speaker_chosen", actor, {"by": actor, "speaker": run["speaker"]})
    ctx = Ctx(run, now, input=input_, actor=actor)
    if step.emit:
        for type_, data in step.emit(ctx):
            add_event(events, type_, None, data)
    nxt = step.next(ctx) if callable(step.next) else step.next
    advance(s, nxt if nxt is not None else ex.default_next(step.name), now, events)


def finish(s, now, events):
    run = s["run"]
    ex = exercise_of(run)
    started = parse_time(run["started_at"])
    add_event(events, "exercise_completed", None, {
        "exercise": ex.key, "started_at": run["started_at"], "completed_at": iso(now),
        "duration_seconds": int((now - started).total_seconds()), "rounds": run["round"]})
    s["completed"][ex.key] = s["completed"].get(ex.key, 0) + 1
    directive = ex.after(Ctx(run, now)) if ex.after else None
    s["run"] = None
    s["phase"] = "ready"
    if s.get("held"):  # a therapist's hold: nothing joint follows, nor resumes
        directive = directive if directive and "end" in directive else None
        abandon_stack(s, events)
    if directive and ("end" in directive or "start" in directive):
        abandon_stack(s, events)
        if "end" in directive:
            return end_session(s, None, directive["end"], now, events)
        return start(s, EXERCISES[directive["start"]], None, {}, now, events)
    if s["stack"]:
        back = s["stack"].pop()
        s["step_seq"] += 1
        back["step_id"] = s["step_seq"]
        s["run"] = back
        s["phase"] = "exercise"
        add_event(events, "exercise_resumed", None, {"exercise": back["exercise"],
                                                     "step": back["step"],
                                                     "step_id": back["step_id"]})


def abandon_stack(s, events):
    while s["stack"]:
        r = s["stack"].pop()
        add_event(events, "exercise_abandoned", None, {"exercise": r["exercise"],
                                                       "step": r["step"]})


def end_session(s, actor, reason_code, now, events):
    run = s["run"]
    s["ended"] = {"at": iso(now), "by": actor, "reason": reason_code}
    add_event(events, "session_ended", actor, {
        "by": actor, "reason": reason_code, "exercise": run["exercise"] if run else None,
        "step": run["step"] if run else None})
    s["phase"], s["run"], s["stack"], s["paused"] = "ended", None, [], None
