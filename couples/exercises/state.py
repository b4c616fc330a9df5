"""The session state: a JSON-serialisable dict with ISO 8601 (UTC) times, its version and how an
older stored version is read, and the timer deadline it holds."""
from __future__ import annotations

import datetime as dt

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
    return parse_time(run["deadline_at"])


def copy_state(value):
    """A deep copy of JSON-shaped state (dicts, lists, scalars): 3x faster than copy.deepcopy,
    which every action paid."""
    kind = type(value)
    if kind is dict:
        return {k: copy_state(v) for k, v in value.items()}
    if kind is list:
        return [copy_state(v) for v in value]
    return value


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def parse_time(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)
