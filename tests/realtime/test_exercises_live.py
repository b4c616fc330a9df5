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
    # The distress rating is optional at the greeting's check-in: Bob leaves it out.
    both(room, "suds_before", {"suds": 3, "connected": 6, "feeling": "hopeful"}, {"connected": 7})
    turn(b, "choose_speaker", {"first": "partner"})  # Bob lets Alice go first
    everyone_at(room, "greet")
    assert a.view["speaker"] == "a" and a.view["your_turn"] and not b.view["your_turn"]
    assert "Good morning" in a.view["prompt"]
    turn(a, "greet", {"greeting": "Good morning, love"})
    turn(b, "greet_back", {"greeting": "Morning! Coffee is on"})
    turn(a, "day_speaker", {"day": "A long meeting at ten"})
    turn(b, "toward_listener", {"way": "ask", "words": "What is it about?"})  # turning toward first
    turn(a, "reply_speaker", {"reply": "The new rota"})
    turn(b, "day_listener", {"day": "Dentist at four"})
    turn(a, "toward_speaker", {"way": "reflect", "words": "Not the most fun afternoon"})
    turn(a, "appreciation_speaker", {"appreciation": "You made coffee"})
    turn(b, "thanks_listener", {"thanks": "Thank you, it was a pleasure"})
    turn(b, "appreciation_listener", {"appreciation": "You listened last night"})
    turn(a, "thanks_speaker", {"thanks": "Thanks, that means a lot"})
    turn(b, "ritual_offer", {"decision": "save"})
    turn(b, "ritual", {"when": "Mornings", "what": "Coffee and one plan each",
                       "gesture": "A six-second kiss"})
    turn(a, "ritual_agree", {"agree": "keep"})  # the partner who did not write it agrees
    both(room, "suds_after", {"suds": 1, "connected": 8}, {"suds": 1, "connected": 9})
    for p in (a, b, theo):
        p.wait_for(lambda p: "exercise_completed" in p.types() and p.view["phase"] == "ready", "completion")
        assert p.view["completed"] == {"greeting": 1}
    assert_gap_free(a, b, theo)
    assert steps_seen(a) == steps_seen(b) == steps_seen(theo)
    assert len(steps_seen(a)) == 17  # check-in, who first, eleven turns, keep it?, the ritual, agreed, check-out
    greeted = [e for e in theo.events if e["type"] == "step_submitted" and e["data"]["step"] == "greet"]
    assert greeted[0]["data"]["data"] == {"greeting": "Good morning, love"} and greeted[0]["actor"] == "a"
    for p in (a, b, theo):
        with p.lock:
            saved = [e["data"] for e in p.events if e["type"] == "ritual_saved"]
        assert saved == [{"when": "Mornings", "what": "Coffee and one plan each",
                          "gesture": "A six-second kiss", "by": "b", "agreed_by": "a"}]


def test_timeout_interrupts_runs_its_timer_and_resumes(room):
    """Bob calls a time-out in the middle of the greeting with one press; the break starts at once,
    Alice asks for a longer one during it, its timer fires on the server's (shifted) clock, it is
    extended once, and the greeting resumes where it was."""
    a, b, theo, live = room.alice, room.bob, room.theo, room.live
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 5, "connected": 4}, {"suds": 6, "connected": 3})
    turn(a, "choose_speaker", {"first": "me"})
    everyone_at(room, "greet")
    b.ok("timeout")  # from any step, even not his turn, with nothing to fill in
    everyone_at(room, "break", "timeout")
    assert a.view["interrupted"]["exercise"] == "greeting" and a.view["caller"] == "b"
    assert a.view["seconds_left"] <= 20 * 60
    a.ok("submit", {"feeling": "frustrated", "minutes": 30}, step="break")  # a longer break: a log, not a turn
    for p in (a, b, theo):
        p.wait_for(lambda p: p.view["seconds_left"] > 29 * 60, "the longer break")
    assert a.view["deadline_at"] and a.view["suggestions"]
    b.ok("submit", {"activity": "A walk round the block"}, step="break")
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


def say_request(peer, parts):
    """The speaker's four steps (observation, feeling, need, request), one field each."""
    for step, value in parts.items():
        turn(peer, step, {step: value})


def test_needs_request_with_more_clarify_alternative_swap_and_a_mirrored_no(room):
    a, b, theo = room.alice, room.bob, room.theo
    safe_start(room, "needs")
    both(room, "suds_before", {"suds": 4}, {"suds": 3})
    turn(a, "choose_speaker", {"first": "me"})
    say_request(a, {"observation": "The dishes stayed in the sink two nights",
                    "feeling": "overwhelmed", "need": "shared load",
                    "request": "Could you do the dishes on weekdays?"})
    heard = {"feeling": "overwhelmed", "need": "shared load"}
    turn(b, "mirror", {"mirror": "What I heard is you want me to cook", **heard})
    turn(a, "check", {"verdict": "clarify", "clarification": "Dishes, not cooking"})
    turn(b, "mirror", {"mirror": "What I heard is you'd like me to do the dishes", **heard})
    turn(a, "check", {"verdict": "more", "clarification": "On weekdays, when I work late"})
    turn(b, "mirror", {"mirror": "The dishes on weekdays, when you work late", **heard})
    turn(a, "check", {"verdict": "accurate"})
    turn(b, "validate", {"makes_sense": "It makes sense that you're overwhelmed, because you work late",
                         "imagine": "I imagine you feel alone with the house"})
    turn(b, "answer", {"answer": "alternative", "alternative": "Mondays to Wednesdays"})
    turn(a, "respond", {"response": "accept"})
    a.wait_step("follow_up")
    follow = date.fromisoformat(a.view["server_now"][:10]) + timedelta(days=7)
    turn(a, "follow_up", {"follow_up_date": follow.isoformat()})
    both(room, "offer_swap", {"choice": "swap"}, {"choice": "swap"})
    everyone_at(room, "observation")
    assert b.view["speaker"] == "b" and b.view["your_turn"] and b.view["round"] == 2
    say_request(b, {"observation": "We planned nothing for Saturday", "feeling": "lonely",
                    "need": "companionship", "request": "Could we walk together on Saturday?"})
    turn(a, "mirror", {"mirror": "What I heard is you'd like a Saturday walk with me",
                       "feeling": "lonely", "need": "companionship"})
    turn(b, "check", {"verdict": "accurate"})
    turn(a, "validate", {"makes_sense": "It makes sense, because we had no plans",
                         "imagine": "I imagine you feel lonely"})
    turn(a, "answer", {"answer": "no", "reason": "I promised Saturday to my sister"})
    turn(b, "mirror_reason", {"heard": "What I heard is that you can't because of your sister"})
    turn(b, "follow_up", {})
    both(room, "suds_after", {"suds": 2}, {"suds": 1})
    for p in (a, b, theo):
        p.wait_for(lambda p: "exercise_completed" in p.types(), "completion")
    outcomes = [e["data"] for e in theo.events if e["type"] == "needs_outcome"]
    assert [(o["outcome"], o["agreement"], o["follow_up_date"]) for o in outcomes] == [
        ("agreed", "Mondays to Wednesdays", follow.isoformat()), ("declined", None, None)]
    assert_gap_free(a, b, theo)
