"""Speaker and listener, and mirror-validate-empathise, from start to finish with real
python-socketio clients (two partners and an observing therapist) against the app served by
eventlet; in each, one partner drops out in the middle and comes back with what they missed."""
from datetime import date, timedelta

from support.clients import both, everyone_at, safe_start, turn


def reconnect(room, who):
    """`who` ("alice" or "bob") loses the connection, the other carries on for a moment, and
    `who` joins again from the last seq they had: they get exactly what they missed."""
    gone, seat = getattr(room, who), {"alice": "a", "bob": "b"}[who]
    last_seq, seen = gone.seqs()[-1], gone.seqs()
    gone.close()
    room.theo.wait_for(lambda p: p.presence and not p.presence[-1]["presence"][seat]["online"],
                       f"{who} offline")
    back = room.peer(who, join=False)
    ack = back.join(last_seq=last_seq)
    assert ack["ok"]
    missed = [e["seq"] for e in ack["events"]]
    assert missed == list(range(last_seq + 1, last_seq + 1 + len(missed)))
    assert seen == list(range(1, last_seq + 1))
    setattr(room, who, back)
    return back


def gap_free(*peers):
    for p in peers:
        seqs = p.seqs()
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (p.name, seqs)


def test_the_floor_from_a_time_out_to_a_plan_with_a_drop_out_in_the_middle(room):
    """The time-out's "talk it through" starts the floor; Bob takes it first, is corrected once,
    Alice drops out while Bob is speaking and comes back to say it back; both hold the floor,
    both choose to solve one thing, and a plan is kept with a follow-up date."""
    a, theo, live = room.alice, room.theo, room.live
    safe_start(room, "timeout")
    everyone_at(room, "break", "timeout")
    live.shift_clock(minutes=21)
    both(room, "return_check", {"ready": True}, {"ready": True})
    both(room, "next_step", {"choice": "switch"}, {"choice": "switch"})
    both(room, "suds_after", {"suds": 3}, {"suds": 3})
    everyone_at(room, "suds_before", "speaker_listener")
    both(room, "suds_before", {"suds": 3}, {"suds": 4})
    turn(room.bob, "choose_speaker", {"first": "me"})
    turn(room.bob, "topic", {"topic": "Sundays with my parents"})
    turn(room.bob, "piece", {"piece": "I feel stretched thin on Sundays"})
    everyone_at(room, "paraphrase")
    # Not Bob's turn: the floor is his, but no second piece before Alice has said it back.
    refused = room.bob.act("submit", {"piece": "And another thing"}, step="piece")
    assert refused["ok"] is False and refused["error"]["code"] == "stale_step"
    a = reconnect(room, "alice")
    assert a.view["step"] == "paraphrase" and a.view["your_turn"]
    turn(a, "paraphrase", {"paraphrase": "You hate Sundays"})
    turn(room.bob, "confirm", {"verdict": "not_quite", "correction": "Not hate: stretched thin"})
    turn(a, "paraphrase", {"paraphrase": "You feel stretched thin on Sundays"})
    turn(room.bob, "confirm", {"verdict": "yes"})
    turn(room.bob, "more", {"more": "pass"})
    everyone_at(room, "piece")
    assert a.view["speaker"] == "a" and a.view["your_turn"] and a.view["round"] == 2
    turn(a, "piece", {"piece": "I miss my parents when we skip a visit"})
    turn(room.bob, "paraphrase", {"paraphrase": "You miss them when we skip"})
    turn(a, "confirm", {"verdict": "yes"})
    turn(a, "more", {"more": "pass"})
    both(room, "after_floor", {"choice": "solve"}, {"choice": "solve"})
    turn(a, "agenda", {"topic": "Which Sundays we visit"})
    both(room, "brainstorm", {"ideas": "Every other Sunday"}, {"ideas": "A call in between"})
    turn(room.bob, "agree", {"idea": "Every other Sunday, a call in between"})
    turn(a, "plan", {"agree": "yes"})  # the partner who did not write it agrees
    a.wait_step("follow_up")
    follow = date.fromisoformat(a.view["server_now"][:10]) + timedelta(days=14)
    turn(a, "follow_up", {"follow_up_date": follow.isoformat()})
    both(room, "suds_after", {"suds": 2}, {"suds": 2})
    for p in (a, room.bob, theo):
        p.wait_for(lambda p: p.view["phase"] == "ready" and "floor_plan" in p.types(), "the plan")
        assert p.view["completed"] == {"timeout": 1, "speaker_listener": 1}
        with p.lock:
            plans = [e["data"] for e in p.events if e["type"] == "floor_plan"]
        assert plans == [{"topic": "Which Sundays we visit", "agreement": "Every other Sunday, a call in between",
                          "follow_up_date": follow.isoformat()}]
    gap_free(a, room.bob, theo)
    with theo.lock:
        chosen = [e["data"]["choice"] for e in theo.events if e["type"] == "next_step_chosen"]
    assert chosen == ["switch"]


def test_mirror_validate_empathise_with_a_drop_out_and_the_roles_swapped(room):
    """Alice sends, Bob mirrors until she says that is all; Alice drops out while Bob sums it up
    and comes back to confirm it; validation is corrected once; after the empathy the roles swap
    and Bob sends; the dialogue completes for both, seen live by Theo."""
    theo = room.theo
    safe_start(room, "dialogue")
    both(room, "suds_before", {"suds": 3}, {"suds": 3})
    turn(room.alice, "choose_speaker", {"first": "me"})
    turn(room.alice, "send", {"message": "I feel alone when you work late"})
    turn(room.bob, "mirror", {"mirror": "If I got it, you feel alone when I work late"})
    turn(room.alice, "mirror_check", {"verdict": "more", "words": "Weekdays most of all"})
    turn(room.bob, "mirror", {"mirror": "Weekdays most of all"})
    turn(room.alice, "mirror_check", {"verdict": "all"})
    everyone_at(room, "summary")
    a = reconnect(room, "alice")
    turn(room.bob, "summary", {"summary": "You feel alone on weekdays when I work late"})
    turn(a, "summary_check", {"verdict": "yes"})
    turn(room.bob, "validate", {"makes_sense": "That makes sense, because we used to eat together"})
    turn(a, "validate_check", {"verdict": "not_quite", "correction": "Not only eating: talking"})
    turn(room.bob, "validate", {"makes_sense": "That makes sense, because we talked at dinner"})
    turn(a, "validate_check", {"verdict": "yes"})
    turn(room.bob, "empathise", {"feeling": "lonely", "words": "and a bit forgotten"})
    turn(a, "empathise_check", {"verdict": "yes"})
    everyone_at(room, "send")
    assert room.bob.view["speaker"] == "b" and room.bob.view["your_turn"] and theo.view["round"] == 2
    turn(room.bob, "send", {"message": "I worry about money, that is why I stay late"})
    turn(a, "mirror", {"mirror": "If I got it, you stay late because you worry about money"})
    turn(room.bob, "mirror_check", {"verdict": "all"})
    turn(a, "summary", {"summary": "Money worries keep you at work"})
    turn(room.bob, "summary_check", {"verdict": "yes"})
    turn(a, "validate", {"makes_sense": "That makes sense, because rent went up"})
    turn(room.bob, "validate_check", {"verdict": "yes"})
    turn(a, "empathise", {"feeling": "worried"})
    turn(room.bob, "empathise_check", {"verdict": "yes"})
    both(room, "suds_after", {"suds": 2}, {"suds": 1})
    for p in (a, room.bob, theo):
        p.wait_for(lambda p: p.view["phase"] == "ready" and "exercise_completed" in p.types(), "completion")
        assert p.view["completed"] == {"dialogue": 1}
    gap_free(a, room.bob, theo)
    with theo.lock:
        swaps = [e["data"] for e in theo.events if e["type"] == "roles_swapped"]
        sent = [(e["actor"], e["data"]["data"]) for e in theo.events
                if e["type"] == "step_submitted" and e["data"]["step"] == "send"]
    assert swaps == [{"round": 2, "speaker": "b", "listener": "a"}]
    assert [who for who, _ in sent] == ["a", "b"]
