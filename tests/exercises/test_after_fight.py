"""After a fight (couples/exercises/after_fight.py) on the pure engine: the calm gate (both
partners' most recent distress rating 5 or below, whoever starts it, refused and then allowed), its
own check-in, the five stages in turn, an apology accepted or answered with what is still needed,
and the outcome it records."""
import pytest

from couples.exercises import after_fight, engine
from couples.exercises.feelings import FEELINGS
from test_engine import Room

FIRST = {
    "feelings": {"feeling": "hurt", "feeling_2": "lonely"},
    "reality": {"reality": "I waited an hour at the station and my calls went unanswered"},
    "trigger": {"trigger": "Being left waiting reminds me of my father never turning up"},
    "own": {"set_up": "A long week", "part": "I snapped as soon as you arrived",
            "apology": "I'm sorry I greeted you with blame"},
    "plan": {"differently": "Say I'm worried before I get angry", "you_could": "Text if you're late"},
}
SECOND = {
    "feelings": {"feeling": "ashamed"},
    "reality": {"reality": "My phone died and I rushed to get there"},
    "trigger": {"trigger": "Being shouted at in public, as at school"},
    "own": {"part": "I got defensive and walked off", "apology": "I'm sorry I walked away"},
    "plan": {"differently": "Charge my phone before I go out"},
}
SUMMARY = {"summary": "What I heard is you waited a long time and felt forgotten",
           "validation": "It makes sense to me that you were hurt, because you had no news"}


def rate(r, who, value):
    """A rating through the pause technique (pause, rate, carry on), as the gate's message says."""
    r.act("pause", who)
    r.act("pause_check", who, {"rating": value})
    for p in "ab":
        if r.state["paused"] and not r.state["paused"]["ready"][p]:
            r.act("ready", p)


def calm_room(a=3, b=4):
    r = Room()
    rate(r, "a", a)
    rate(r, "b", b)
    return r


def start(r, by="a", first="me", suds=(3, 4)):
    r.act("start_exercise", by, {"exercise": "after_fight"})
    r.submit("a", {"suds": suds[0]})
    r.submit("b", {"suds": suds[1]})
    r.submit(by, {"first": first})
    assert r.step == "feelings_first"
    return r.state["run"]["speaker"]


# --------------------------------------------------------------------------- the calm gate


def test_the_catalogue_says_it_needs_both_calm():
    listed = next(e for e in Room().view("a")["exercises"] if e["key"] == "after_fight")
    assert listed["calm_at_most"] == 5 and listed["minutes"] and "5" in listed["not_when"]
    assert all(e["calm_at_most"] is None for e in Room().view("a")["exercises"] if e["key"] != "after_fight")


def test_nobody_can_start_it_before_both_have_rated_their_distress():
    r = Room()
    for who in "ab":
        e = r.err("start_exercise", who, {"exercise": "after_fight"})
        assert e.code == "calm_gate" and e.fields == {}
        assert "both calm" in e.message and "5 or below" in e.message
        assert "time-out" in e.message and "pause technique" in e.message
    rate(r, "a", 2)  # one calm partner is not enough
    for who in "ab":
        assert r.err("start_exercise", who, {"exercise": "after_fight"}).code == "calm_gate"


@pytest.mark.parametrize("a,b,allowed", [(5, 5, True), (0, 5, True), (6, 2, False), (2, 6, False),
                                         (9, 9, False)])
def test_both_partners_most_recent_ratings_must_be_5_or_below(a, b, allowed):
    r = calm_room(a, b)
    if allowed:
        r.act("start_exercise", "b", {"exercise": "after_fight"})
        assert r.step == "suds_before"
        return
    for who in "ab":
        e = r.err("start_exercise", who, {"exercise": "after_fight", "start_anyway": True})
        assert e.code == "calm_gate"  # "start anyway" is for the flooding gate, not this one
        assert "6" not in e.message and "9" not in e.message  # nobody's number, nobody named


def test_the_most_recent_rating_counts_wherever_it_was_given():
    r = calm_room(3, 3)
    rate(r, "b", 7)  # calm earlier, then upset: refused, whoever starts it
    for who in "ab":
        assert r.err("start_exercise", who, {"exercise": "after_fight"}).code == "calm_gate"
    # b takes a time-out; coming back, and at its check-out, each rates again.
    r.act("timeout", "b")
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True, "arousal": 4})
    r.submit("b", {"ready": True, "arousal": 5})
    assert r.state["distress"] == {"a": 4, "b": 5}
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    r.submit("b", {"part": "I raised my voice", "differently": "Breathe first"})
    r.submit("a", {"part": "I pushed", "differently": "Slow down"})
    r.submit("b", {"feel": "tense", "about": "last night", "need": "to talk it over calmly"})
    r.submit("a", {"acknowledgement": "You want us to talk it over calmly"})
    r.submit("a", {"suds": 2})
    r.submit("b", {"suds": 6, "share": False})  # the check-out: b is not quite calm yet
    assert r.state["phase"] == "ready" and r.state["distress"] == {"a": 2, "b": 6}
    assert r.err("start_exercise", "a", {"exercise": "after_fight"}).code == "calm_gate"
    rate(r, "b", 5)
    r.act("start_exercise", "a", {"exercise": "after_fight"})
    assert r.step == "suds_before"


def test_a_check_in_above_5_sets_it_aside_and_the_gate_stays_shut():
    r = calm_room()
    r.act("start_exercise", "a", {"exercise": "after_fight"})
    r.submit("a", {"suds": 4})
    assert r.step == "suds_before"  # one answer: nothing decided yet
    ev = r.submit("b", {"suds": 7, "share": False})
    assert r.state["run"] is None and r.state["phase"] == "ready" and r.state["completed"] == {}
    gone = [e for e in ev if e["type"] == "exercise_abandoned"]
    assert gone == [{"type": "exercise_abandoned", "actor": None, "audience": ["a", "b", "therapist"],
                     "data": {"exercise": "after_fight", "step": "suds_before", "reason": "not_calm"}}]
    assert "step_started" not in r.types(ev)
    assert r.err("start_exercise", "a", {"exercise": "after_fight"}).code == "calm_gate"
    rate(r, "b", 5)
    r.act("start_exercise", "a", {"exercise": "after_fight"})
    assert r.step == "suds_before"


# --------------------------------------------------------------------------- the five stages


def play(r, sp, first_apology, second_apology):
    """The five stages, checking whose turn each step is; returns the steps in order."""
    li = engine.other(sp)
    seen = []

    def step(name, actor, payload):
        assert r.step == name, (r.step, name)
        assert r.view(actor)["your_turn"] and not r.view(engine.other(actor))["your_turn"]
        assert r.submit_err(engine.other(actor), payload).code == "not_your_turn"
        seen.append(name)
        r.submit(actor, payload)

    step("feelings_first", sp, FIRST["feelings"])
    step("feelings_second", li, SECOND["feelings"])
    step("reality_first", sp, FIRST["reality"])
    step("summary_first", li, SUMMARY)
    step("reality_second", li, SECOND["reality"])
    step("summary_second", sp, SUMMARY)
    step("trigger_first", sp, FIRST["trigger"])
    step("trigger_second", li, SECOND["trigger"])
    step("own_first", sp, FIRST["own"])
    step("apology_first", li, first_apology)
    if first_apology["answer"] == "still_need":
        step("heard_first", sp, {"heard": "What I heard you need is to know I'll call"})
    step("own_second", li, SECOND["own"])
    step("apology_second", sp, second_apology)
    if second_apology["answer"] == "still_need":
        step("heard_second", li, {"heard": "What I heard you need is a text"})
    step("plan_first", sp, FIRST["plan"])
    step("plan_second", li, SECOND["plan"])
    assert r.step == "suds_after"
    return seen


def test_feelings_come_from_the_feelings_list_with_no_reasons_asked():
    r = calm_room()
    sp = start(r)
    v = r.view(sp)
    assert [(f["name"], f["kind"], f["required"]) for f in v["input"]] == [
        ("feeling", "feeling", True), ("feeling_2", "feeling", False), ("feeling_3", "feeling", False)]
    assert v["input"][0]["options"] == list(FEELINGS)
    assert "no reasons" in v["prompt"].lower()
    assert r.submit_err(sp, {"feeling": "hurt", "why": "because"}).code == "invalid_input"
    assert r.submit_err(sp, {"feeling_2": "hurt"}).code == "invalid_input"


def test_each_reality_is_summarised_and_validated_before_anything_else():
    r = calm_room()
    sp = start(r)
    li = engine.other(sp)
    r.submit(sp, FIRST["feelings"])
    r.submit(li, SECOND["feelings"])
    r.submit(sp, FIRST["reality"])
    v = r.view(li)
    assert v["step"] == "summary_first" and [f["name"] for f in v["input"]] == ["summary", "validation"]
    assert "no disagreeing" in v["prompt"].lower()
    assert r.submit_err(li, {"summary": "You were late"}).code == "invalid_input"  # validation too
    r.submit(li, SUMMARY)
    assert r.step == "reality_second" and r.view(li)["your_turn"]


def test_accepted_apologies_go_straight_on_and_the_outcome_is_recorded():
    r = calm_room()
    sp = start(r, by="b", first="me")
    assert sp == "b"
    seen = play(r, sp, {"answer": "accept"}, {"answer": "accept"})
    assert "heard_first" not in seen and "heard_second" not in seen and len(seen) == 14
    outcome = [e for e in r.events if e["type"] == "after_fight_outcome"]
    assert [e["audience"] for e in outcome] == [["a", "b", "therapist"]] * 2
    assert [e["data"] for e in outcome] == [
        {"partner": "b", "apology": "accept", "answered_by": "a", "still_need": None,
         "differently": FIRST["plan"]["differently"], "you_could": FIRST["plan"]["you_could"]},
        {"partner": "a", "apology": "accept", "answered_by": "b", "still_need": None,
         "differently": SECOND["plan"]["differently"], "you_could": None}]
    r.suds(value=2)
    assert r.state["completed"] == {"after_fight": 1}


def test_what_i_still_need_is_said_and_heard_back():
    r = calm_room()
    sp = start(r)
    li = engine.other(sp)
    for stage, payload in [("feelings", FIRST["feelings"]), ("feelings", SECOND["feelings"]),
                           ("reality", FIRST["reality"]), ("summary", SUMMARY),
                           ("reality", SECOND["reality"]), ("summary", SUMMARY),
                           ("trigger", FIRST["trigger"]), ("trigger", SECOND["trigger"]),
                           ("own", FIRST["own"])]:
        r.submit(r.view(sp)["waiting_for"][0], payload)
    assert r.step == "apology_first"
    answer = r.view(li)
    assert [f["name"] for f in answer["input"]] == ["answer", "still_need"]
    assert answer["input"][0]["options"] == ["accept", "still_need"]
    e = r.submit_err(li, {"answer": "still_need"})
    assert e.code == "invalid_input" and set(e.fields) == {"still_need"}
    assert r.submit_err(li, {"answer": "maybe"}).code == "invalid_input"
    r.submit(li, {"answer": "still_need", "still_need": "To know you'll call me next time"})
    heard = r.view(sp)
    assert heard["step"] == "heard_first" and heard["your_turn"]
    assert "To know you'll call me next time" in heard["prompt"]
    r.submit(sp, {"heard": "You need to know I'll call"})
    assert r.step == "own_second"


def test_both_answers_of_the_apology_mixed_and_their_outcomes():
    r = calm_room()
    sp = start(r)
    seen = play(r, sp, {"answer": "still_need", "still_need": "A call when you're late"},
                {"answer": "accept"})
    assert "heard_first" in seen and "heard_second" not in seen
    outcome = {e["data"]["partner"]: e["data"] for e in r.events if e["type"] == "after_fight_outcome"}
    assert outcome[sp]["apology"] == "still_need" and outcome[sp]["still_need"] == "A call when you're late"
    assert outcome[engine.other(sp)]["apology"] == "accept"
    r2 = calm_room()
    sp2 = start(r2)
    seen2 = play(r2, sp2, {"answer": "accept"}, {"answer": "still_need", "still_need": "Time"})
    assert "heard_second" in seen2 and "heard_first" not in seen2


def test_a_time_out_in_the_middle_resumes_at_the_same_stage():
    r = calm_room()
    sp = start(r)
    r.submit(sp, FIRST["feelings"])
    r.act("timeout", engine.other(sp))
    r.tick(20)
    r.act("timer", None)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    caller = engine.other(sp)
    r.submit(caller, {"part": "I raised my voice", "differently": "Breathe first"})
    r.submit(sp, {"part": "I pushed", "differently": "Slow down"})
    r.submit(caller, {"feel": "tense", "about": "this", "need": "time"})
    r.submit(sp, {"acknowledgement": "You need time"})
    r.suds(value=3)
    assert r.step == "feelings_second" and r.state["run"]["exercise"] == "after_fight"
    assert after_fight.CALM_AT_MOST == 5
