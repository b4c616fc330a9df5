"""Property test: any sequence of actions only ever raises EngineError and keeps everything JSON."""
import copy
import datetime as dt
import importlib
import json
import pathlib
import sys
import types

try:  # the engine needs only couples.fields and couples.exercises: work even if the app can't load
    importlib.import_module("couples")
except Exception:  # pragma: no cover - only while the app package is absent or broken
    _pkg = types.ModuleType("couples")
    _pkg.__path__ = [str(pathlib.Path(__file__).resolve().parents[2] / "couples")]
    sys.modules["couples"] = _pkg

from hypothesis import HealthCheck, given, settings, strategies as st

from couples.exercises import engine
from couples.exercises.engine import Action, EngineError
from couples.exercises.pause import PauseCheck
from couples.exercises.timeout import BreakLog

T0 = dt.datetime(2026, 3, 1, 18, 0, tzinfo=dt.timezone.utc)
KINDS = ["safety", "start_exercise", "submit", "pause", "ready", "end", "timer", "timeout", "pause_check",
         "bogus"]
PAUSE_CHECK = engine.describe(PauseCheck)
BREAK_LOG = engine.describe(BreakLog)
CAP = dt.timedelta(hours=24)
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=False),
                 st.text(max_size=30), st.sampled_from(["me", "partner", "yes", "no", "alternative",
                                                        "accept", "answer", "clarify", "accurate", "more",
                                                        "resume", "switch", "reschedule", "swap",
                                                        "finish", "2026-03-05", "calm"]))


def value_for(field, draw):
    kind = field["kind"]
    good = {
        "rating": st.integers(0, 10),
        "minutes": st.integers(field.get("min", 0), field.get("max", 60)),
        "bool": st.booleans(),
        "date": st.sampled_from(["2026-03-01", "2026-03-05", "2027-01-01"]),
        "choice": st.sampled_from(field.get("options") or ["x"]),
    }.get(kind, st.text("abc xyz\u00e9", min_size=1, max_size=20).filter(str.strip))
    return draw(st.one_of(good, good, good, good, good, good, good, good, good, JUNK))


def payload_for(view, draw):
    fields_ = view.get("input") or []
    out = {}
    for f in fields_:
        if f["required"] or draw(st.booleans()):
            out[f["name"]] = value_for(f, draw)
    if draw(st.integers(0, 30)) == 0:
        out[draw(st.text(max_size=5))] = draw(JUNK)
    return out


def sensible(state, now, draw):
    """An action a cooperative client would send now (so sequences reach deep steps)."""
    t = engine.view(state, "therapist", now)
    if state["paused"]:
        who = draw(st.sampled_from(["a", "b"]))
        kind = draw(st.sampled_from(["ready", "ready", "pause_check", "pause_check", "timeout"]))
        if kind == "pause_check":
            return kind, who, payload_for({"input": PAUSE_CHECK}, draw), None
        return kind, who, {}, None
    if t["phase"] == "safety":
        who = draw(st.sampled_from(t["waiting_for"] or ["a"]))
        return "safety", who, {"safe": draw(st.sampled_from([True] * 8 + [False]))}, None
    if t["phase"] == "ready":
        ex = draw(st.sampled_from(list(engine.EXERCISES)))  # every registered exercise
        payload = {"exercise": ex}
        if draw(st.booleans()):
            payload["start_anyway"] = draw(st.sampled_from([True, True, False, "yes"]))
        return "start_exercise", draw(st.sampled_from(["a", "b"])), payload, None
    if t["phase"] == "exercise":
        if not t["waiting_for"]:
            if draw(st.integers(0, 3)) == 0:  # a break: someone logs (a proposal, a rating)
                who = draw(st.sampled_from(["a", "b"]))
                return "submit", who, payload_for({"input": BREAK_LOG}, draw), t["step"]
            return "timer", None, {}, None
        who = draw(st.sampled_from(t["waiting_for"]))
        v = engine.view(state, who, now)
        return "submit", who, payload_for(v, draw), v["step"]
    return "end", "a", {}, None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_sequences_only_raise_engine_errors(data):
    draw = data.draw
    state, now = engine.new_state(), T0
    for _ in range(draw(st.integers(5, 80))):
        now += dt.timedelta(minutes=draw(st.sampled_from([0, 0, 1, 30, 2000])))
        if draw(st.integers(0, 9)) < 8:
            kind, actor, payload, step = sensible(state, now, draw)
        else:
            kind, actor, payload, step = random_action(state, now, draw)
        before = copy.deepcopy(state)
        try:
            result = engine.apply(state, Action(kind, actor, payload, now, step))
        except EngineError as err:
            assert isinstance(err.code, str) and isinstance(err.fields, dict)
            json.dumps(err.fields)
            assert state == before
            continue
        assert state == before
        json.dumps(result.events)
        state = json.loads(json.dumps(result.state))
        assert state == result.state
        for who in ("a", "b", "therapist"):
            json.dumps(engine.view(state, who, now))
        d = engine.deadline(state)
        assert d is None or d.tzinfo is not None
        private_stays_private(result.events)
        break_within_a_day(state)
        for who in ("a", "b"):
            v = engine.view(state, who, now)
            assert v["suggest_timeout"] == (v["can_timeout"] and bool(state.get("flooded", {}).get(who)))


def private_stays_private(events):
    """Distress flags, and answers not shared, reach only their author and the therapist; a missed
    return never reaches the partner who is missing."""
    for e in events:
        if e["type"] == "distress_flagged":
            assert e["audience"] == [e["actor"], "therapist"] and e["data"]["partner"] == e["actor"]
        answer = e["data"].get("data") if e["type"] in ("step_submitted", "step_logged") else e["data"]
        if e["type"] in ("step_submitted", "step_logged", "pause_checked") and answer.get("share") is False:
            assert e["audience"] == [e["actor"], "therapist"], e
        if e["type"] == "return_missed":
            assert not set(e["data"]["missing"]) & set(e["audience"]), e


def break_within_a_day(state):
    run = state["run"]
    if run and run["exercise"] == "timeout" and run["step"] == "break" and run["deadline_at"]:
        started = dt.datetime.fromisoformat(run["started_at"])
        assert dt.datetime.fromisoformat(run["deadline_at"]) <= started + CAP, run


def random_action(state, now, draw):
    kind = draw(st.sampled_from(KINDS + ["submit"] * 4))
    actor = draw(st.sampled_from(["a", "b", "a", "b", None, "therapist"]))
    if kind == "timer" and draw(st.booleans()):
        actor = None
    v = engine.view(state, actor if actor in ("a", "b") else "therapist", now)
    step = draw(st.sampled_from([v["step"], v["step"], v["step"], None, "mirror"]))
    if kind == "safety":
        payload = {"safe": draw(st.sampled_from([True, True, True, False, "yes"]))}
    elif kind == "start_exercise":
        payload = {"exercise": draw(st.sampled_from([*engine.EXERCISES, "nope"])),
                   **draw(st.sampled_from([{}, {"start_anyway": True}, {"start_anyway": 1}]))}
    elif kind == "timeout":
        payload = draw(st.sampled_from([{}, {}, {"feeling": "angry", "arousal": draw(st.integers(-1, 11))},
                                        {"minutes": draw(st.integers(0, 2000)), "share": True}]))
    elif kind == "pause_check":
        payload = payload_for({"input": PAUSE_CHECK}, draw)
    elif kind in ("pause", "end"):
        payload = draw(st.sampled_from([{}, {"reason": "tired"}, {"reason": 5},
                                        {"reason": "tired", "for_therapist": True}]))
    else:
        payload = payload_for(v, draw)
    return kind, actor, payload, step
