"""A therapist's hold on joint practice (issue 23), with real python-socketio clients against the
app served by eventlet: the therapist's request reaches both partners' open room at once, mid-
exercise (`practice_held`, the exercise set aside, `view.held`), a joint exercise can no longer
start (`therapist_hold`) while a time-out still can, and lifting it reaches them the same way.
Nobody is told why."""
from couples.exercises.hold import PROMPT
from support.clients import both, everyone_at, safe_start
from support.people import Api


def therapist(room):
    return Api(room.live.url, room.world.tokens["theo"])


def hold_path(room, what):
    return f"/api/v1/therapist/couples/{room.world.couple_id}/{what}"


def test_a_hold_reaches_both_partners_live_and_stops_joint_practice(room):
    a, b, theo = room.alice, room.bob, room.theo
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 3, "connected": 6}, {"suds": 2, "connected": 7})
    everyone_at(room, "choose_speaker", "greeting")
    assert therapist(room).call("POST", hold_path(room, "hold"), {})["held"] is True
    for p in (a, b, theo):
        p.wait_for(lambda p: "practice_held" in p.types() and p.view["held"], "the hold, live")
        held = [e for e in p.events if e["type"] == "practice_held"]
        assert len(held) == 1 and held[0]["data"] == {} and held[0]["actor"] is None
        set_aside = [e for e in p.events if e["type"] == "exercise_abandoned"]
        assert set_aside[-1]["data"] == {"exercise": "greeting", "step": "choose_speaker", "reason": "held"}
        assert p.view["phase"] == "ready" and p.view["exercise"] is None and not p.view["can_start"]
    for p in (a, b):
        assert p.view["prompt"] == PROMPT and p.view["can_timeout"]
    refused = a.act("start_exercise", {"exercise": "needs"})
    assert refused["ok"] is False and refused["error"]["code"] == "therapist_hold"
    assert "time-out" in refused["error"]["message"]
    b.ok("timeout")  # calming down is never held back
    everyone_at(room, "break", "timeout")
    assert a.view["held"] and b.view["held"]
    assert therapist(room).call("POST", hold_path(room, "release"), {})["held"] is False
    for p in (a, b, theo):
        p.wait_for(lambda p: "practice_released" in p.types() and not p.view["held"], "the release, live")
    assert a.view["step"] == "break"  # the break goes on


def test_a_partner_cannot_hold_over_the_socket_or_the_api(room):
    a = room.alice
    for kind in ("hold", "release"):
        ack = a.act(kind)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_input", ack
    Api(room.live.url, room.world.tokens["alice"]).call("POST", hold_path(room, "hold"), {}, expect=(403,))
    assert "practice_held" not in a.types() and not a.view["held"]
