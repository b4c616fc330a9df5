"""The stress-reducing conversation, after a fight and our cycle, from start to finish with real
python-socketio clients (two partners and an observing therapist) against the app served by
eventlet. In each, one partner drops out in the middle and comes back with what they missed; the
stress talk's second turn runs out on the server's (shifted) clock; after a fight is refused until
both are calm; a private map reaches the other partner in no event, snapshot, transcript or
export until both share."""
import json

from support.clients import both, everyone_at, safe_start, turn
from support.people import Api

MAP_A = {"do": "zqdo I follow you from room to room", "feel": "scared",
         "fear": "zqfear that you will leave", "need": "reassurance"}
MAP_B = {"do": "I go quiet", "feel": "overwhelmed", "fear": "Getting it wrong", "need": "space"}
PRIVATE = (MAP_A["do"], MAP_A["fear"])


def reconnect(room, who):
    """`who` loses the connection and joins again from the last seq they had: exactly what they
    missed comes back, and their view is where the session is."""
    gone, seat = getattr(room, who), {"alice": "a", "bob": "b"}[who]
    last_seq = gone.seqs()[-1]
    gone.close()
    room.theo.wait_for(lambda p: p.presence and not p.presence[-1]["presence"][seat]["online"],
                       f"{who} offline")
    back = room.peer(who, join=False)
    ack = back.join(last_seq=last_seq)
    assert ack["ok"]
    missed = [e["seq"] for e in ack["events"]]
    assert missed == list(range(last_seq + 1, last_seq + 1 + len(missed)))
    setattr(room, who, back)
    return back, ack


def api(room, who):
    return Api(room.live.url, room.world.tokens[who])


def completed(room, exercise):
    for p in (room.alice, room.bob, room.theo):
        p.wait_for(lambda p: p.view["phase"] == "ready" and p.view["completed"].get(exercise) == 1,
                   f"{exercise} completed")


def test_the_stress_talk_with_an_early_finish_a_drop_out_and_a_turn_that_runs_out(room):
    a, theo, live = room.alice, room.theo, room.live
    safe_start(room, "stress")
    both(room, "suds_before", {"suds": 4}, {"suds": 3})
    turn(a, "choose_speaker", {"first": "me"})
    turn(a, "topic", {"topic": "My manager moved the deadline"})
    everyone_at(room, "talk")
    for p in (room.alice, room.bob, theo):  # the turn's countdown, from the view
        assert p.view["deadline_at"] and 9 * 60 < p.view["seconds_left"] <= 10 * 60
    assert room.bob.view["prompt"].startswith("Listen, and be on your partner's side")
    assert any("advice" in tip for tip in room.bob.view["suggestions"])
    turn(a, "talk", {})  # Alice finishes early
    turn(room.bob, "support", {"support": "That sounds so unfair. I'm with you."})
    turn(a, "supported", {"supported": 8, "helped": "You asked what was hardest"})
    everyone_at(room, "topic")
    assert room.bob.view["speaker"] == "b" and room.bob.view["your_turn"]
    turn(room.bob, "topic", {"topic": "My knee"})
    everyone_at(room, "talk")
    b, ack = reconnect(room, "bob")  # Bob drops out during his own turn, and comes back
    assert ack["snapshot"]["view"]["step"] == "talk" and ack["snapshot"]["view"]["your_turn"]
    assert ack["snapshot"]["view"]["deadline_at"] == a.view["deadline_at"]
    live.shift_clock(minutes=11)
    everyone_at(room, "support")  # fired by the sweeper: nobody acted
    theo.wait_for(lambda p: "timer_fired" in p.types(), "the turn's timer")
    fired = [e["data"] for e in theo.events if e["type"] == "timer_fired"]
    assert [f["step"] for f in fired] == ["talk"]
    assert a.view["your_turn"] and a.view["deadline_at"] is None
    turn(a, "support", {"support": "That sounds painful. No wonder you're tired."})
    turn(b, "supported", {"supported": 9})
    both(room, "suds_after", {"suds": 2}, {"suds": 2})
    completed(room, "stress")
    said = [e["data"]["step"] for e in theo.events if e["type"] == "step_submitted"
            and e["data"]["exercise"] == "stress"]
    assert said.count("talk") == 1 and said.count("support") == 2


def test_after_a_fight_refused_until_both_are_calm_then_both_apology_answers(room):
    a, b, theo = room.alice, room.bob, room.theo
    a.ok("safety", {"safe": True})
    b.ok("safety", {"safe": True})
    a.wait_for(lambda p: p.view["phase"] == "ready", "phase ready")
    listed = next(e for e in a.view["exercises"] if e["key"] == "after_fight")
    assert listed["calm_at_most"] == 5
    refused = a.act("start_exercise", {"exercise": "after_fight"})
    assert refused["ok"] is False and refused["error"]["code"] == "calm_gate"
    assert "time-out" in refused["error"]["message"] and "pause" in refused["error"]["message"]
    # The pause technique gives both a rating; Bob's is still too high, then lower.
    a.ok("pause")
    a.ok("pause_check", {"rating": 3})
    b.ok("pause_check", {"rating": 7, "next": "carry_on"})
    a.ok("ready")
    a.wait_for(lambda p: not p.view["paused"], "resumed")
    assert b.act("start_exercise", {"exercise": "after_fight"})["error"]["code"] == "calm_gate"
    assert "distress_flagged" not in a.types()  # Bob's rating stays his
    b.ok("pause")
    b.ok("pause_check", {"rating": 5, "next": "carry_on"})
    a.ok("ready")
    a.wait_for(lambda p: not p.view["paused"], "resumed")
    b.ok("start_exercise", {"exercise": "after_fight"})
    everyone_at(room, "suds_before", "after_fight")
    both(room, "suds_before", {"suds": 3}, {"suds": 4})
    turn(b, "choose_speaker", {"first": "me"})  # Bob goes first at each stage
    turn(b, "feelings_first", {"feeling": "hurt", "feeling_2": "lonely"})
    turn(a, "feelings_second", {"feeling": "ashamed"})
    turn(b, "reality_first", {"reality": "I waited an hour at the station"})
    turn(a, "summary_first", {"summary": "You waited a long time, alone",
                              "validation": "It makes sense to me that you were hurt"})
    turn(a, "reality_second", {"reality": "My phone died and I rushed"})
    a, ack = reconnect(room, "alice")  # Alice drops out while Bob sums up her reality
    assert ack["snapshot"]["view"]["step"] == "summary_second"
    turn(b, "summary_second", {"summary": "Your phone died and you ran",
                               "validation": "It makes sense to me that you felt cornered"})
    turn(b, "trigger_first", {"trigger": "Being forgotten as a child"})
    turn(a, "trigger_second", {"trigger": "Being shouted at in public"})
    turn(b, "own_first", {"part": "I snapped", "apology": "I'm sorry I blamed you"})
    turn(a, "apology_first", {"answer": "accept"})
    turn(a, "own_second", {"set_up": "A long week", "part": "I walked off", "apology": "I'm sorry I left"})
    turn(b, "apology_second", {"answer": "still_need", "still_need": "To know you'll stay and talk"})
    a.wait_step("heard_second")
    assert "To know you'll stay and talk" in a.view["prompt"]
    turn(a, "heard_second", {"heard": "You need me to stay"})
    turn(b, "plan_first", {"differently": "Say I'm worried before I get angry", "you_could": "Text me"})
    turn(a, "plan_second", {"differently": "Charge my phone"})
    both(room, "suds_after", {"suds": 2}, {"suds": 2})
    completed(room, "after_fight")
    for p in (a, b, theo):
        with p.lock:
            outcome = [e["data"] for e in p.events if e["type"] == "after_fight_outcome"]
        assert [(o["partner"], o["apology"], o["answered_by"], o["still_need"]) for o in outcome] == [
            ("b", "accept", "a", None), ("a", "still_need", "b", "To know you'll stay and talk")]
    line = [x["line"] for ex in api(room, "theo").call(
        "GET", f"/api/v1/sessions/{room.world.session_id}/transcript")["exercises"]
        for x in ex["entries"] if x["type"] == "after_fight_outcome"]
    assert len(line) == 2 and "accepted the apology" in line[0] and "still need" in line[1]


def test_our_cycle_keeps_a_map_private_until_both_share_then_names_it(room):
    a, b, theo = room.alice, room.bob, room.theo
    safe_start(room, "cycle")
    both(room, "suds_before", {"suds": 2}, {"suds": 3})
    everyone_at(room, "map")
    assert a.view["your_turn"] and b.view["your_turn"]  # both write, nobody goes first
    turn(a, "map", MAP_A)
    b.wait_for(lambda p: p.view["answered"] == ["a"], "Alice's map written")
    sid = room.world.session_id

    def clean(text, where):
        for word in PRIVATE:
            assert word not in text, (where, word)

    def nothing_reached_bob(where):
        with b.lock:
            clean(json.dumps(b.events), f"{where}: live events")
            clean(json.dumps([v["view"] for v in b.views]), f"{where}: live views")
        bob = api(room, "bob")
        clean(json.dumps(bob.call("GET", f"/api/v1/sessions/{sid}/events?limit=500")), f"{where}: REST events")
        clean(json.dumps(bob.call("GET", f"/api/v1/sessions/{sid}/transcript")), f"{where}: transcript")
        clean(json.dumps(bob.call("GET", f"/api/v1/sessions/{sid}")), f"{where}: REST view")
        clean(json.dumps(bob.call("GET", "/api/v1/me/export")), f"{where}: export")

    nothing_reached_bob("map written")
    turn(b, "map", MAP_B)
    everyone_at(room, "reveal")
    turn(a, "reveal", {"reveal": "share"})  # Alice is ready; Bob not yet
    theo.wait_for(lambda p: p.view["answered"] == ["a"], "Alice's share")
    b, ack = reconnect(room, "bob")  # Bob drops out before sharing and comes back
    clean(json.dumps(ack), "join snapshot and replay")
    fresh = room.peer("bob", join=False).join(last_seq=0)
    clean(json.dumps(fresh), "a fresh join from the start")
    nothing_reached_bob("Alice shared, Bob not yet")
    told_theo = json.dumps(theo.events)
    assert all(word in told_theo for word in PRIVATE)  # the linked therapist sees it, as every private answer
    turn(b, "reveal", {"reveal": "share"})
    everyone_at(room, "name_cycle")
    for p in (a, b, theo):
        p.wait_for(lambda p: p.types().count("map_shared") == 2, "both maps shown")
        with p.lock:
            shown = {e["data"]["partner"]: e["data"] for e in p.events if e["type"] == "map_shared"}
        assert shown == {"a": {"partner": "a", **MAP_A}, "b": {"partner": "b", **MAP_B}}
    assert MAP_A["do"] in b.view["prompt"] and MAP_B["do"] in b.view["prompt"]  # side by side
    turn(a, "name_cycle", {"name": "the storm", "sign": "Raised voices in the kitchen"})
    turn(b, "agree_cycle", {"agree": "keep"})
    both(room, "suds_after", {"suds": 1}, {"suds": 2})
    completed(room, "cycle")
    for p in (a, b, theo):
        with p.lock:
            named = [e["data"] for e in p.events if e["type"] == "cycle_named"]
        assert named == [{"name": "the storm", "sign": "Raised voices in the kitchen", "by": "a", "agreed_by": "b"}]
