"""A therapist's hold on joint practice (issue 23: "a therapist can put a couple's joint exercises
on hold ... the partners see that their therapist has paused joint practice, never which answer
caused it"), in the pure engine: the system actions "hold" and "release" (actor None, as the
timer), what stops (starting a joint exercise; a running one is set aside at once), what goes on
(a time-out's break and coming back, a pause, ending, the safety question), and what each viewer
is told: that it is held, never why."""
import json

from couples.exercises import engine
from couples.exercises.hold import PROMPT, REFUSED
from test_engine import Room, start_greeting

TIMEOUT_NOTE = "You can still take a time-out, pause or end"


def of(r, type_, events=None):
    return [e for e in (r.events if events is None else events) if e["type"] == type_]


def held(r):
    ev = r.act("hold", None)
    assert ev[0] == {"type": "practice_held", "actor": None, "data": {}, "audience": ["a", "b", "therapist"]}
    return ev


def test_a_hold_refuses_every_joint_exercise_with_its_own_code_and_plain_words():
    r = Room()
    held(r)
    for key, options in (("greeting", {}), ("needs", {}), ("greeting", {"moment": "reunion"})):
        err = r.err("start_exercise", "a", {"exercise": key, **options})
        assert (err.code, err.message) == ("therapist_hold", REFUSED)
        assert TIMEOUT_NOTE in err.message
    assert r.err("start_exercise", "b", {"exercise": "needs", "start_anyway": True}).code == "therapist_hold"
    assert r.err("start_exercise", "a", {"exercise": "nope"}).code == "therapist_hold"  # held first
    # The time-out is never held back: from its button, or started as an exercise.
    r.act("start_exercise", "b", {"exercise": "timeout"})
    assert r.step == "break"


def test_every_viewer_is_told_it_is_held_and_nobody_why():
    r = Room()
    held(r)
    for who in ("a", "b"):
        v = r.view(who)
        assert v["held"] is True and v["phase"] == "ready"
        assert v["prompt"] == PROMPT and not v["can_start"] and v["can_timeout"]
    therapist = r.view("therapist")
    assert therapist["held"] is True and not therapist["can_start"]
    assert "paused this couple's joint practice" in therapist["prompt"]
    # The log says it happened, with no reason, for everyone alike.
    assert [e for e in r.events if e["type"].startswith("practice_")] == [
        {"type": "practice_held", "actor": None, "data": {}, "audience": ["a", "b", "therapist"]}]
    assert "reason" not in json.dumps(r.state.get("held"))


def test_a_hold_mid_exercise_sets_the_joint_exercise_aside_at_once():
    r = Room()
    start_greeting(r)
    assert r.step == "greet"
    ev = held(r)
    assert [e["type"] for e in ev] == ["practice_held", "exercise_abandoned"]
    assert ev[1]["data"] == {"exercise": "greeting", "step": "greet", "reason": "held"}
    assert ev[1]["audience"] == ["a", "b", "therapist"]
    assert r.state["run"] is None and r.state["phase"] == "ready" and engine.deadline(r.state) is None
    assert r.submit_err("a", {"greeting": "hello"}, step="greet").code == "no_exercise"
    assert r.view("a")["prompt"] == PROMPT and r.view("b")["held"]


def test_a_time_out_still_starts_and_its_break_goes_on_but_nothing_joint_follows_it():
    r = Room()
    start_greeting(r)
    r.act("timeout", "b")  # the greeting is interrupted; the break starts
    ev = held(r)
    assert [e["type"] for e in ev] == ["practice_held"]  # calming down is never stopped
    assert r.step == "break" and engine.deadline(r.state) is not None
    assert r.view("a")["held"] and "{caller} is taking a break" in r.view("a")["prompt"]
    r.tick(minutes=20)
    r.act("timer", None)
    assert r.step == "return_check"
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    assert r.step == "suds_after"  # not "next_step": the talk afterwards is joint
    r.suds()
    assert r.types()[-2:] == ["exercise_completed", "exercise_abandoned"]  # the greeting is not resumed
    assert r.state["run"] is None and r.state["stack"] == [] and r.state["phase"] == "ready"
    assert r.view("a")["prompt"] == PROMPT


def test_a_hold_at_the_talk_after_a_time_out_sets_it_and_the_interrupted_exercise_aside():
    r = Room()
    start_greeting(r)
    r.act("timeout", "a")
    r.tick(minutes=20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    assert r.step == "next_step"
    ev = held(r)
    assert [(e["type"], e["data"]["exercise"]) for e in ev[1:]] == [("exercise_abandoned", "timeout"),
                                                                     ("exercise_abandoned", "greeting")]
    assert r.state["run"] is None and r.state["stack"] == []


def test_pause_end_and_the_safety_question_still_work_while_held():
    r = Room(safe=False)
    held(r)
    assert r.view("a")["phase"] == "safety" and r.view("a")["held"]
    r.act("safety", "a", {"safe": True})
    r.act("safety", "b", {"safe": True})
    assert r.view("b")["phase"] == "ready" and r.view("b")["prompt"] == PROMPT
    r.act("pause", "a", {"reason": "a breath"})
    r.act("ready", "a")
    r.act("ready", "b")
    r.act("end", "b")
    assert r.state["phase"] == "ended"
    assert r.err("release", None).code == "session_ended"


def test_a_hold_reaches_a_paused_session_and_the_pause_stays():
    r = Room()
    start_greeting(r)
    r.act("pause", "a")
    ev = held(r)
    assert [e["type"] for e in ev] == ["practice_held", "exercise_abandoned"]
    assert r.state["paused"]["by"] == "a" and r.view("a")["paused"]
    r.act("ready", "a")
    r.act("ready", "b")
    assert r.view("a")["prompt"] == PROMPT


def test_release_lets_them_start_again():
    r = Room()
    held(r)
    ev = r.act("release", None)
    assert ev == [{"type": "practice_released", "actor": None, "data": {},
                   "audience": ["a", "b", "therapist"]}]
    assert "held" not in r.state and not r.view("a")["held"] and r.view("a")["can_start"]
    start_greeting(r)
    assert r.step == "greet"


def test_partners_cannot_hold_or_release_and_a_hold_is_not_applied_twice():
    assert "hold" not in engine.USER_KINDS and "release" not in engine.USER_KINDS
    assert "timer" not in engine.USER_KINDS
    r = Room()
    for who in ("a", "b", "therapist"):
        assert r.err("hold", who).code == "not_your_turn"
    held(r)
    for who in ("a", "b"):
        assert r.err("release", who).code == "not_your_turn"
    assert r.err("hold", None).code == "bad_action"
    assert r.err("hold", None, {"why": "a disclosure"}).code == "invalid_input"  # no reason travels
    r.act("release", None)
    assert r.err("release", None).code == "bad_action"
