"""The pause and the seed's pause technique (issue 23, "The pause technique and flooding") in the
pure engine: a reason for the therapist, then name the feeling, rate it, choose what next
(breathe together, a time-out, carry on, end), every part optional and private unless shared."""
import datetime as dt
import json

import pytest

from couples.exercises import engine
from couples.exercises.pause import PauseCheck
from test_engine import Room, start_greeting

BREATHING = {"seconds": 120, "inhale": 4, "exhale": 6}


def of(r, type_, events=None):
    return [e for e in (r.events if events is None else events) if e["type"] == type_]


def paused_greeting(by="a", payload=None):
    r = Room()
    start_greeting(r)
    r.act("pause", by, payload)
    return r


def test_a_pause_or_end_reason_may_be_marked_for_the_therapist():
    r = paused_greeting("b", {"reason": "I'm scared of how this goes", "for_therapist": True})
    reason = of(r, "pause_reason")[0]
    assert reason["audience"] == ["b", "therapist"]
    assert reason["data"] == {"by": "b", "reason": "I'm scared of how this goes", "for_therapist": True}
    r.act("ready", "a")
    r.act("ready", "b")
    r.act("pause", "a", {"reason": "tea"})
    assert of(r, "pause_reason")[-1]["data"]["for_therapist"] is False
    assert r.err("pause", "a", {"for_therapist": "yes"}).code == "paused"
    r.act("ready", "a")
    r.act("ready", "b")
    assert r.err("pause", "a", {"for_therapist": "yes"}).code == "invalid_input"
    assert r.err("end", "a", {"for_therapist": 1}).code == "invalid_input"
    ev = r.act("end", "a", {"reason": "We need our therapist", "for_therapist": True})
    assert of(r, "end_reason", ev)[0]["data"] == {"by": "a", "reason": "We need our therapist",
                                                  "for_therapist": True}
    assert of(r, "end_reason", ev)[0]["audience"] == ["a", "therapist"]


def test_the_pause_offers_the_three_parts_to_both_partners_and_nothing_is_required():
    r = paused_greeting("a")
    for who in ("a", "b"):
        v = r.view(who)
        assert v["pause_check"] == engine.describe(PauseCheck) and v["can_timeout"]
        form = {f["name"]: f for f in v["pause_check"]}
        assert set(form) == {"feeling", "rating", "next", "share"}
        assert not any(f["required"] for f in form.values())
        assert form["next"]["options"] == ["breathe", "timeout", "carry_on", "end"]
        assert form["share"]["default"] is False and form["rating"]["max"] == 10
    assert r.view("therapist")["pause_check"] is None
    ev = r.act("pause_check", "b", {})  # the partner who did not pause may use it too
    assert ev == [{"type": "pause_checked", "actor": "b", "data": {"by": "b", "share": False},
                   "audience": ["b", "therapist"]}]
    assert r.state["paused"] and r.state["paused"]["ready"] == {"a": False, "b": False}


def test_a_pause_check_is_private_unless_shared_and_a_high_rating_is_flagged():
    r = paused_greeting("a")
    ev = r.act("pause_check", "a", {"feeling": "zqdread", "rating": 8})
    assert [e["type"] for e in ev] == ["pause_checked", "distress_flagged"]
    assert ev[0]["data"] == {"by": "a", "feeling": "zqdread", "rating": 8, "share": False}
    assert ev[0]["audience"] == ["a", "therapist"]
    assert ev[1] == {"type": "distress_flagged", "actor": "a", "audience": ["a", "therapist"],
                     "data": {"partner": "a", "rating": 8, "step": "pause"}}
    assert r.view("a")["suggest_timeout"] and not r.view("b")["suggest_timeout"]
    assert "zqdread" not in json.dumps(engine.visible(r.events, "b")) + json.dumps(r.view("b"))
    ev = r.act("pause_check", "a", {"feeling": "calmer", "rating": 4, "share": True})
    assert ev[0]["audience"] == ["a", "b", "therapist"] and len(ev) == 1
    assert not r.view("a")["suggest_timeout"]


@pytest.mark.parametrize("payload,field", [({"rating": 11}, "rating"), ({"rating": "7"}, "rating"),
                                           ({"next": "shout"}, "next"), ({"share": "no"}, "share"),
                                           ({"feeling": "x" * 41}, "feeling"), ({"why": 1}, "why")])
def test_a_pause_check_is_validated(payload, field):
    r = paused_greeting()
    e = r.err("pause_check", "b", payload)
    assert e.code == "invalid_input" and field in e.fields


def test_a_pause_check_only_while_paused_and_only_by_a_partner():
    r = Room()
    assert r.err("pause_check", "a", {}).code == "bad_action"
    r.act("pause", "a")
    assert r.err("pause_check", "therapist", {}).code == "not_your_turn"
    assert r.err("pause_check", None, {}).code == "not_your_turn"
    r.act("end", "b")
    assert r.err("pause_check", "a", {}).code == "session_ended"


def test_breathe_together_starts_one_pacer_from_the_server_time_on_every_screen():
    r = paused_greeting("a")
    r.tick(seconds=7)
    ev = r.act("pause_check", "b", {"next": "breathe"})
    started = {"by": "b", "started_at": r.now.isoformat(), **BREATHING}
    assert of(r, "breathing_started", ev) == [{"type": "breathing_started", "actor": "b",
                                               "data": started, "audience": ["a", "b", "therapist"]}]
    for who in ("a", "b", "therapist"):
        assert r.view(who)["breathing"] == started
    assert r.state["paused"]  # still paused: breathing is part of the pause
    r.tick(60)
    assert r.view("a")["breathing"] == started  # the phase comes from started_at, not from now
    r.act("ready", "a")
    r.act("ready", "b")
    assert all(r.view(who)["breathing"] is None for who in ("a", "b", "therapist"))


def test_carry_on_is_being_ready():
    r = paused_greeting("a")
    ev = r.act("pause_check", "a", {"rating": 3, "next": "carry_on"})
    assert [e["type"] for e in ev] == ["pause_checked", "partner_ready"]
    r.act("pause_check", "a", {"next": "carry_on"})  # said twice: nothing more
    ev = r.act("pause_check", "b", {"next": "carry_on"})
    assert [e["type"] for e in ev] == ["pause_checked", "partner_ready", "resumed"]
    assert not r.state["paused"] and r.step == "greet"


def test_end_for_today_ends_the_session():
    r = paused_greeting("a")
    ev = r.act("pause_check", "b", {"next": "end"})
    assert of(r, "session_ended", ev)[0]["data"]["reason"] == "ended_by_partner"
    assert of(r, "session_ended", ev)[0]["data"]["by"] == "b"
    assert r.state["phase"] == "ended" and not r.state["paused"]


def test_a_time_out_from_the_pause_replaces_it_and_the_exercise_resumes_afterwards():
    r = paused_greeting("a")
    step_id = r.state["run"]["step_id"]
    ev = r.act("pause_check", "b", {"feeling": "angry", "rating": 7, "next": "timeout"})
    types = [e["type"] for e in ev]
    assert types[:3] == ["pause_checked", "distress_flagged", "pause_ended"]
    assert of(r, "pause_ended", ev)[0]["data"] == {"by": "b", "into": "timeout"}
    assert "exercise_interrupted" in types and not r.state["paused"]
    assert r.step == "break" and r.state["run"]["caller"] == "b"
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=20)
    assert not of(r, "step_logged", ev)  # the pause check is not copied into the break log
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    for who, data in (("b", {"part": "x", "differently": "y"}), ("a", {"part": "x", "differently": "y"}),
                      ("b", {"feel": "calmer", "about": "x", "need": "y"}), ("a", {"acknowledgement": "z"})):
        r.submit(who, data)
    r.suds()
    assert r.state["run"]["exercise"] == "greeting" and r.step == "greet"
    assert r.state["run"]["step_id"] > step_id and r.view("a")["your_turn"]


def test_a_time_out_chosen_in_a_pause_during_a_time_out_just_ends_the_pause():
    r = Room()
    r.act("timeout", "a")
    due = engine.deadline(r.state)
    r.act("pause", "b")
    assert r.err("timeout", "b").code == "exercise_in_progress"
    ev = r.act("pause_check", "b", {"next": "timeout"})
    assert [e["type"] for e in ev] == ["pause_checked", "pause_ended"]
    assert not r.state["paused"] and r.step == "break" and engine.deadline(r.state) == due


def test_no_time_out_from_a_pause_before_the_safety_question_is_answered():
    r = Room(safe=False)
    r.act("safety", "a", {"safe": True})
    r.act("pause", "a")
    assert r.err("pause_check", "a", {"next": "timeout"}).code == "safety_pending"
    assert r.err("timeout", "a").code == "safety_pending"
    r.act("pause_check", "a", {"next": "breathe"})  # the rest of the technique is there
    held = Room(safe=False)
    held.act("safety", "a", {"safe": False})
    held.act("safety", "b", {"safe": True})
    held.act("pause", "b")
    assert held.err("pause_check", "b", {"next": "timeout"}).code == "safety_hold"
    assert held.state["run"] is None


def test_while_paused_a_time_out_and_the_pause_check_are_allowed_and_nothing_else_moves():
    r = paused_greeting("a")
    for kind, payload, step in [("submit", {"greeting": "hi"}, "greet"), ("start_exercise", {"exercise": "needs"}, None),
                                ("safety", {"safe": True}, None)]:
        assert r.err(kind, "a", payload, step).code == "paused"
    assert r.err("timer", None).code == "paused"
    r.act("pause_check", "a", {})
    ev = r.act("timeout", "a", {"arousal": 3})
    assert [e["type"] for e in ev][:2] == ["pause_ended", "exercise_interrupted"]
