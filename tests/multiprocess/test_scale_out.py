"""Three server processes, one PostgreSQL database, one Redis message queue: partner A talks to
the first process, partner B to the second, the therapist to the third, and everything still
behaves as one room. Then one process is killed with SIGKILL mid-session.

Run: make test-multiprocess   (needs the local PostgreSQL and Redis; REQUIRE_SERVICES=1 to fail
instead of skipping when they are missing)
"""
import datetime
import random
import threading
import time

import pytest
from .mp_support import BREAK_SECONDS, PRESENCE_TTL, PresencePeer, play, wait_for
from support.checks import Log, acked_actions_kept, applied_once, gap_free, peer_matches_log, timers_once
from support.clients import Duo, new_id
from support.people import Api

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def spread(couple):
    """Alice on process 1, Bob on process 2, Theo (observing) on process 3."""
    s1, s2, s3 = couple.urls
    p = couple.peers
    p.alice.connect(s1)
    p.bob.connect(s2)
    p.theo.connect(s3)
    return p

def completed(peer, *keys):
    return peer.view and peer.view["phase"] == "ready" and all(k in peer.view["completed"] for k in keys)

def assert_consistent(couple, cluster):
    """Everyone rejoins afresh; the log is gap-free, nothing was applied twice, every acknowledged
    action is in the database, and each client holds exactly the log it may see."""
    p = couple.peers
    for peer in (p.alice, p.bob, p.theo):
        peer.close()
        peer.connect(peer.url)
    log = Log(cluster.db_url, couple.session)
    problems = gap_free(log) + applied_once(log)
    for peer, user in ((p.alice, couple.users[0]), (p.bob, couple.users[1]), (p.theo, couple.users[2])):
        _, lost, bad = peer_matches_log(peer, log)
        problems += bad + peer.problems
        if peer.role != "therapist":
            uid = Api(couple.urls[0], user.token).call("GET", "/api/v1/me")["id"]
            _, bad = acked_actions_kept(peer, uid, log)
            problems += bad
    assert problems == [], "\n".join(problems[:20])
    return log

def test_each_exercise_runs_end_to_end_across_three_processes(cluster, couple):
    p = spread(couple)
    duo = Duo(p.alice, p.bob, ["greeting", "needs", "timeout"], random.Random(6), timeout_in_needs_at=None)
    play(duo, cluster, lambda: completed(p.alice, "greeting", "needs", "timeout"))
    wait_for(lambda: completed(p.bob, "greeting", "needs", "timeout"), 10, "Bob's view to catch up")
    log = assert_consistent(couple, cluster)
    done = [r["data"]["exercise"] for r in log.rows if r["type"] == "exercise_completed"]
    assert done == ["greeting", "needs", "timeout"]
    # The observer on the third process saw the partners' answers live, not only on rejoin.
    assert p.theo.live_count > 0 and any(e["type"] == "step_submitted" for e in p.theo.log.values())
    assert timers_once(log) == (1, [])

def burst(peer, actions, timeout=10.0):
    """Emit every action at once, without waiting for an ack in between, as the room page does
    when it rejoins holding answers (static/js/room/socket.js resendPending); then the acks, in
    the order sent."""
    acks = [None] * len(actions)
    done = [threading.Event() for _ in actions]
    for i, (kind, data) in enumerate(actions):
        def on_ack(ack=None, i=i):
            acks[i] = ack
            done[i].set()
        peer.sio.emit("action", {"session_id": peer.session_id, "id": new_id(peer.role), "kind": kind,
                                 "data": data}, callback=on_ack)
    for d in done:
        assert d.wait(timeout), "an action was never acknowledged"
    return acks


def test_a_burst_from_one_client_is_applied_in_the_order_sent(cluster, couple):
    """Pause, then "I'm ready", sent back to back: the second is only valid after the first.
    The server must apply one client's actions one after another, in the order they came, and
    never start the second while the first waits on the database (it was refused "Nothing is
    paused" when each event had a greenlet of its own)."""
    p = spread(couple)
    rounds = 6
    for i in range(rounds):
        acks = burst(p.alice, [("pause", {"reason": f"a breath {i}"}), ("ready", {})])
        assert [a and a.get("ok") for a in acks] == [True, True], acks
        assert p.bob.act("ready").get("ok"), p.bob.acks
    types = [r["type"] for r in Log(cluster.db_url, couple.session).rows
             if r["type"] in ("paused", "partner_ready", "resumed")]
    assert types == ["paused", "partner_ready", "partner_ready", "resumed"] * rounds


def test_presence_is_right_across_processes(cluster, couple):
    p = spread(couple)
    everyone_here = {"a": {"online": True, "devices": 1}, "b": {"online": True, "devices": 1},
                     "therapist": {"observing": True, "devices": 1}}
    for peer in (p.alice, p.bob, p.theo):
        wait_for(lambda: peer.presence == everyone_here, 10, f"{peer.name} to see everyone")
    # Bob opens a second device on Alice's process: both others count two devices for Bob.
    phone = PresencePeer("bob-phone", "b", couple.users[1].token, couple.session, couple.urls[0])
    phone.connect(couple.urls[0])
    try:
        for peer in (p.alice, p.theo):
            wait_for(lambda: peer.presence["b"]["devices"] == 2, 10, f"{peer.name} to see Bob's two devices")
    finally:
        phone.close()
    for peer in (p.alice, p.theo):
        wait_for(lambda: peer.presence["b"] == {"online": True, "devices": 1}, 10, f"{peer.name}: one device again")
    # The therapist leaves (on process 3): partners on processes 1 and 2 stop seeing an observer.
    p.theo.close()
    for peer in (p.alice, p.bob):
        wait_for(lambda: peer.presence["therapist"]["observing"] is False, 10, f"{peer.name}: therapist gone")

def test_a_timeout_timer_fires_exactly_once_with_three_sweepers(cluster, couple):
    p = spread(couple)
    duo = Duo(p.alice, p.bob, ["timeout"], random.Random(7))
    play(duo, cluster, lambda: (p.alice.view or {}).get("step") == "break")
    deadline = p.alice.view["deadline_at"]
    cluster.shift_clock(BREAK_SECONDS + 5)  # every process's clock: all three sweepers see it due
    for peer in (p.alice, p.bob, p.theo):
        wait_for(lambda: any(e["type"] == "timer_fired" for e in peer.log.values()), 10,
                 f"{peer.name} to receive timer_fired")
    time.sleep(1.5)  # several more sweeps by each process: none may fire it again
    log = Log(cluster.db_url, couple.session)
    fired = [r for r in log.rows if r["type"] == "timer_fired"]
    assert len(fired) == 1 and fired[0]["data"]["deadline_at"] == deadline, fired
    for peer in (p.alice, p.bob, p.theo):
        assert sum(e["type"] == "timer_fired" for e in peer.log.values()) == 1
        assert peer.problems == []
    # The one deadline left is the return check's: 15 minutes after the break's timer fired.
    fired_at = datetime.datetime.fromisoformat(fired[0]["data"]["fired_at"])
    assert log.session["deadline_at"] == fired_at + datetime.timedelta(minutes=15)

def test_killing_a_process_loses_no_acknowledged_event(cluster, couple):
    p = spread(couple)
    s1, s2, s3 = couple.urls
    duo = Duo(p.alice, p.bob, ["greeting"], random.Random(8))
    # Into the exercise, until it is Bob's move.
    play(duo, cluster, lambda: (p.bob.view or {}).get("your_turn") and p.bob.view["phase"] == "exercise"
         and p.bob.view["step"] not in ("suds_before",))
    # Bob answers; the moment his process has acknowledged it, that process dies.
    move = duo.next_move()
    while move[0] is not p.bob:
        move = duo.next_move()
    ack = p.bob.act(*move[1:])
    assert ack and ack["ok"], ack
    duo.note(move[1], move[3], ack)
    cluster.procs[1].kill9()
    wait_for(lambda: not p.bob.connected, 10, "Bob's socket to drop")
    # Alice (process 1) still receives Bob's acknowledged answer: it was committed before the ack.
    key = (move[2], "b")
    wait_for(lambda: any(e["type"] == "step_submitted" and (e["data"]["step"], e["data"]["by"]) == key
                         for e in p.alice.log.values()), 10, "Alice to see Bob's acknowledged answer")
    # The dead process's lease lapses: the others see Bob go offline, without any disconnect handler.
    for peer in (p.alice, p.theo):
        wait_for(lambda: peer.presence and peer.presence["b"]["online"] is False, PRESENCE_TTL + 6,
                 f"{peer.name} to see Bob offline")
    # Alice carries on while Bob is away (her turns, if any), then pauses: Bob misses both.
    before = p.bob.contiguous()
    play(duo, cluster, lambda: not (p.alice.view or {}).get("your_turn"), only=(p.alice,))
    paused = p.alice.act("pause", None, {})
    assert paused and paused["ok"], paused
    # Bob comes back on another process (3) with his last_seq and gets exactly what he missed.
    p.bob.close()
    p.bob.connect(s3)
    last, replayed = p.bob.replays[-1]
    assert last == before and replayed == list(range(before + 1, p.bob.snapshot["last_seq"] + 1))
    assert replayed, "Bob missed Alice's answers while away"
    for peer in (p.alice, p.theo):
        wait_for(lambda: peer.presence["b"]["online"] is True, 10, f"{peer.name} to see Bob back")
    play(duo, cluster, lambda: completed(p.alice, "greeting") and completed(p.bob, "greeting"))
    try:
        assert_consistent(couple, cluster)
    finally:
        cluster.procs[1].start()  # the cluster is whole again for whatever runs next
