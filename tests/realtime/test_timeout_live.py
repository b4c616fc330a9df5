"""The time-out when it counts (issue 23), with real python-socketio clients against the app served
by eventlet: one press with an empty payload starts the break while the other partner does
nothing, and the break's timer fires on the server's (shifted) clock; a partner who never comes
back is flagged to the observing therapist and the present partner is offered to wait or stop;
a distress flag and a private break log never reach the other partner, whether live, in a
snapshot, in the REST events and transcript, or in their export."""
import json

from support.clients import both, everyone_at, safe_start, turn
from support.people import Api

PRIVATE = {"checkin": "zqcheckinfeel", "break": "zqbreakfeel", "activity": "zqbreakactivity"}


def to_greet(room):
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 3, "connected": 6}, {"suds": 2, "connected": 7})
    turn(room.alice, "choose_speaker", {"first": "me"})
    everyone_at(room, "greet")


def api(room, who):
    return Api(room.live.url, room.world.tokens[who])


def test_an_empty_time_out_starts_the_break_at_once_and_its_timer_fires(room):
    a, b, theo, live = room.alice, room.bob, room.theo, room.live
    to_greet(room)
    assert a.view["your_turn"] and not b.view["your_turn"] and b.view["can_timeout"]
    sent_by_alice = len(a.types())
    b.ok("timeout")  # one press: no field at all, not his turn, and Alice does nothing
    everyone_at(room, "break", "timeout")
    for p in (a, b, theo):
        v = p.view
        assert v["caller"] == "b" and v["interrupted"]["step"] == "greet"
        assert not v["your_turn"] and v["waiting_for"] == [] and 19 * 60 < v["seconds_left"] <= 20 * 60
        assert v["prompt_slots"] == {"caller": "b", "return_at": v["deadline_at"]}
    assert a.view["prompt"].startswith("{caller} is taking a break to calm down and will be back at {return_at}.")
    assert b.view["suggestions"] and "{return_at}" in b.view["prompt"]
    new = a.types()[sent_by_alice:]
    assert "exercise_interrupted" in new and "timer_started" in new
    assert not {"step_logged", "step_submitted", "distress_flagged"} & set(new)
    live.shift_clock(minutes=21)
    everyone_at(room, "return_check")  # fired by the sweeper: nobody acted
    theo.wait_for(lambda p: "timer_fired" in p.types(), "the break's timer")
    fired = [e for e in theo.events if e["type"] == "timer_fired"]
    assert len(fired) == 1 and fired[0]["data"]["step"] == "break"
    assert a.view["your_turn"] and b.view["your_turn"]


def test_a_partner_who_never_returns_is_flagged_and_the_other_is_offered_to_wait_or_stop(room):
    a, b, theo, live = room.alice, room.bob, room.theo, room.live
    safe_start(room, "greeting")
    turn(b, "suds_before", {"suds": 4, "connected": 5})
    b.ok("timeout")  # from his waiting screen
    everyone_at(room, "break")
    return_at = a.view["deadline_at"]
    live.shift_clock(minutes=21)
    everyone_at(room, "return_check")
    turn(a, "return_check", {"ready": True})
    live.shift_clock(minutes=16)  # Bob is still away 15 minutes after the return time
    a.wait_step("not_back")
    theo.wait_for(lambda p: "return_missed" in p.types(), "the missed return")
    missed = [e for e in theo.events if e["type"] == "return_missed"]
    assert missed[0]["data"]["missing"] == ["b"] and missed[0]["data"]["partner"] == "b"
    assert missed[0]["data"]["return_at"] >= return_at
    assert "return_missed" in a.types() and "return_missed" not in b.types()
    assert a.view["your_turn"] and {f["name"] for f in a.view["input"]} == {"choice", "date"}
    assert [f for f in a.view["input"] if f["name"] == "choice"][0]["options"] == ["wait", "another_day"]
    assert not b.view["your_turn"]
    signals = api(room, "theo").call("GET", "/api/v1/therapist/signals")["signals"]
    assert "return_missed" in [s["type"] for s in signals]
    turn(a, "not_back", {"choice": "wait"})
    everyone_at(room, "waiting_return")
    assert b.view["your_turn"] and not a.view["your_turn"]
    turn(b, "waiting_return", {"ready": True})  # Bob is back at last
    everyone_at(room, "next_step")


def test_a_flag_and_a_private_break_log_never_reach_the_other_partner(room):
    a, b, theo, live = room.alice, room.bob, room.theo, room.live
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 3, "connected": 6},
         {"suds": 8, "connected": 2, "feeling": PRIVATE["checkin"], "share": False})
    turn(a, "choose_speaker", {"first": "me"})
    everyone_at(room, "greet")
    b.ok("timeout", {"feeling": PRIVATE["break"], "arousal": 9})
    everyone_at(room, "break")
    b.ok("submit", {"activity": PRIVATE["activity"], "arousal": 7}, step="break")
    live.shift_clock(minutes=21)
    everyone_at(room, "return_check")
    turn(a, "return_check", {"ready": True})
    turn(b, "return_check", {"ready": True, "arousal": 8})
    everyone_at(room, "next_step")
    theo.wait_for(lambda p: p.types().count("distress_flagged") == 4, "four flags")
    b.wait_for(lambda p: p.types().count("distress_flagged") == 4, "Bob's own flags")
    assert {e["data"]["step"] for e in theo.events if e["type"] == "distress_flagged"} == {
        "suds_before", "break", "return_check"}
    told_theo = json.dumps(theo.events)
    assert all(word in told_theo for word in PRIVATE.values())  # they were said, and kept
    assert b.view["suggest_timeout"] is False  # in a time-out: none to suggest

    def clean(text, where):
        assert "distress_flagged" not in text, where
        assert "rated their distress" not in text, where
        for word in PRIVATE.values():
            assert word not in text, (where, word)

    with a.lock:
        clean(json.dumps(a.events), "live events")
        clean(json.dumps([v["view"] for v in a.views]), "live views")
    fresh = room.peer("alice", join=False)
    ack = fresh.join(last_seq=0)
    assert ack["ok"] and ack["snapshot"]["view"]["suggest_timeout"] is False
    clean(json.dumps(ack), "join snapshot and replay")
    alice = api(room, "alice")
    sid = room.world.session_id
    clean(json.dumps(alice.call("GET", f"/api/v1/sessions/{sid}/events?limit=500")), "REST events")
    clean(json.dumps(alice.call("GET", f"/api/v1/sessions/{sid}/transcript")), "REST transcript")
    clean(json.dumps(alice.call("GET", f"/api/v1/sessions/{sid}")), "REST session view")
    clean(json.dumps(alice.call("GET", "/api/v1/me/export")), "export")
    # What Bob said privately stays his (and the therapist's): in his own export and transcript.
    own = json.dumps(api(room, "bob").call("GET", "/api/v1/me/export"))
    assert all(word in own for word in PRIVATE.values()) and "distress_flagged" in own
    theirs = json.dumps(api(room, "theo").call("GET", f"/api/v1/sessions/{sid}/transcript"))
    assert "rated their distress 9 of 10" in theirs and PRIVATE["activity"] in theirs
