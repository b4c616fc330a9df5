"""The stress-reducing conversation (couples/exercises/stress.py) on the pure engine: a topic from
outside the relationship, a timed turn the speaker may finish early or the durable timer ends, the
listener's one line of support (advice gets a gentle hint), how supported the speaker felt, then
the same with the roles swapped."""
import datetime as dt

import pytest

from couples.exercises import engine, stress
from test_engine import Room


def start(r, first_by="a", first="me", **options):
    r.act("start_exercise", "a", {"exercise": "stress", **options})
    r.suds()
    r.submit(first_by, {"first": first})
    assert r.step == "topic"
    return r.state["run"]["speaker"]


def field(view, name):
    return next(f for f in view["input"] if f["name"] == name)


def of(r, type_, events=None):
    return [e for e in (r.events if events is None else events) if e["type"] == type_]


def test_a_turn_lasts_ten_minutes_unless_chosen_otherwise_within_bounds():
    r = Room()
    listed = next(e for e in r.view("a")["exercises"] if e["key"] == "stress")
    assert listed["options"] == [{"name": "turn_minutes", "kind": "minutes", "label": "Minutes for each turn",
                                  "required": False, "min": 5, "max": 20, "default": 10}]
    assert listed["minutes"] and listed["not_when"] and not listed["demanding"]
    for bad in (4, 21, "10", 7.5, None):
        e = r.err("start_exercise", "a", {"exercise": "stress", "turn_minutes": bad})
        assert e.code == "invalid_input" and "turn_minutes" in e.fields
    r.act("start_exercise", "b", {"exercise": "stress"})
    assert r.state["run"]["options"] == {"turn_minutes": 10}


def test_the_speaker_names_a_stress_from_outside_and_gets_a_hint_if_it_is_about_them_both():
    r = Room()
    sp = start(r, first="partner")
    li = engine.other(sp)
    assert sp == "b"
    assert r.submit_err(li, {"topic": "Work"}).code == "not_your_turn"
    assert r.view(li)["input"] is None and not r.view(li)["your_turn"]
    topic = field(r.view(sp), "topic")
    assert topic["max_length"] == 200 and topic["hints"] == [stress.ABOUT_US]
    assert engine.hints_for(topic, "You never listen, it's our relationship") == [stress.ABOUT_US["hint"]]
    assert engine.hints_for(topic, "My manager moved the deadline") == []
    assert r.submit_err(sp, {}).code == "invalid_input"
    r.submit(sp, {"topic": "My manager moved the deadline"})
    assert r.step == "talk"


def test_the_timed_turn_shows_its_deadline_to_everyone_and_guides_the_listener():
    r = Room()
    sp = start(r)
    li = engine.other(sp)
    r.tick(1)
    ev = r.submit(sp, {"topic": "My sister's wedding plans"})
    due = r.now + dt.timedelta(minutes=10)
    assert of(r, "timer_started", ev)[0]["data"] == {"step": "talk", "step_id": r.state["run"]["step_id"],
                                                     "minutes": 10, "deadline_at": due.isoformat()}
    for who in (sp, li, "therapist"):
        v = r.view(who)
        assert v["step"] == "talk" and v["deadline_at"] == due.isoformat() and v["seconds_left"] == 600
        assert v["prompt_slots"]["return_at"] == due.isoformat()
        assert list(v["suggestions"]) == list(stress.LISTENING)
    talk = r.view(sp)
    assert talk["your_turn"] and talk["input"] == [] and "10 minutes" in talk["prompt"]
    assert "finish early" in talk["prompt"]
    listen = r.view(li)
    assert not listen["your_turn"] and listen["input"] is None and listen["prompt"] == stress.LISTEN_WAIT
    tips = " ".join(listen["suggestions"]).lower()
    assert "side" in tips and "understand" in tips and "questions" in tips and "no advice" in tips
    assert r.submit_err(li, {}).code == "not_your_turn"  # only the speaker ends the turn early
    assert r.submit_err(sp, {"note": "x"}).code == "invalid_input"
    r.tick(4)
    assert r.view(li)["seconds_left"] == 360
    assert r.err("timer", None).code == "not_due"
    assert r.err("timer", sp).code == "not_your_turn"


def test_the_speaker_may_finish_early_and_the_timer_is_gone():
    r = Room()
    sp = start(r)
    r.submit(sp, {"topic": "Money worries"})
    r.tick(3)
    ev = r.submit(sp, {})
    assert r.step == "support" and not of(r, "timer_fired", ev)
    assert engine.deadline(r.state) is None and r.view(sp)["deadline_at"] is None
    r.tick(10)
    assert r.err("timer", None).code == "not_due"  # nothing left to fire


def test_when_the_time_is_up_the_turn_ends_on_its_own():
    r = Room()
    sp = start(r, turn_minutes=15)
    li = engine.other(sp)
    r.submit(sp, {"topic": "The commute"})
    assert r.view(li)["seconds_left"] == 15 * 60
    r.tick(14, 59)
    assert r.err("timer", None).code == "not_due"
    r.tick(0, 1)
    ev = r.act("timer", None)
    assert r.types(ev)[:2] == ["timer_fired", "step_started"] and r.step == "support"
    assert of(r, "timer_fired", ev)[0]["data"]["step"] == "talk"
    assert r.view(li)["your_turn"] and not r.view(sp)["your_turn"]
    assert r.submit_err(sp, {}, step="talk").code == "stale_step"  # too late to finish early


@pytest.mark.parametrize("line,advice", [
    ("You should just quit that job", True),
    ("Why don't you talk to HR?", True),
    ("Have you tried a to-do list?", True),
    ("If I were you I'd leave", True),
    ("That sounds exhausting. I'm on your side.", False),
])
def test_the_line_of_support_gets_a_gentle_hint_when_it_sounds_like_advice(line, advice):
    r = Room()
    sp = start(r)
    r.submit(sp, {"topic": "Work"})
    r.submit(sp, {})
    support = field(r.view(engine.other(sp)), "support")
    assert support["max_length"] == 300 and support["hints"] == [stress.ADVICE]
    assert engine.hints_for(support, line) == ([stress.ADVICE["hint"]] if advice else [])
    r.submit(engine.other(sp), {"support": line})  # a hint is never a refusal
    assert r.step == "supported"


def test_both_take_a_turn_then_the_check_out():
    r = Room()
    sp = start(r, first_by="b", first="partner")
    li = engine.other(sp)
    assert sp == "a"
    r.submit(sp, {"topic": "My sister's wedding plans"})
    r.tick(6)
    r.submit(sp, {})
    assert r.submit_err(sp, {"support": "me"}).code == "not_your_turn"
    r.submit(li, {"support": "That's a lot on you. I'm with you."})
    assert r.submit_err(sp, {"supported": 11}).code == "invalid_input"
    assert r.submit_err(li, {"supported": 8}).code == "not_your_turn"
    assert [f["name"] for f in r.view(sp)["input"]] == ["supported", "helped"]
    ev = r.submit(sp, {"supported": 8, "helped": "You asked what was hardest"})
    swapped = of(r, "roles_swapped", ev)[0]["data"]
    assert swapped == {"round": 2, "speaker": li, "listener": sp}
    assert r.step == "topic" and r.view(li)["your_turn"]
    r.submit(li, {"topic": "My knee"})
    r.tick(10)
    r.act("timer", None)  # the second turn runs to its end
    r.submit(sp, {"support": "That sounds painful. No wonder you're tired."})
    r.submit(li, {"supported": 9})
    assert r.step == "suds_after"
    r.suds(value=2)
    assert r.state["phase"] == "ready" and r.state["completed"] == {"stress": 1}
    said = [(e["data"]["step"], e["actor"]) for e in of(r, "step_submitted") if e["data"]["exercise"] == "stress"]
    assert [s for s in said if s[0] in ("topic", "support", "supported")] == [
        ("topic", "a"), ("support", "b"), ("supported", "a"), ("topic", "b"), ("support", "a"), ("supported", "b")]
    assert len(of(r, "timer_fired")) == 1 and len(of(r, "timer_started")) == 2


def test_no_turn_ends_while_paused():
    r = Room()
    sp = start(r)
    r.submit(sp, {"topic": "Work"})
    r.act("pause", engine.other(sp))
    assert r.view(sp)["deadline_at"] is None and engine.deadline(r.state) is None
    r.tick(30)
    assert r.err("timer", None).code == "paused"
