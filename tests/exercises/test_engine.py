"""Unit tests of the pure exercise engine: no server, no database, no Flask."""
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

import pytest

from couples.exercises import engine
from couples.exercises.engine import Action, EngineError

T0 = dt.datetime(2026, 3, 1, 18, 0, tzinfo=dt.timezone.utc)


class Room:
    """Drives the engine like the service would, checking purity and JSON on every step."""

    def __init__(self, safe=True):
        self.state = engine.new_state()
        self.now = T0
        self.events = []
        self.actions = []
        if safe:
            self.act("safety", "a", {"safe": True})
            self.act("safety", "b", {"safe": True})

    def tick(self, minutes=0, seconds=0):
        self.now += dt.timedelta(minutes=minutes, seconds=seconds)

    def act(self, kind, actor, payload=None, step=None):
        action = Action(kind, actor, {} if payload is None else payload, self.now, step)
        before = copy.deepcopy(self.state)
        try:
            result = engine.apply(self.state, action)
        finally:
            assert self.state == before, "apply mutated its input"
        json.dumps(result.state)
        json.dumps(result.events)
        for e in result.events:
            assert set(e) == {"type", "actor", "data", "audience"}
            assert set(e["audience"]) <= {"a", "b", "therapist"} and e["audience"]
        self.state = result.state
        self.events.extend(result.events)
        self.actions.append(action)
        return result.events

    def submit(self, actor, payload=None, step=None):
        return self.act("submit", actor, payload, step or self.step)

    def err(self, kind, actor, payload=None, step=None):
        before = copy.deepcopy(self.state)
        with pytest.raises(EngineError) as info:
            engine.apply(self.state, Action(kind, actor, {} if payload is None else payload,
                                            self.now, step))
        assert self.state == before
        return info.value

    def submit_err(self, actor, payload=None, step=None):
        return self.err("submit", actor, payload, step or self.step)

    @property
    def step(self):
        run = self.state["run"]
        return run["step"] if run else None

    def view(self, who):
        v = engine.view(self.state, who, self.now)
        json.dumps(v)
        return v

    def types(self, events=None):
        return [e["type"] for e in (self.events if events is None else events)]

    def suds(self, extra=None, value=3):
        for p in "ab":
            self.submit(p, {"suds": value, **(extra or {})})


def start_greeting(room, first_by="a", first="me", moment=None):
    payload = {"exercise": "greeting"}
    if moment:
        payload["moment"] = moment
    room.act("start_exercise", "a", payload)
    assert room.step == "suds_before"
    room.suds({"connected": 5})
    assert room.step == "choose_speaker"
    room.submit(first_by, {"first": first})


# --------------------------------------------------------------------------- greeting


@pytest.mark.parametrize("first_by,first,speaker", [("a", "me", "a"), ("a", "partner", "b"),
                                                    ("b", "me", "b"), ("b", "partner", "a")])
def test_greeting_start_to_finish(first_by, first, speaker):
    r = Room()
    start_greeting(r, first_by, first, moment="morning")
    listener = engine.other(speaker)
    assert r.state["run"]["speaker"] == speaker
    assert r.view(speaker)["your_turn"] and not r.view(listener)["your_turn"]
    assert "morning" in r.view(speaker)["prompt"].lower()
    assert r.submit_err(listener, {"greeting": "hi"}).code == "not_your_turn"
    for step, actor, payload in [
        ("greet", speaker, {"greeting": "Good morning, love"}),
        ("greet_back", listener, {"greeting": "Morning! Slept well?"}),
        ("day_speaker", speaker, {"day": "Big meeting at ten"}),
        ("toward_listener", listener, {"way": "reflect", "words": "A big one; you sound ready"}),
        ("day_listener", listener, {"day": "Dentist, then quiet"}),
        ("toward_speaker", speaker, {"way": "ask", "words": "Are you nervous about it?"}),
        ("reply_listener", listener, {"reply": "A little, it will be quick"}),
        ("appreciation_speaker", speaker, {"appreciation": "You made coffee"}),
        ("thanks_listener", listener, {"thanks": "Thank you, I liked making it"}),
        ("appreciation_listener", listener, {"appreciation": "You listened last night"}),
        ("thanks_speaker", speaker, {"thanks": "Thank you for saying so"}),
        ("ritual_offer", listener, {"decision": "skip"}),
    ]:
        assert r.step == step
        r.tick(1)
        r.submit(actor, payload)
    assert r.step == "suds_after"
    # A feeling word is shown to the partner: an invisible direction override is refused.
    hidden = r.submit_err("a", {"suds": 1, "connected": 8, "feeling": "warm\u202e"})
    assert hidden.code == "invalid_input" and "feeling" in hidden.fields
    r.submit("a", {"suds": 1, "connected": 8, "feeling": "warm"})
    assert r.submit_err("a", {"suds": 1, "connected": 8}).code == "not_your_turn"
    r.submit("b", {"suds": 2, "connected": 9})
    assert r.state["phase"] == "ready" and r.state["run"] is None
    done = [e for e in r.events if e["type"] == "exercise_completed"][-1]
    assert done["data"]["exercise"] == "greeting" and done["data"]["duration_seconds"] == 720
    assert r.state["completed"] == {"greeting": 1} and r.view("b")["completed"] == {"greeting": 1}
    chosen = [e for e in r.events if e["type"] == "speaker_chosen"][0]
    assert chosen["data"] == {"by": first_by, "speaker": speaker}


def test_greeting_moment_option_validated():
    r = Room()
    e = r.err("start_exercise", "a", {"exercise": "greeting", "moment": "noon"})
    assert e.code == "invalid_input" and "moment" in e.fields
    e = r.err("start_exercise", "a", {"exercise": "greeting", "extra": 1})
    assert e.code == "invalid_input"
    assert r.err("start_exercise", "a", {"exercise": "chess"}).code == "unknown_exercise"
    assert r.err("start_exercise", "a", {}).code == "unknown_exercise"


# --------------------------------------------------------------------------- needs
# Step by step, branch by branch, in test_needs.py; here, the helpers the other tests share.


STATEMENT = {"observation": "The dishes sat in the sink on Tuesday", "feeling": "frustrated",
             "need": "shared care of our home", "request": "Could you do the dishes on weekdays?"}
MIRROR = {"mirror": "What I heard is you want help with dishes", "feeling": "frustrated",
          "need": "shared care"}


def start_needs(room, first="me", by="a"):
    room.act("start_exercise", by, {"exercise": "needs"})
    room.suds()
    room.submit(by, {"first": first})
    return room.state["run"]["speaker"]


def say_request(r, sp, statement=STATEMENT):
    """The speaker's four steps (NVC: observation, feeling, need, request), one field each."""
    for part in ("observation", "feeling", "need", "request"):
        assert r.step == part
        r.submit(sp, {part: statement[part]})
    assert r.step == "mirror"


def needs_round_yes(r, sp):
    li = engine.other(sp)
    say_request(r, sp)
    r.submit(li, MIRROR)
    r.submit(sp, {"verdict": "accurate"})
    r.submit(li, {"makes_sense": "It makes sense that you're tired, because you cooked",
                  "imagine": "I imagine you feel alone with it"})
    r.submit(li, {"answer": "yes"})
    assert r.step == "follow_up"


# --------------------------------------------------------------------------- timeout
# The whole time-out, step by step, branch by branch, is in test_timeout.py; here, how it sits
# among the other exercises: interrupting, resuming, switching, rescheduling.


def finish_timeout_resume(r, caller):
    other = engine.other(caller)
    r.submit(caller, {"choice": "resume"})
    r.submit(other, {"choice": "resume"})
    assert r.step == "caller_part"
    assert r.submit_err(other, {"part": "x", "differently": "y"}).code == "not_your_turn"
    r.submit(caller, {"part": "I raised my voice", "differently": "I'll slow down"})
    r.submit(other, {"part": "I interrupted", "differently": "I'll let you finish"})
    r.submit(caller, {"feel": "worried", "about": "money this month", "need": "a plan together"})
    r.submit(other, {"acknowledgement": "You're worried and want us to plan together"})
    assert r.step == "suds_after"
    r.suds(value=2)


def test_timeout_from_inside_needs_resumes_same_step():
    r = Room()
    sp = start_needs(r)
    li = engine.other(sp)
    say_request(r, sp)
    step_id = r.state["run"]["step_id"]
    e = r.err("timeout", li, {"feeling": "angry", "arousal": 8, "blame": "you started it"})
    assert e.code == "invalid_input" and "blame" in e.fields
    r.act("timeout", li, {"feeling": "angry", "arousal": 8})
    run = r.state["run"]
    # One press: the break runs at once, nobody else answered anything.
    assert run["exercise"] == "timeout" and run["caller"] == li and r.step == "break"
    assert run["interrupted"] == {"exercise": "needs", "step": "mirror", "step_id": step_id}
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=20)
    assert r.err("timeout", sp, {"feeling": "sad", "arousal": 3}).code == "exercise_in_progress"
    minutes = [f for f in r.view("a")["input"] if f["name"] == "minutes"][0]
    assert minutes == {"name": "minutes", "kind": "minutes", "required": False, "min": 20, "max": 1440,
                       "label": "I need a longer break: minutes in all (optional)"}
    r.submit(sp, {"feeling": "hurt", "arousal": 6})
    r.submit("b", {"minutes": 45})
    agreed = [e for e in r.events if e["type"] == "return_time_agreed"][-1]["data"]
    assert agreed == {"minutes": 45, "proposals": {"b": 45}}
    assert r.step == "break"
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=45)
    v = r.view(sp)
    assert v["suggestions"] and v["deadline_at"] and v["seconds_left"] == 45 * 60
    assert not v["your_turn"] and "activity" in [f["name"] for f in v["input"]]
    r.submit("a", {"activity": "a walk round the block"})
    r.submit("a", {"activity": "breathing"})
    assert r.step == "break"
    r.tick(44)
    assert r.err("timer", None).code == "not_due"
    assert r.err("timer", "a").code == "not_your_turn"
    r.tick(1)
    r.act("timer", None)
    assert r.step == "return_check"
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=15)  # the no-show timer
    # not ready: the break extends
    r.submit("a", {"arousal": 5, "ready": True})
    r.submit("b", {"arousal": 6, "ready": False, "extend_minutes": 15})
    assert r.step == "break"
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=15)
    assert [e for e in r.events if e["type"] == "break_extended"][-1]["data"] == {"minutes": 15}
    r.tick(16)
    r.act("timer", None)
    r.submit("a", {"arousal": 3, "ready": True})
    r.submit("b", {"arousal": 4, "ready": True})
    assert r.step == "next_step"
    finish_timeout_resume(r, li)
    assert r.state["run"]["exercise"] == "needs" and r.step == "mirror"
    assert r.state["run"]["step_id"] > step_id
    assert r.types()[-1] == "exercise_resumed"
    r.submit(li, MIRROR)
    assert r.step == "check"
    fired = [e["data"] for e in r.events if e["type"] == "timer_fired"]
    assert len(fired) == 2 and fired[0]["fired_at"] == fired[0]["deadline_at"]


def test_timeout_started_alone_then_switch_to_the_floor():
    r = Room()
    r.act("start_exercise", "b", {"exercise": "timeout"})
    assert r.state["run"]["caller"] == "b" and r.step == "break"
    assert r.view("a")["waiting_for"] == [] and not r.view("a")["your_turn"]
    r.submit("b", {"feeling": "overwhelmed", "arousal": 6})
    r.submit("a", {"feeling": "worried", "arousal": 4})
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"arousal": 2, "ready": True})
    r.submit("b", {"arousal": 3, "ready": True})
    r.submit("a", {"choice": "switch"})
    r.submit("b", {"choice": "resume"})  # the more careful choice wins
    assert [e for e in r.events if e["type"] == "next_step_chosen"][-1]["data"]["choice"] == "switch"
    assert r.step == "suds_after"
    r.suds()
    assert r.state["run"]["exercise"] == "speaker_listener" and r.step == "suds_before"


def test_timeout_reschedule_ends_session_and_abandons_interrupted():
    r = Room()
    start_greeting(r)
    r.act("timeout", "a")
    r.tick(30)
    r.act("timer", None)
    r.submit("a", {"arousal": 2, "ready": True})
    r.submit("b", {"arousal": 3, "ready": True})
    r.submit("a", {"choice": "reschedule"})
    r.submit("b", {"choice": "switch"})
    assert r.step == "reschedule"
    assert r.submit_err("b", {"date": "2026-02-01"}).code == "invalid_input"
    r.submit("b", {"date": "2026-03-02", "note": "after dinner"})
    r.suds()
    assert r.state["phase"] == "ended"
    assert "exercise_abandoned" in r.types()
    assert r.events[-1]["type"] == "session_ended" and r.events[-1]["data"]["reason"] == "rescheduled"
    assert r.err("submit", "a", {}).code == "session_ended"


def test_timeout_resume_with_no_interrupted_goes_to_ready():
    r = Room()
    timeout_through(r)  # a time-out taken from "ready": nothing to go back to
    assert r.state["phase"] == "ready" and r.state["run"] is None


def test_timeout_minutes_bounds():
    r = Room()
    for bad in [19, 1441, 20.0, "20", True]:
        e = r.err("timeout", "a", {"minutes": bad})
        assert e.code == "invalid_input" and "minutes" in e.fields, bad
    r.act("timeout", "a")
    for bad in [19, 1441, 20.0, "20", True, None]:
        e = r.submit_err("b", {"minutes": bad})
        assert e.code == "invalid_input" and "minutes" in e.fields, bad
    r.submit("a", {"minutes": 1440})
    r.submit("b", {"minutes": 20})
    r.tick(1440)
    r.act("timer", None)
    for bad in [9, 1441]:
        assert r.submit_err("a", {"arousal": 5, "ready": False, "extend_minutes": bad}).code == "invalid_input"
    assert r.submit_err("a", {"arousal": 5, "ready": "no"}).code == "invalid_input"
    assert r.submit_err("a", {"arousal": 5}).code == "invalid_input"  # `ready` is the one required answer


# --------------------------------------------------------------------------- turns, input, staleness


@pytest.mark.parametrize("bad", [7.9, "7", True, -1, 11, None, [], {"x": 1}])
def test_invalid_ratings(bad):
    r = Room()
    r.act("start_exercise", "a", {"exercise": "needs"})
    e = r.submit_err("a", {"suds": bad})
    assert e.code == "invalid_input" and set(e.fields) == {"suds"}


@pytest.mark.parametrize("payload,field", [
    ({}, "suds"),
    ({"suds": 3, "extra": 1}, "extra"),
    ({"suds": 3, "feeling": "x" * 41}, "feeling"),
    ({"suds": 3, "feeling": "calm\x00"}, "feeling"),
    ({"suds": 3, "feeling": "\x1b[31m"}, "feeling"),
    ({"suds": 3, "feeling": ""}, "feeling"),
    ({"suds": 3, "feeling": 5}, "feeling"),
])
def test_invalid_fields(payload, field):
    r = Room()
    r.act("start_exercise", "a", {"exercise": "needs"})
    e = r.submit_err("a", payload)
    assert e.code == "invalid_input" and field in e.fields


def test_huge_text_and_non_dict_payload():
    r = Room()
    sp = start_needs(r)
    e = r.submit_err(sp, {"observation": "x" * 100_000})
    assert e.code == "invalid_input" and "observation" in e.fields
    assert r.submit_err(sp, ["not", "a", "dict"]).code == "invalid_input"
    assert r.submit_err(sp, "text").code == "invalid_input"
    r.submit(sp, {"observation": "  Cafe\u0301 on Fridays?  "})
    assert r.state["run"]["data"]["observation"]["observation"] == "Caf\u00e9 on Fridays?"


def test_turns_roles_and_staleness():
    r = Room()
    assert r.err("submit", "a", {}, step="x").code == "no_exercise"
    r.act("start_exercise", "a", {"exercise": "greeting"})
    assert r.err("start_exercise", "b", {"exercise": "needs"}).code == "exercise_in_progress"
    assert r.err("submit", "a", {"suds": 1, "connected": 1}, step=None).code == "stale_step"
    assert r.err("submit", "a", {"suds": 1, "connected": 1}, step="greet").code == "stale_step"
    assert r.err("submit", "therapist", {"suds": 1, "connected": 1}, step="suds_before").code == "not_your_turn"
    assert r.err("submit", None, {"suds": 1, "connected": 1}, step="suds_before").code == "not_your_turn"
    id0 = r.view("a")["step_id"]
    r.suds({"connected": 4})
    assert r.view("a")["step_id"] > id0
    # EITHER: the first wins, the second is stale
    r.submit("b", {"first": "me"})
    assert r.err("submit", "a", {"first": "me"}, step="choose_speaker").code == "stale_step"
    assert r.submit_err("a", {"greeting": "hi"}).code == "not_your_turn"  # b speaks first
    assert r.err("bogus", "a").code == "bad_action"
    assert r.err("ready", "a").code == "bad_action"
    with pytest.raises(EngineError) as info:
        engine.apply(r.state, Action("submit", "b", {}, dt.datetime(2026, 1, 1), "greet"))
    assert info.value.code == "bad_action"


# --------------------------------------------------------------------------- pause, end


def test_pause_ready_resume_mid_both_step_keeps_answers_and_private_reason():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "greeting"})
    r.submit("a", {"suds": 4, "connected": 6})
    ev = r.act("pause", "b", {"reason": "I feel a panic attack coming"})
    assert [e["type"] for e in ev] == ["paused", "pause_reason"]
    assert ev[0]["audience"] == ["a", "b", "therapist"] and "reason" not in ev[0]["data"]
    assert ev[1]["audience"] == ["b", "therapist"]
    va, vb, vt = r.view("a"), r.view("b"), r.view("therapist")
    assert va["paused"] and va["pause_reason"] is None and not va["your_turn"] and va["input"] is None
    assert "panic" not in json.dumps(va)
    assert vb["pause_reason"] == vt["pause_reason"] == "I feel a panic attack coming"
    for kind, payload in [("submit", {"suds": 1, "connected": 1}), ("start_exercise", {"exercise": "needs"}),
                          ("timer", {}), ("safety", {"safe": True})]:
        assert r.err(kind, None if kind == "timer" else "b", payload, step=r.step).code == "paused"
    # (a time-out and the pause technique are for exactly this moment: test_pause.py)
    assert r.err("pause", "a").code == "paused"
    assert r.err("pause", "a", {"reason": "x" * 501}).code == "paused"
    r.act("ready", "a")
    assert r.err("ready", "a").code == "not_your_turn"
    assert r.err("ready", "b", {"x": 1}).code == "invalid_input"
    r.tick(5)
    ev = r.act("ready", "b")
    assert [e["type"] for e in ev] == ["partner_ready", "resumed"]
    assert ev[1]["data"]["paused_seconds"] == 300
    assert r.step == "suds_before" and r.state["run"]["answers"].keys() == {"a"}
    r.submit("b", {"suds": 2, "connected": 6})
    assert r.step == "choose_speaker"


def test_pause_reason_validated():
    r = Room()
    assert r.err("pause", "a", {"reason": "x" * 501}).code == "invalid_input"
    assert r.err("pause", "a", {"reason": "bad\x07"}).code == "invalid_input"
    assert r.err("pause", "a", {"why": "x"}).code == "invalid_input"
    ev = r.act("pause", "a")
    assert [e["type"] for e in ev] == ["paused"]


def test_timer_paused_then_fires_once_on_resume():
    r = Room()
    r.act("timeout", "a")
    due = engine.deadline(r.state)
    r.act("pause", "a")
    assert engine.deadline(r.state) is None and r.view("a")["deadline_at"] is None
    r.tick(60)
    assert r.err("timer", None).code == "paused"
    r.act("ready", "a")
    r.act("ready", "b")
    assert engine.deadline(r.state) == due < r.now
    r.act("timer", None)
    assert r.err("timer", None).code == "not_due"
    assert [e["type"] for e in r.events].count("timer_fired") == 1


def test_end_any_time():
    r = Room(safe=False)
    r.act("end", "b", {"reason": "not today"})
    assert r.state["phase"] == "ended"
    ended = [e for e in r.events if e["type"] == "session_ended"][0]
    assert ended["audience"] == ["a", "b", "therapist"] and "reason" in ended["data"]
    assert ended["data"]["reason"] == "ended_by_partner"
    assert [e for e in r.events if e["type"] == "end_reason"][0]["audience"] == ["b", "therapist"]
    for kind in ["end", "pause", "ready", "submit", "safety", "timer", "bogus_ok"]:
        if kind != "bogus_ok":
            assert r.err(kind, "a").code == "session_ended"
    assert r.view("a")["phase"] == "ended"

    r = Room()
    start_greeting(r)
    r.act("pause", "a")
    r.act("end", "b")
    assert r.state["phase"] == "ended" and r.state["run"] is None and not r.state["paused"]


# --------------------------------------------------------------------------- safety


def safety_room(order):
    r = Room(safe=False)
    for actor, safe in order:
        r.act("safety", actor, {"safe": safe})
    return r


def visible_types_and_data(r, who, drop_own_answer=True):
    return [(e["type"], e["actor"], e["data"]) for e in engine.visible(r.events, who)
            if not (drop_own_answer and e["type"] in ("safety_answered", "safety_waiting"))]


def test_safety_both_yes_then_ready():
    r = Room(safe=False)
    assert r.err("start_exercise", "a", {"exercise": "greeting"}).code == "safety_pending"
    assert r.err("timeout", "a", {"feeling": "sad", "arousal": 2}).code == "safety_pending"
    assert r.err("safety", "a", {"safe": "yes"}).code == "invalid_input"
    assert r.err("safety", "a", {"safe": 1}).code == "invalid_input"
    assert r.err("safety", "a", {}).code == "invalid_input"
    ev = r.act("safety", "a", {"safe": True})
    assert ev[0] == {"type": "safety_answered", "actor": "a", "data": {"safe": True}, "audience": ["a"]}
    assert [e["type"] for e in ev] == ["safety_answered", "safety_checked", "safety_waiting"]
    assert [e["audience"] for e in ev] == [["a"], ["therapist"], ["a"]]
    assert r.err("safety", "a", {"safe": False}).code == "not_your_turn"
    assert r.view("a")["phase"] == "safety" and not r.view("a")["your_turn"]
    assert r.view("b")["your_turn"] and r.view("b")["input"][0]["kind"] == "bool"
    r.act("safety", "b", {"safe": True})
    assert r.state["phase"] == "ready" and r.types()[-1] == "session_ready"
    keys = [x["key"] for x in r.view("a")["exercises"]]
    assert keys == list(engine.EXERCISES) and keys[:3] == ["greeting", "timeout", "needs"]
    assert r.err("safety", "a", {"safe": False}).code == "not_your_turn"


def test_safety_hold_never_reveals_who():
    cases = {
        "b_no_first": [("b", False), ("a", True)],
        "a_yes_first": [("a", True), ("b", False)],
        "a_no_first": [("a", False), ("b", True)],
        "b_yes_first": [("b", True), ("a", False)],
    }
    rooms = {k: safety_room(v) for k, v in cases.items()}
    for r in rooms.values():
        assert r.state["phase"] == "hold"
        assert r.err("start_exercise", "a", {"exercise": "greeting"}).code == "safety_hold"
        assert r.err("start_exercise", "b", {"exercise": "greeting"}).code == "safety_hold"
        assert r.err("timeout", "b", {"feeling": "sad", "arousal": 2}).code == "safety_hold"
    for who in "ab":
        seen = {k: visible_types_and_data(r, who) for k, r in rooms.items()}
        assert len({json.dumps(v) for v in seen.values()}) == 1, seen
        views = {k: r.view(who) for k, r in rooms.items()}
        assert len({json.dumps(v, sort_keys=True) for v in views.values()}) == 1
        assert views["b_no_first"]["phase"] == "hold"
        assert all(e["actor"] in (None, who) for r in rooms.values() for e in engine.visible(r.events, who))
    # the therapist is told privately, by name
    for k, r in rooms.items():
        concern = [e for e in r.events if e["type"] == "safety_concern"]
        assert len(concern) == 1 and concern[0]["audience"] == ["therapist"]
        assert concern[0]["data"]["partner"] == ("b" if k in ("b_no_first", "a_yes_first") else "a")
        assert r.view("therapist")["safety"] in ({"a": True, "b": False}, {"a": False, "b": True})
        assert sum(1 for e in engine.visible(r.events, "therapist") if e["type"] == "not_today") == 1


def test_safety_no_is_invisible_to_a_partner_who_has_not_answered():
    waiting = Room(safe=False)
    said_no = safety_room([("b", False)])
    said_yes = safety_room([("b", True)])
    for r in (said_no, said_yes):
        assert engine.visible(r.events, "a") == []
        assert r.err("start_exercise", "a", {"exercise": "needs"}).code == "safety_pending"
    va = [json.dumps(r.view("a"), sort_keys=True) for r in (waiting, said_no, said_yes)]
    assert len(set(va)) == 1
    assert said_no.view("a")["phase"] == "safety" and said_no.view("a")["your_turn"]
    assert said_no.view("b")["phase"] == "hold"
    # b, who answered, cannot see from the view whether a has answered
    assert json.dumps(said_yes.view("b"), sort_keys=True) == json.dumps(
        safety_room([("b", True)]).view("b"), sort_keys=True)
    assert said_yes.view("b")["waiting_for"] == []


def test_safety_events_for_a_identical_whoever_said_no():
    a_no = safety_room([("a", False), ("b", True)])
    b_no = safety_room([("b", False), ("a", True)])
    seen_a = lambda r: [(e["type"], e["data"]) for e in engine.visible(r.events, "a")]
    assert seen_a(a_no)[1:] == seen_a(b_no)[1:]
    assert seen_a(a_no)[0] == ("safety_answered", {"safe": False})
    assert seen_a(b_no)[0] == ("safety_answered", {"safe": True})


# --------------------------------------------------------------------------- views, replay


def test_views_for_everyone_at_every_step_are_json():
    r = Room()
    sp = start_needs(r)
    for who in ("a", "b", "therapist"):
        v = r.view(who)
        for key in ["phase", "exercise", "exercise_title", "step", "step_id", "prompt", "your_turn",
                    "waiting_for", "input", "paused", "ready", "deadline_at", "suggestions",
                    "speaker", "round", "exercises"]:
            assert key in v
    vs, vl, vt = r.view(sp), r.view(engine.other(sp)), r.view("therapist")
    assert vs["your_turn"] and not vl["your_turn"] and not vt["your_turn"]
    assert [f["name"] for f in vs["input"]] == ["observation"]  # NVC's first step

    assert vl["input"] is None and vl["waiting_for"] == [sp]
    assert vt["input"] is None and vt["waiting_for"] == [sp]
    assert vt["prompt"] == f"Asked: “{vs['prompt']}”"  # the speaker's words; the page names the speaker
    assert "partner a" not in vt["prompt"].lower() and "partner b" not in vt["prompt"].lower()


GREETING_TURNS = [("a", {"greeting": "Hi"}), ("b", {"greeting": "Hello"}), ("a", {"day": "Busy"}),
                  ("b", {"way": "reflect", "words": "Full day"}), ("b", {"day": "Calm"}),
                  ("a", {"way": "reflect", "words": "Restful"}), ("a", {"appreciation": "Tea"}),
                  ("b", {"thanks": "Thanks"}), ("b", {"appreciation": "Jokes"}), ("a", {"thanks": "Ta"}),
                  ("a", {"decision": "skip"})]


def greet_through(r):
    start_greeting(r)
    for who, data in GREETING_TURNS:
        r.submit(who, data)
    r.suds({"connected": 8})
    assert r.state["phase"] == "ready"


def timeout_through(r):
    r.act("timeout", "a")
    r.submit("b", {"feeling": "sad", "arousal": 5})
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"arousal": 2, "ready": True})
    r.submit("b", {"arousal": 3, "ready": True})
    finish_timeout_resume(r, "a")
    assert r.state["phase"] == "ready"


def test_two_hundred_completions_keep_the_state_and_views_bounded():
    r = Room()
    sizes = {}
    for n in range(1, 201):
        timeout_through(r) if n % 4 == 0 else greet_through(r)
        if n in (20, 200):
            sizes[n] = [len(json.dumps(x)) for x in (r.state, r.view("a"), r.view("therapist"))]
    assert r.state["completed"] == {"greeting": 150, "timeout": 50}
    assert r.view("b")["completed"] == {"greeting": 150, "timeout": 50}
    assert sum(e["type"] == "exercise_completed" for e in r.events) == 200
    # Only the digits of the counts and of step_seq grow.
    assert all(late - early <= 4 for early, late in zip(sizes[20], sizes[200])), sizes


def test_a_stored_state_of_the_old_shape_loads_and_continues():
    r = Room()
    old = {**r.state, "v": 1, "completed": ["greeting", "needs"] * 300 + ["greeting"]}
    stored = copy.deepcopy(old)
    assert r.view("a")["completed"] == {}
    assert engine.view(old, "a", r.now)["completed"] == {"greeting": 301, "needs": 300}
    r.state = old
    greet_through(r)  # Room.act also checks that apply never changes its input
    assert old == stored
    assert r.state["v"] == engine.STATE_VERSION
    assert r.state["completed"] == {"greeting": 302, "needs": 300}
    assert list(r.state["completed"]) == ["greeting", "needs"]  # in order of first completion


def test_apply_copies_the_counts_rather_than_sharing_them():
    r = Room()
    greet_through(r)
    before = r.state
    after = engine.apply(before, Action("start_exercise", "a", {"exercise": "greeting"}, r.now)).state
    assert after["completed"] == before["completed"] == {"greeting": 1}
    assert after["completed"] is not before["completed"]


def test_replay_is_deterministic():
    r = Room()
    sp = start_needs(r)
    r.act("timeout", sp, {"feeling": "angry", "arousal": 7})
    again = engine.replay(r.actions)
    assert again.state == r.state and again.events == r.events
    assert engine.replay(r.actions).state == again.state


def test_exercise_list_and_registry():
    assert set(engine.EXERCISES) >= {"greeting", "timeout", "needs"}
    for item in engine.exercise_list():
        assert set(item) == {"key", "title", "summary", "minutes", "not_when", "options", "demanding",
                             "calm_at_most", "interrupts"}
        assert item["minutes"] > 0 and item["not_when"], item["key"]  # the catalogue shows both
        if item["key"] in ("greeting", "timeout", "needs", "speaker_listener", "dialogue"):
            assert item["demanding"] is (item["key"] not in ("greeting", "timeout"))
        assert item["interrupts"] is (item["key"] == "timeout")
    greeting = next(x for x in engine.exercise_list() if x["key"] == "greeting")
    assert greeting["options"][0]["name"] == "moment"
    assert greeting["options"][0]["options"] == ["reunion", "morning"]
    with pytest.raises(ValueError):
        engine.register(engine.EXERCISES["needs"])


def test_adding_an_exercise_needs_no_engine_change():
    from couples.exercises.engine import (FINISH, LISTENER, SPEAKER, Exercise, Step, Swap,
                                          schema, text)
    engine.register(Exercise(
        key="appreciation_test", title="Appreciation", summary="Name what you value.",
        steps=(
            Step("share", SPEAKER, "Name one thing you appreciate.",
                 schema=schema("share_t", appreciation=text("I appreciate"))),
            Step("thanks", LISTENER, "Say thank you.",
                 schema=schema("thanks_t", thanks=text("Thank you")),
                 next=lambda c: Swap("share") if c.round == 1 else FINISH),
        )))
    try:
        r = Room()
        r.act("start_exercise", "b", {"exercise": "appreciation_test"})
        r.suds()
        r.submit("b", {"first": "partner"})
        for sp in ("a", "b"):
            r.submit(sp, {"appreciation": "your patience"})
            r.submit(engine.other(sp), {"thanks": "thank you"})
        r.suds()
        assert r.state["completed"] == {"appreciation_test": 1} and r.state["phase"] == "ready"
        assert "roles_swapped" in r.types()
    finally:
        del engine.EXERCISES["appreciation_test"]


def test_check_order_and_timeout_inside_timeout():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "timeout"})
    assert r.err("timeout", "b", {"feeling": "sad", "arousal": 2}).code == "exercise_in_progress"
    assert r.err("timeout", "a").code == "exercise_in_progress"
    assert r.err("start_exercise", "a", {"exercise": "greeting"}).code == "exercise_in_progress"
    assert r.err("timer", None).code == "not_due"
    assert r.submit_err("therapist", {}).code == "not_your_turn"  # the break's log is the partners'
    assert r.submit_err("b", {"feeling": 1}).code == "invalid_input"
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    # already answered, with bad input: the turn is checked before the input
    assert r.submit_err("a", {"ready": "yes"}).code == "not_your_turn"
    # stale step is checked before the turn
    assert r.err("submit", "a", {"ready": True}, step="break").code == "stale_step"


def test_safety_answers_leave_the_same_seq_footprint_whatever_the_other_answered():
    """Seq numbers are shared by all viewers: the positions of the events a partner can see must
    not depend on what the other partner answered, or the gaps would give the answer away."""
    def positions(answers, who):
        r = safety_room(answers)
        return [i for i, e in enumerate(r.events) if who in e["audience"]]

    for first, second in (("a", "b"), ("b", "a")):
        for who in (first, second):
            for own in (True, False):
                seen = set()
                for other in (True, False):
                    answers = {who: own, (second if who == first else first): other}
                    seen.add(repr(positions([(first, answers[first]), (second, answers[second])], who)))
                assert len(seen) == 1, (first, who, own, seen)
