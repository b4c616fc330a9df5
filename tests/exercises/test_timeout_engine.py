"""The time-out (issue 23, "The time-out must work when it counts"), step by step in the pure
engine: one press starts the break at once from anywhere, with nothing asked and nobody else's
answer needed; the longest proposal is the return time; a partner not ready extends it, never past
24 hours; a partner who has not come back 15 minutes after the return time is flagged, and the
present one chooses to wait or stop; the session never hangs. Then the flooding gate: a distress
rating of 7 or more, private to the partner (and the therapist), and "start anyway"."""
import datetime as dt
import json

import pytest

from couples.exercises import engine
from test_engine import T0, Room, finish_timeout_resume, say_request, start_greeting, start_needs

DAY = dt.timedelta(hours=24)


def of(r, type_, events=None):
    return [e for e in (r.events if events is None else events) if e["type"] == type_]


def seen_by(r, who):
    return [e for e in engine.visible(r.events, who)]


def at_break(r, caller="a", payload=None):
    r.act("timeout", caller, payload)
    assert r.step == "break"


def to_return_check(r, minutes=20):
    r.tick(minutes)
    r.act("timer", None)
    assert r.step == "return_check"


# --------------------------------------------------------------------------- one press


def from_ready(r):
    return None


def from_mid_exercise(r):
    start_greeting(r)  # a speaks first: b calls it when it is not his turn
    assert r.step == "greet" and r.view("b")["waiting_for"] == ["a"]
    return "greet"


def from_a_waiting_screen(r):
    r.act("start_exercise", "a", {"exercise": "greeting"})
    r.submit("b", {"suds": 4, "connected": 5})  # b has answered and waits for a
    assert not r.view("b")["your_turn"]
    return "suds_before"


def from_own_pause(r):
    start_greeting(r)
    r.act("pause", "b")
    return "greet"


def from_the_others_pause(r):
    start_greeting(r)
    r.act("pause", "a", {"reason": "too much"})
    return "greet"


def from_a_pause_in_ready(r):
    r.act("pause", "a")
    return None


@pytest.mark.parametrize("setup", [from_ready, from_mid_exercise, from_a_waiting_screen, from_own_pause,
                                   from_the_others_pause, from_a_pause_in_ready])
def test_one_press_with_no_payload_starts_the_break_at_once_while_the_other_does_nothing(setup):
    r = Room()
    interrupted = setup(r)
    was_paused = r.state["paused"]
    assert r.view("b")["can_timeout"] and r.view("a")["can_timeout"]
    before = len(r.events)
    ev = r.act("timeout", "b")  # {}: nothing to fill in first
    run = r.state["run"]
    assert r.step == "break" and run["caller"] == "b" and r.state["phase"] == "exercise"
    assert not r.state["paused"]
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=20)
    assert of(r, "timer_started", ev)[0]["data"] == {
        "step": "break", "step_id": run["step_id"], "minutes": 20, "deadline_at": (r.now + dt.timedelta(minutes=20)).isoformat()}
    if was_paused:
        assert of(r, "pause_ended", ev) == [{"type": "pause_ended", "actor": "b",
                                             "data": {"by": "b", "into": "timeout"},
                                             "audience": ["a", "b", "therapist"]}]
    else:
        assert not of(r, "pause_ended", ev)
    if interrupted:
        assert run["interrupted"]["step"] == interrupted
        assert of(r, "exercise_interrupted", ev)[0]["data"]["by"] == "b"
    else:
        assert run["interrupted"] is None and not of(r, "exercise_interrupted", ev)
    assert r.events[before:] == ev and r.actions[-1].actor == "b"  # nobody else acted
    assert not any(e["type"] in ("step_logged", "step_submitted", "distress_flagged") for e in ev)
    # Nobody is asked anything: only the timer moves the break on; both may log.
    for who in ("a", "b"):
        v = r.view(who)
        assert not v["your_turn"] and v["waiting_for"] == [] and v["input"] and not v["paused"]
        assert v["prompt_slots"] == {"caller": "b", "return_at": v["deadline_at"]}
        assert v["seconds_left"] == 20 * 60 and v["can_timeout"] is False
    # The other partner: reassured, the return time named (the page fills both slots).
    other = r.view("a")["prompt"]
    assert other.startswith("{caller} is taking a break to calm down and will be back at {return_at}.")
    assert "This is a pause, not leaving." in other
    caller = r.view("b")
    assert "{return_at}" in caller["prompt"] and "{caller}" not in caller["prompt"]
    tips = " ".join(caller["suggestions"]).lower()
    assert "somewhere separate" in tips and "rehearse" in tips and "breathe slowly" in tips
    assert "{caller}" in r.view("therapist")["prompt"] and "{return_at}" in r.view("therapist")["prompt"]


def test_the_call_may_carry_the_break_log_and_it_stays_private():
    r = Room()
    ev = r.act("timeout", "a", {"feeling": "angry", "arousal": 5, "minutes": 30, "activity": "outside"})
    logged = of(r, "step_logged", ev)
    assert logged[0]["audience"] == ["a", "therapist"]
    assert logged[0]["data"]["data"] == {"feeling": "angry", "arousal": 5, "minutes": 30,
                                         "activity": "outside", "share": False}
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=30)
    assert of(r, "return_time_agreed", ev)[0]["data"] == {"minutes": 30, "proposals": {"a": 30}}
    r2 = Room()
    for bad in ({"arousal": 11}, {"share": "yes"}, {"blame": "you"}, {"feeling": ""}, ["x"]):
        assert r2.err("timeout", "b", bad).code == "invalid_input", bad


def test_only_partners_call_it_and_not_before_the_safety_question():
    r = Room()
    assert r.err("timeout", "therapist").code == "not_your_turn"
    assert r.err("timeout", None).code == "not_your_turn"
    assert Room(safe=False).err("timeout", "a").code == "safety_pending"


# --------------------------------------------------------------------------- the break


def test_during_the_break_either_logs_any_number_of_times_and_the_longest_proposal_wins():
    r = Room()
    at_break(r, "a")
    start, step_id = r.now, r.state["run"]["step_id"]
    ev = r.submit("b", {"feeling": "tense"})
    assert [e["type"] for e in ev] == ["step_logged"]  # no proposal: nothing else happens
    r.tick(5)
    ev = r.submit("b", {"minutes": 45})
    assert of(r, "return_time_agreed", ev)[0]["data"] == {"minutes": 45, "proposals": {"b": 45}}
    changed = of(r, "timer_changed", ev)
    assert changed[0]["data"] == {"step": "break", "step_id": step_id, "minutes": 45,
                                  "deadline_at": (start + dt.timedelta(minutes=45)).isoformat()}
    assert changed[0]["audience"] == ["a", "b", "therapist"]
    assert engine.deadline(r.state) == start + dt.timedelta(minutes=45)  # from the break's start
    ev = r.submit("a", {"minutes": 30})
    assert of(r, "return_time_agreed", ev)[0]["data"] == {"minutes": 45, "proposals": {"a": 30, "b": 45}}
    assert not of(r, "timer_changed", ev)  # the longer proposal still stands
    ev = r.submit("a", {"minutes": 60, "arousal": 4})
    assert of(r, "timer_changed", ev)[0]["data"]["minutes"] == 60
    ev = r.submit("a", {"activity": "a walk"})  # the latest values are kept: 60 stands
    assert not of(r, "timer_changed", ev) and engine.deadline(r.state) == start + dt.timedelta(minutes=60)
    assert r.view("b")["prompt_slots"]["return_at"] == (start + dt.timedelta(minutes=60)).isoformat()
    assert r.step == "break" and r.view("b")["seconds_left"] == 55 * 60
    r.tick(54)
    assert r.err("timer", None).code == "not_due"
    r.tick(1)
    r.act("timer", None)
    assert r.step == "return_check"


def test_the_break_log_is_private_unless_shared():
    r = Room()
    at_break(r, "a")
    private = r.submit("b", {"feeling": "zqhurt", "arousal": 6})[0]
    shared = r.submit("b", {"feeling": "calmer", "arousal": 3, "share": True})[0]
    assert private["audience"] == ["b", "therapist"] and private["data"]["data"]["share"] is False
    assert shared["audience"] == ["a", "b", "therapist"] and shared["data"]["data"]["share"] is True
    assert "zqhurt" not in json.dumps(seen_by(r, "a")) and "calmer" in json.dumps(seen_by(r, "a"))
    assert "zqhurt" not in json.dumps(r.view("a"))
    form = {f["name"]: f for f in r.view("a")["input"]}
    assert set(form) == {"feeling", "arousal", "minutes", "activity", "share"}
    assert form["share"]["default"] is False and not any(f["required"] for f in form.values())


# --------------------------------------------------------------------------- coming back


def test_all_ready_goes_to_the_next_step():
    r = Room()
    at_break(r)
    to_return_check(r)
    v = r.view("a")
    assert v["your_turn"] and v["waiting_for"] == ["a", "b"]
    form = {f["name"]: f for f in v["input"]}
    assert form["ready"]["required"] and not form["arousal"]["required"]
    assert form["extend_minutes"] == {**form["extend_minutes"], "min": 10, "max": 1440, "default": 20}
    assert form["share"]["default"] is False
    r.submit("a", {"ready": True})
    assert r.view("a")["prompt"] == "Thank you. Waiting for your partner to come back."
    r.submit("b", {"ready": True, "arousal": 2})
    assert r.step == "next_step" and not of(r, "break_extended")


def test_not_ready_extends_the_break_by_the_longest_extension_asked():
    r = Room()
    at_break(r)
    to_return_check(r)
    r.submit("a", {"ready": False, "extend_minutes": 30})
    ev = r.submit("b", {"ready": False, "extend_minutes": 45})
    assert of(r, "break_extended", ev)[0]["data"] == {"minutes": 45}
    assert r.step == "break" and engine.deadline(r.state) == r.now + dt.timedelta(minutes=45)
    assert r.state["run"]["caller"] == "a"
    to_return_check(r, 45)
    r.submit("a", {"ready": True, "extend_minutes": 300})  # ready: an extension of theirs is not taken
    r.submit("b", {"ready": False, "extend_minutes": 10})
    assert of(r, "break_extended")[-1]["data"] == {"minutes": 10}
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=10)
    # A proposal in an extended break is logged but changes nothing: the extension was agreed.
    ev = r.submit("a", {"minutes": 120})
    assert [e["type"] for e in ev] == ["step_logged"]
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=10)
    to_return_check(r, 10)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    assert r.step == "next_step"


def break_deadlines(r):
    return [e["data"]["deadline_at"] for e in r.events
            if e["type"] in ("timer_started", "timer_changed") and e["data"]["step"] == "break"]


def assert_within_a_day(r, start):
    assert all(dt.datetime.fromisoformat(d) <= start + DAY for d in break_deadlines(r)), break_deadlines(r)


def test_the_longest_first_break_is_a_day_and_not_ready_then_sets_it_aside_for_another_day():
    r = Room()
    start_greeting(r)
    start = r.now
    at_break(r, "a", {"minutes": 1440})
    assert engine.deadline(r.state) == start + DAY
    to_return_check(r, 1440)
    r.submit("a", {"ready": False, "extend_minutes": 20})
    ev = r.submit("b", {"ready": True})
    assert not of(r, "break_extended", ev) and not of(r, "step_started", ev)  # no check-out either
    ended = of(r, "session_ended", ev)[0]
    assert ended["data"] == {"by": None, "reason": "continue_another_day", "exercise": "timeout",
                             "step": "return_check"}
    assert ended["audience"] == ["a", "b", "therapist"]
    assert "exercise_abandoned" in r.types(ev)  # the greeting is set aside with it
    assert r.state["phase"] == "ended" and engine.deadline(r.state) is None
    assert r.view("a")["phase"] == "ended"
    assert_within_a_day(r, start)


def test_extensions_stop_at_24_hours_from_the_call():
    r = Room()
    start = r.now
    at_break(r)
    to_return_check(r)  # 20 minutes in
    r.tick(minutes=1, seconds=30)
    r.submit("b", {"ready": True})
    ev = r.submit("a", {"ready": False, "extend_minutes": 1440})
    left = DAY - dt.timedelta(minutes=21, seconds=30)
    assert of(r, "break_extended", ev)[0]["data"] == {"minutes": int(left.total_seconds() // 60)}
    assert start + DAY - dt.timedelta(minutes=1) <= engine.deadline(r.state) <= start + DAY
    # Logging late in a capped break never shortens it.
    due = engine.deadline(r.state)
    r.tick(600)
    ev = r.submit("a", {"minutes": 200, "arousal": 4})
    assert not of(r, "timer_changed", ev) and engine.deadline(r.state) == due
    r.now = due
    r.act("timer", None)
    r.submit("a", {"ready": False, "extend_minutes": 10})
    r.submit("b", {"ready": True})
    assert r.state["ended"]["reason"] == "continue_another_day"
    assert_within_a_day(r, start)


def test_an_extension_asked_for_a_few_minutes_before_the_cap_is_cut_to_the_cap():
    r = Room()
    start = r.now
    at_break(r, "a", {"minutes": 1400})
    to_return_check(r, 1400)
    r.tick(10)
    r.submit("a", {"ready": False, "extend_minutes": 60})
    ev = r.submit("b", {"ready": True})
    assert of(r, "break_extended", ev)[0]["data"] == {"minutes": 30}
    assert engine.deadline(r.state) == start + DAY
    assert_within_a_day(r, start)


# --------------------------------------------------------------------------- not back


def test_a_partner_not_back_15_minutes_after_the_return_time_is_flagged_and_the_other_chooses():
    r = Room()
    sp = start_needs(r)
    say_request(r, sp)
    at_break(r, "b")
    return_at = r.now + dt.timedelta(minutes=20)
    to_return_check(r)
    r.submit("a", {"ready": True})
    r.tick(14)
    assert r.err("timer", None).code == "not_due"
    r.tick(1)
    ev = r.act("timer", None)
    missed = of(r, "return_missed", ev)
    assert missed == [{"type": "return_missed", "actor": None, "audience": ["a", "therapist"],
                       "data": {"missing": ["b"], "partner": "b", "return_at": return_at.isoformat()}}]
    assert "return_missed" not in r.types(seen_by(r, "b"))  # the late partner is not told off
    assert r.step == "not_back"
    va, vb = r.view("a"), r.view("b")
    assert va["your_turn"] and va["waiting_for"] == ["a"] and not vb["your_turn"]
    assert "it is not about you" in va["prompt"]
    assert {f["name"]: f["options"] for f in va["input"] if f["kind"] == "choice"} == {
        "choice": ["wait", "another_day"]}
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=60)
    assert r.submit_err("b", {"choice": "wait"}).code == "not_your_turn"
    r.submit("a", {"choice": "wait"})
    assert r.step == "waiting_return"
    va, vb = r.view("a"), r.view("b")
    assert vb["your_turn"] and vb["waiting_for"] == ["b"] and not va["your_turn"]
    assert {f["name"] for f in vb["input"]} == {"ready", "arousal", "extend_minutes", "share"}
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=15)
    r.tick(3)
    r.submit("b", {"ready": True, "arousal": 3})
    assert r.step == "next_step"
    finish_timeout_resume(r, "b")
    assert r.state["run"]["exercise"] == "needs" and r.step == "mirror"  # back where it was


def test_keep_waiting_comes_back_to_the_choice_then_another_day_reschedules():
    r = Room()
    at_break(r, "a")
    to_return_check(r)
    r.submit("b", {"ready": True})
    r.tick(15)
    r.act("timer", None)
    assert r.step == "not_back" and r.view("b")["your_turn"]
    r.submit("b", {"choice": "wait"})
    r.tick(15)
    r.act("timer", None)  # a is still away
    assert r.step == "not_back" and r.view("b")["your_turn"] and r.types().count("return_missed") == 1
    date = (r.now + dt.timedelta(days=2)).date().isoformat()
    assert r.submit_err("b", {"choice": "another_day", "date": "2020-01-01"}).code == "invalid_input"
    ev = r.submit("b", {"choice": "another_day", "date": date})
    assert of(r, "step_submitted", ev)[0]["data"]["data"] == {"choice": "another_day", "date": date}
    assert r.state["phase"] == "ended" and r.state["ended"]["reason"] == "rescheduled"


def test_the_late_partner_may_ask_for_more_time():
    r = Room()
    at_break(r, "a")
    to_return_check(r)
    r.submit("b", {"ready": True})
    r.tick(15)
    r.act("timer", None)
    r.submit("b", {"choice": "wait"})
    ev = r.submit("a", {"ready": False, "extend_minutes": 30})
    assert of(r, "break_extended", ev)[0]["data"] == {"minutes": 30}
    assert r.step == "break" and engine.deadline(r.state) == r.now + dt.timedelta(minutes=30)
    to_return_check(r, 30)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    assert r.step == "next_step"


def test_nobody_back_sets_the_session_aside_and_tells_only_the_therapist():
    r = Room()
    at_break(r, "a")
    to_return_check(r)
    r.tick(15)
    ev = r.act("timer", None)
    assert of(r, "return_missed", ev)[0]["audience"] == ["therapist"]
    assert of(r, "return_missed", ev)[0]["data"]["missing"] == ["a", "b"]
    assert of(r, "return_missed", ev)[0]["data"]["partner"] is None
    assert r.state["phase"] == "ended" and r.state["ended"]["reason"] == "continue_another_day"
    assert engine.deadline(r.state) is None


def test_no_choice_within_an_hour_sets_the_session_aside():
    r = Room()
    at_break(r, "a")
    to_return_check(r)
    r.submit("b", {"ready": True})
    r.tick(15)
    r.act("timer", None)
    r.tick(59)
    assert r.err("timer", None).code == "not_due"
    r.tick(1)
    ev = r.act("timer", None)
    assert of(r, "session_ended", ev)[0]["data"]["reason"] == "continue_another_day"
    assert r.state["phase"] == "ended"


def test_waiting_stops_at_the_cap():
    r = Room()
    at_break(r, "a", {"minutes": 1440})
    to_return_check(r, 1440)
    r.submit("b", {"ready": True})
    r.tick(15)
    r.act("timer", None)
    r.submit("b", {"choice": "wait"})
    assert engine.deadline(r.state) == r.now + dt.timedelta(minutes=1)  # past the cap: a last minute
    r.tick(1)
    r.act("timer", None)
    assert r.state["ended"]["reason"] == "continue_another_day"


# --------------------------------------------------------------------------- flooding


def test_a_rating_of_7_or_more_is_flagged_to_the_partner_and_the_therapist_only():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "greeting"})
    ev = r.submit("a", {"suds": 7, "connected": 3})
    flag = of(r, "distress_flagged", ev)
    assert flag == [{"type": "distress_flagged", "actor": "a", "audience": ["a", "therapist"],
                     "data": {"partner": "a", "rating": 7, "step": "suds_before"}}]
    assert of(r, "step_submitted", ev)[0]["audience"] == ["a", "b", "therapist"]  # shared by default
    ev = r.submit("b", {"suds": 6, "connected": 3})
    assert not of(r, "distress_flagged", ev)
    assert r.state["flooded"] == {"a": True, "b": False}
    assert r.view("a")["suggest_timeout"] is True
    assert r.view("b")["suggest_timeout"] is False and r.view("therapist")["suggest_timeout"] is False
    assert "distress_flagged" not in r.types(seen_by(r, "b"))


def test_the_flag_follows_the_latest_rating_and_suggests_a_time_out_only_where_one_can_be_called():
    r = Room()
    at_break(r, "b", {"arousal": 8})
    assert r.state["flooded"]["b"] and of(r, "distress_flagged")[0]["data"]["step"] == "break"
    assert r.view("b")["suggest_timeout"] is False  # already in a time-out
    to_return_check(r)
    r.submit("a", {"ready": True})
    ev = r.submit("b", {"ready": True, "arousal": 7})
    assert of(r, "distress_flagged", ev)[0]["data"] == {"partner": "b", "rating": 7, "step": "return_check"}
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    for who, data in (("b", {"part": "x", "differently": "y"}), ("a", {"part": "x", "differently": "y"}),
                      ("b", {"feel": "calmer", "about": "x", "need": "y"}), ("a", {"acknowledgement": "z"})):
        r.submit(who, data)
    r.submit("a", {"suds": 2})
    r.submit("b", {"suds": 6})  # below 7: the flag is cleared, without an event
    assert r.state["flooded"]["b"] is False and r.state["phase"] == "ready"
    assert r.view("b")["suggest_timeout"] is False
    r.act("start_exercise", "b", {"exercise": "needs"})


def test_a_flooded_partner_needs_start_anyway_for_a_demanding_exercise():
    r = Room()
    at_break(r, "a", {"arousal": 9})
    to_return_check(r)
    r.submit("a", {"ready": True})
    r.submit("b", {"ready": True})
    r.submit("a", {"choice": "resume"})
    r.submit("b", {"choice": "resume"})
    for who, data in (("a", {"part": "x", "differently": "y"}), ("b", {"part": "x", "differently": "y"}),
                      ("a", {"feel": "calmer", "about": "x", "need": "y"}), ("b", {"acknowledgement": "z"})):
        r.submit(who, data)
    r.submit("a", {"suds": 8})
    r.submit("b", {"suds": 2})
    assert r.state["phase"] == "ready" and r.view("a")["suggest_timeout"]
    demanding = {x["key"]: x["demanding"] for x in r.view("a")["exercises"]}
    assert {k: demanding[k] for k in ("greeting", "timeout", "needs", "speaker_listener", "dialogue")} == {
        "greeting": False, "timeout": False, "needs": True, "speaker_listener": True, "dialogue": True}
    e = r.err("start_exercise", "a", {"exercise": "needs"})
    assert e.code == "distress_gate" and e.fields == {"start_anyway": "Needed."}
    assert r.err("start_exercise", "a", {"exercise": "needs", "start_anyway": False}).code == "distress_gate"
    for bad in ("yes", 1, None, "true"):
        e = r.err("start_exercise", "a", {"exercise": "needs", "start_anyway": bad})
        assert e.code == "invalid_input" and set(e.fields) == {"start_anyway"}, bad
    # The other partner is not gated: refusing them would tell them about a private rating.
    b_starts = engine.apply(r.state, engine.Action("start_exercise", "b", {"exercise": "needs"}, r.now))
    assert b_starts.state["run"]["exercise"] == "needs"
    # Not demanding: no gate; start_anyway is accepted and ignored everywhere.
    for payload in ({"exercise": "greeting"}, {"exercise": "greeting", "start_anyway": True},
                    {"exercise": "timeout", "start_anyway": False}):
        assert engine.apply(r.state, engine.Action("start_exercise", "a", payload, r.now)).state["run"]
    assert not of(r, "started_anyway", b_starts.events)
    ev = r.act("start_exercise", "a", {"exercise": "needs", "start_anyway": True})
    assert r.state["run"]["exercise"] == "needs"
    assert of(r, "exercise_started", ev)[0]["data"]["options"] == {}  # not an option of the exercise
    # The therapist learns that a flooded partner went ahead; the other partner does not.
    assert of(r, "started_anyway", ev) == [{"type": "started_anyway", "actor": "a",
                                            "audience": ["a", "therapist"],
                                            "data": {"partner": "a", "exercise": "needs"}}]


def test_the_other_partner_sees_the_same_whatever_a_private_rating_was():
    def play(suds):
        r = Room()
        r.act("start_exercise", "a", {"exercise": "needs"})
        r.submit("a", {"suds": suds, "feeling": "scared", "share": False})
        r.submit("b", {"suds": 3})
        r.act("pause", "a")
        r.act("pause_check", "a", {"feeling": "scared", "rating": suds})
        r.act("timeout", "a", {"arousal": suds})
        return r

    calm, flooded = play(2), play(9)
    assert "distress_flagged" in flooded.types() and "distress_flagged" not in calm.types()
    strip = lambda r: [(e["type"], e["actor"], e["data"]) for e in seen_by(r, "b")]
    assert strip(calm) == strip(flooded)
    assert json.dumps(calm.view("b"), sort_keys=True) == json.dumps(flooded.view("b"), sort_keys=True)
    assert "scared" not in json.dumps(seen_by(flooded, "b"))
    own = [e for e in seen_by(flooded, "a") if e["type"] == "step_submitted"][0]
    assert own["audience"] == ["a", "therapist"] and own["data"]["data"]["share"] is False


def test_a_check_in_is_shared_by_default_and_the_choice_is_shown_before_answering():
    r = Room()
    r.act("start_exercise", "a", {"exercise": "greeting"})
    share = [f for f in r.view("a")["input"] if f["name"] == "share"][0]
    assert share["kind"] == "bool" and share["default"] is True and not share["required"]
    ev = r.submit("a", {"suds": 3, "connected": 5})
    assert of(r, "step_submitted", ev)[0]["audience"] == ["a", "b", "therapist"]
    ev = r.submit("b", {"suds": 3, "connected": 5, "share": False})
    assert of(r, "step_submitted", ev)[0]["audience"] == ["b", "therapist"]
    assert r.submit_err("a", {"first": "me", "share": True}).code == "invalid_input"  # only where asked
