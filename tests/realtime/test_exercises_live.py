"""The three exercises from start to finish with real python-socketio clients (two partners and
an observing therapist) against the app served by eventlet."""
from datetime import date, timedelta

from support.clients import both, everyone_at, safe_start, turn


def assert_gap_free(*peers):
    for p in peers:
        seqs = p.seqs()
        assert seqs == list(range(1, len(seqs) + 1)), (p.name, seqs)


def steps_seen(peer):
    with peer.lock:
        return [(e["data"]["exercise"], e["data"]["step"]) for e in peer.events if e["type"] == "step_started"]


def test_greeting_ritual_from_start_to_finish(room):
    a, b, theo = room.alice, room.bob, room.theo
    safe_start(room, "greeting", moment="morning")
    everyone_at(room, "suds_before", "greeting")
    assert theo.view["your_turn"] is False and theo.view["input"] is None
    both(room, "suds_before", {"suds": 3, "connected": 6, "feeling": "hopeful"}, {"suds": 2, "connected": 7})
    turn(b, "choose_speaker", {"first": "partner"})  # Bob lets Alice go first
    everyone_at(room, "greet")
    assert a.view["speaker"] == "a" and a.view["your_turn"] and not b.view["your_turn"]
    assert "Good morning" in a.view["prompt"]
    turn(a, "greet", {"greeting": "Good morning, love"})
    turn(b, "greet_back", {"greeting": "Morning! Coffee is on"})
    turn(a, "day_speaker", {"day": "A long meeting at ten"})
    turn(b, "day_listener", {"day": "Dentist at four"})
    turn(a, "appreciation_speaker", {"appreciation": "You made coffee"})
    turn(b, "appreciation_listener", {"appreciation": "You listened last night"})
    both(room, "suds_after", {"suds": 1, "connected": 8}, {"suds": 1, "connected": 9})
    for p in (a, b, theo):
        p.wait_for(lambda p: "exercise_completed" in p.types() and p.view["phase"] == "ready", "completion")
        assert p.view["completed"] == {"greeting": 1}
    assert_gap_free(a, b, theo)
    assert steps_seen(a) == steps_seen(b) == steps_seen(theo)
    assert len(steps_seen(a)) == 9  # check-in, who first, six turns, check-out
    greeted = [e for e in theo.events if e["type"] == "step_submitted" and e["data"]["step"] == "greet"]
    assert greeted[0]["data"]["data"] == {"greeting": "Good morning, love"} and greeted[0]["actor"] == "a"


def test_timeout_interrupts_runs_its_timer_and_resumes(room):
    """Bob calls a time-out in the middle of the greeting; the break's timer fires on the
    server's (shifted) clock, is extended once, and the greeting resumes where it was."""
    a, b, theo, live = room.alice, room.bob, room.theo, room.live
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 5, "connected": 4}, {"suds": 6, "connected": 3})
    turn(a, "choose_speaker", {"first": "me"})
    everyone_at(room, "greet")
    b.ok("timeout", {"feeling": "overwhelmed", "arousal": 8})  # from any step, even not his turn
    everyone_at(room, "acknowledge", "timeout")
    assert a.view["interrupted"]["exercise"] == "greeting" and a.view["caller"] == "b"
    turn(a, "acknowledge", {"feeling": "frustrated", "arousal": 7})
    both(room, "return_time", {"minutes": 20}, {"minutes": 30})
    everyone_at(room, "break")
    assert a.view["deadline_at"] and a.view["seconds_left"] > 29 * 60 and a.view["suggestions"]
    b.ok("submit", {"activity": "A walk round the block"}, step="break")  # a log, not a turn
    live.shift_clock(minutes=31)
    everyone_at(room, "return_check")  # fired by the sweeper: nobody acted
    turn(a, "return_check", {"arousal": 3, "ready": True})
    turn(b, "return_check", {"arousal": 5, "ready": False, "extend_minutes": 10})
    everyone_at(room, "break")
    live.shift_clock(minutes=11)
    everyone_at(room, "return_check")
    both(room, "return_check", {"arousal": 2, "ready": True}, {"arousal": 3, "ready": True})
    both(room, "next_step", {"choice": "resume"}, {"choice": "resume"})
    turn(b, "caller_part", {"part": "I raised my voice", "differently": "Ask for a pause sooner"})
    turn(a, "other_part", {"part": "I kept pushing", "differently": "Notice when you flood"})
    turn(b, "soft_startup", {"feel": "tense", "about": "the chores list", "need": "a plan together"})
    turn(a, "acknowledge_startup", {"acknowledgement": "You feel tense and want us to plan"})
    both(room, "suds_after", {"suds": 2}, {"suds": 2})
    everyone_at(room, "greet", "greeting")  # the interrupted exercise carries on at its step
    assert a.view["your_turn"] and a.view["interrupted"] is None
    theo.wait_for(lambda p: "exercise_resumed" in p.types(), "resume event")
    assert theo.types().count("timer_fired") == 2  # each deadline fired exactly once
    assert theo.types().count("break_extended") == 1
    turn(a, "greet", {"greeting": "Hi again"})
    assert_gap_free(a, b, theo)


def test_needs_request_with_clarify_alternative_and_swap(room):
    a, b, theo = room.alice, room.bob, room.theo
    safe_start(room, "needs")
    both(room, "suds_before", {"suds": 4}, {"suds": 3})
    turn(a, "choose_speaker", {"first": "me"})
    turn(a, "statement", {"observation": "The dishes stayed in the sink two nights",
                          "feeling": "overwhelmed", "need": "shared load",
                          "request": "Could you do the dishes on weekdays?"})
    turn(b, "mirror", {"mirror": "What I heard is you want me to cook"})
    turn(a, "check", {"verdict": "clarify", "clarification": "Dishes, not cooking"})
    turn(b, "mirror", {"mirror": "What I heard is you'd like me to do the dishes on weekdays"})
    turn(a, "check", {"verdict": "accurate"})
    turn(b, "answer", {"answer": "alternative", "alternative": "Mondays to Wednesdays"})
    turn(a, "respond", {"response": "accept"})
    a.wait_step("follow_up")
    follow = date.fromisoformat(a.view["server_now"][:10]) + timedelta(days=7)
    turn(a, "follow_up", {"follow_up_date": follow.isoformat()})
    turn(b, "offer_swap", {"choice": "swap"})
    everyone_at(room, "statement")
    assert b.view["speaker"] == "b" and b.view["your_turn"] and b.view["round"] == 2
    turn(b, "statement", {"observation": "We planned nothing for Saturday", "feeling": "lonely",
                          "need": "time together", "request": "Could we walk together on Saturday?"})
    turn(a, "mirror", {"mirror": "What I heard is you'd like a Saturday walk with me"})
    turn(b, "check", {"verdict": "accurate"})
    turn(a, "answer", {"answer": "yes"})
    turn(b, "follow_up", {})
    both(room, "suds_after", {"suds": 2}, {"suds": 1})
    for p in (a, b, theo):
        p.wait_for(lambda p: "exercise_completed" in p.types(), "completion")
    outcomes = [e["data"] for e in theo.events if e["type"] == "needs_outcome"]
    assert [(o["outcome"], o["agreement"]) for o in outcomes] == [
        ("agreed", "Mondays to Wednesdays"), ("agreed", "Could we walk together on Saturday?")]
    assert outcomes[0]["follow_up_date"] == follow.isoformat()
    assert_gap_free(a, b, theo)
