"""The session state: a JSON-serialisable dict with ISO 8601 (UTC) times, its version and how an
older stored version is read, and the timer deadline it holds."""
from __future__ import annotations

import datetime as dt

from ..perf import jsontext

STATE_VERSION = 3  # v3: runs at a step that no longer exists are set aside (see upgrade)
# v2: "completed" counts per exercise key; v1 listed every completion


def new_state(held_since: dt.datetime | None = None) -> dict:
    """A new session's state; `held_since`: the couple's therapist has paused joint practice."""
    state = {
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
    if held_since is not None:  # as the system action "hold" sets it (hold.py)
        state["held"] = {"at": iso(held_since)}
    return state


def upgrade(state: dict) -> dict:
    """`state` in the current shape; a stored older state is converted, never changed in place.
    v1 -> v2: the old list of every completed key grew with the session and was rewritten on every
    turn; the order it kept is in the event log (`exercise_completed`).
    v2 -> v3: the time-out, needs request and greeting were rewritten step by step (issue 23); an
    exercise stored mid-way at a step that no longer exists cannot go on, so it is set aside and
    the couple chooses again (what was said stays in the log)."""
    version = state.get("v", 1)
    if version >= STATE_VERSION:
        return state
    out = dict(state)
    if version < 2:
        counts: dict = {}
        for key in state.get("completed") or ():
            counts[key] = counts.get(key, 0) + 1
        out["completed"] = counts
    if version < 3:
        out.update(_without_lost_steps(out))
    out["v"] = STATE_VERSION
    return out


def _without_lost_steps(state: dict) -> dict:
    from .declarations import EXERCISES  # the registry imports this module's helpers

    def known(run):
        ex = EXERCISES.get(run.get("exercise"))
        return ex is not None and run.get("step") in ex._steps

    runs = [state.get("run")] + list(state.get("stack") or [])
    if all(r is None or known(r) for r in runs):
        return {}
    if state.get("phase") == "exercise":
        return {"run": None, "stack": [], "phase": "ready"}
    return {"run": None, "stack": []}


def deadline(state) -> dt.datetime | None:
    state = upgrade(state)  # a run set aside by the upgrade has no timer left
    run = state.get("run")
    if state.get("paused") or not run or not run.get("deadline_at"):
        return None
    return parse_time(run["deadline_at"])


def copy_state(value):
    """A deep copy of JSON-shaped state (dicts, lists, scalars), which every action makes."""
    return jsontext.copy(value, _walk)


def _walk(value):
    kind = type(value)
    if kind is dict:
        return {k: _walk(v) for k, v in value.items()}
    if kind is list:
        return [_walk(v) for v in value]
    return value


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def parse_time(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)
