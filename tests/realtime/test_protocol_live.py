"""The socket protocol against the served app: who may connect and act, refusals with their exact
codes, idempotency, races, pause, presence, reconnection, and disconnection on lost access."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio
from sqlalchemy import select, update

from couples.extensions import db
from couples.models import CoupleMember, TherapistLink, utcnow
from support.clients import LivePeer, both, everyone_at, safe_start, turn
from support.people import seed_session
from support.server import ROOT, database, serve
from support.services import service_unavailable

UNAUTHENTICATED = {"code": "unauthenticated", "message": "Please log in."}


def to_greet(room):
    """Safety, greeting started, check-ins done, Alice chosen to speak: at step `greet`."""
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 3, "connected": 6}, {"suds": 2, "connected": 7})
    turn(room.alice, "choose_speaker", {"first": "me"})
    everyone_at(room, "greet")


def quiet(seconds=0.4):
    time.sleep(seconds)  # only where we assert that nothing arrives


# --------------------------------------------------------------------------- connecting


def test_connections_without_valid_credentials_are_refused(live):
    world = live.seed()
    attempts = {
        "no credentials": dict(auth=None),
        "a wrong token": dict(auth={"token": "not-a-real-token"}),
        "a token that is not text": dict(auth={"token": 12345}),
    }
    for label, kwargs in attempts.items():
        peer = LivePeer(live, world.tokens["alice"], "alice", world.session_id)
        told = []
        peer.sio.on("connect_error", told.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            peer.connect(**kwargs)
        assert peer.events == [] and not peer.sio.connected, label
        # docs/protocol.md: the refusal carries the one error shape's code and message.
        assert told == [{"message": "Please log in.", "data": UNAUTHENTICATED}], (label, told)
    # A token in the URL is never read.
    sio = socketio.Client(reconnection=False)
    sio.eio.websocket_extra_options = {"origin": live.url}
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(f"{live.url}?token={world.tokens['alice']}", transports=["websocket"], wait_timeout=5)
    # The Authorization header is accepted, as is the token in `auth`.
    header = LivePeer(live, None, "alice", world.session_id).connect(
        auth=None, headers={"Authorization": f"Bearer {world.tokens['alice']}"})
    assert header.join()["ok"]
    header.close()


@pytest.mark.parametrize("token", [None, "not-a-real-token"])
def test_the_official_javascript_client_reads_the_refusals_code_in_err_data(live, token):
    """The browser's client (socket.io-client from npm, run by Node) gets `connect_error` with
    err.data == {"code": "unauthenticated", "message"}: what the room page branches on."""
    node = shutil.which("node")
    script = Path(__file__).parent / "js" / "refused_connect.mjs"
    if node is None or not (ROOT / "node_modules" / "socket.io-client").is_dir():
        service_unavailable("Node.js with socket.io-client (make vendor)", FileNotFoundError("node_modules"))
    out = subprocess.run([node, str(script), live.url, *([token] if token else [])], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"connected": False, "message": "Please log in.", "data": UNAUTHENTICATED}


def test_a_foreign_origin_is_refused_and_the_allowed_one_accepted(live):
    world = live.seed()
    evil = LivePeer(live, world.tokens["alice"], "alice", world.session_id)
    with pytest.raises(socketio.exceptions.ConnectionError):
        evil.connect(origin="http://evil.example")
    assert evil.events == []
    good = LivePeer(live, world.tokens["alice"], "alice", world.session_id).connect()
    assert good.join()["ok"]
    good.close()


@pytest.mark.parametrize("origin", ["same", "http://evil.example", None])
def test_long_polling_is_refused_whatever_the_origin(live, origin):
    """WebSocket only (docs/protocol.md §1): a client that asks for long-polling, even with valid
    credentials and the allowed Origin, never gets a socket (tests/security/test_sid_alone.py says why)."""
    world = live.seed()
    polling = LivePeer(live, world.tokens["alice"], "alice", world.session_id)
    with pytest.raises(socketio.exceptions.ConnectionError):
        polling.connect(origin=origin, transports=("polling",))
    assert polling.events == [] and not polling.sio.connected


# --------------------------------------------------------------------------- limits per person


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A served app of its own with low limits per person (`live` keeps the defaults)."""
    tmp = tmp_path_factory.mktemp("limited")
    env = {"COUPLES_SOCKET_EVENTS_PER_PERSON": "10 per minute", "COUPLES_SOCKET_CONNECTS_PER_PERSON": "12 per minute"}
    with database(tmp, postgresql=False) as (url, app), serve(tmp, url, app=app, env=env, name="limited") as server:
        server.seed = lambda: seed_session(app, server.url, names=("alice", "bob", "theo"))
        yield server
    assert "Traceback" not in server.output(), server.output()[-4000:]


RATE_LIMITED = {"code": "rate_limited", "message": "Too many messages at once; please slow down."}
CONNECTS_LIMITED = {"code": "rate_limited",
                    "message": "Too many connections just now. Please wait a minute, then try again."}


def test_ten_sockets_of_one_login_share_one_budget(limited):
    world = limited.seed()
    alice = [LivePeer(limited, world.tokens["alice"], "alice", world.session_id).connect() for _ in range(10)]
    bob = LivePeer(limited, world.tokens["bob"], "bob", world.session_id).connect()
    try:
        assert [p.sio.call("heartbeat", {}, timeout=5)["ok"] for p in alice] == [True] * 10
        for p in (alice[0], alice[9]):  # the 11th and 12th of the person's events, on any socket
            assert p.sio.call("heartbeat", {}, timeout=5) == {"ok": False, "error": {**RATE_LIMITED, "fields": {}}}
        assert all(p.sio.connected for p in alice)
        assert bob.join()["ok"] and bob.sio.call("heartbeat", {}, timeout=5)["ok"]  # another person: unaffected
    finally:
        for p in (*alice, bob):
            p.close()


def test_a_connect_flood_from_one_login_is_refused_after_the_limit(limited):
    world = limited.seed()
    flood = [LivePeer(limited, world.tokens["alice"], "alice", world.session_id).connect() for _ in range(12)]
    try:
        over = LivePeer(limited, world.tokens["alice"], "alice", world.session_id)
        told = []
        over.sio.on("connect_error", told.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            over.connect()
        assert told == [{"message": CONNECTS_LIMITED["message"], "data": CONNECTS_LIMITED}]
        # The browser's own client reads the code in err.data, as for `unauthenticated`.
        node = shutil.which("node")
        if node and (ROOT / "node_modules" / "socket.io-client").is_dir():
            out = subprocess.run([node, str(Path(__file__).parent / "js" / "refused_connect.mjs"), limited.url,
                                  world.tokens["alice"]], cwd=ROOT, capture_output=True, text=True, timeout=30)
            assert json.loads(out.stdout.strip().splitlines()[-1]) == {
                "connected": False, "message": CONNECTS_LIMITED["message"], "data": CONNECTS_LIMITED}
        bob = LivePeer(limited, world.tokens["bob"], "bob", world.session_id).connect()
        assert bob.join()["ok"]
        bob.close()
    finally:
        for p in flood:
            p.close()


def test_a_message_over_64_kb_is_refused(room):
    room.alice.sio.emit("action", {"session_id": room.world.session_id, "id": "too-big-0001",
                                   "kind": "safety", "data": {"safe": True, "pad": "x" * 70_000}})
    assert room.alice.gone.wait(5), "the server kept a socket that sent 70 KB"
    quiet()
    assert room.bob.sio.connected and room.theo.types() == []  # nothing of it was applied


# --------------------------------------------------------------------------- refusals


def error(ack):
    assert ack["ok"] is False, ack
    return ack["error"]


def test_outsiders_and_observers_cannot_act(room):
    eve = room.peer("eve", join=False)
    assert error(eve.join())["code"] == "forbidden"
    assert error(eve.act("safety", {"safe": True}))["code"] == "forbidden"
    assert error(eve.join(session_id="nosuchsession"))["code"] == "forbidden"
    assert eve.events == [] and eve.presence == []
    assert error(room.theo.act("safety", {"safe": True}))["code"] == "observer_read_only"
    bob2 = room.peer("bob", join=False)
    assert error(bob2.act("safety", {"safe": True}))["code"] == "not_joined"


def test_out_of_turn_stale_and_invalid_actions_get_exact_codes(room):
    a, b = room.alice, room.bob
    assert error(a.act("start_exercise", {"exercise": "greeting"}))["code"] == "safety_pending"
    a.ok("safety", {"safe": True})
    assert error(a.act("safety", {"safe": True}))["code"] == "not_your_turn"
    assert error(b.act("safety", {"safe": "yes"})) == {
        "code": "invalid_input", "message": "Some answers need another look.",
        "fields": {"safe": "Must be true or false."}}
    b.ok("safety", {"safe": True})
    b.wait_for(lambda p: p.view["phase"] == "ready", "ready")
    assert error(a.act("start_exercise", {"exercise": "chess"}))["code"] == "unknown_exercise"
    assert error(a.act("submit", {}, step="greet"))["code"] == "no_exercise"
    a.ok("start_exercise", {"exercise": "greeting"})
    both(room, "suds_before", {"suds": 3, "connected": 6}, {"suds": 2, "connected": 7})
    turn(a, "choose_speaker", {"first": "me"})
    everyone_at(room, "greet")
    assert error(b.act("submit", {"greeting": "Me first"}, step="greet"))["code"] == "not_your_turn"
    assert error(a.act("submit", {"greeting": "Hi"}, step="greet_back"))["code"] == "stale_step"
    err = error(a.act("submit", {}, step="greet"))
    assert err["code"] == "invalid_input" and set(err["fields"]) == {"greeting"}
    err = error(a.act("submit", {"greeting": "Hi", "mood": 3}, step="greet"))
    assert err["code"] == "invalid_input" and set(err["fields"]) == {"mood"}
    assert error(a.act("submit", {"greeting": "x" * 501}, step="greet"))["fields"] == {
        "greeting": "Length must be between 1 and 500."}
    # The envelope itself (validated before anything else happens)
    envelope = {"session_id": room.world.session_id, "id": "client-0001", "kind": "submit",
                "step": "greet", "data": {"greeting": "Hi"}}
    for change, field in (({"id": "short"}, "id"), ({"id": "bad id with spaces"}, "id"),
                          ({"kind": "timer"}, "kind"), ({"extra": 1}, "extra"),
                          ({"data": "text"}, "data"), ({"step": "Greet!"}, "step")):
        err = error(a.sio.call("action", {**envelope, **change}, timeout=5))
        assert err["code"] == "invalid_input" and set(err["fields"]) == {field}, (change, err)
    assert error(a.sio.call("action", "not an object", timeout=5))["code"] == "invalid_input"
    assert error(a.sio.call("join", {"session_id": room.world.session_id, "last_seq": -1}, timeout=5))[
        "fields"] == {"last_seq": "Must be greater than or equal to 0."}
    a.ok("submit", {"greeting": "Hi"}, step="greet")  # nothing above changed the step


def test_a_retried_client_id_gets_the_original_ack_and_no_new_event(room):
    a, b = room.alice, room.bob
    first = a.ok("safety", {"safe": True}, client_id="retry-me-0001")
    quiet()
    seen_by_theo = len(room.theo.events)
    again = a.act("safety", {"safe": True}, client_id="retry-me-0001")
    assert again == {"ok": True, "seq": first["seq"], "duplicate": True}
    quiet()
    assert len(room.theo.events) == seen_by_theo
    b.ok("safety", {"safe": True}, client_id="retry-me-0001")  # ids are per user: Bob's is new


def test_simultaneous_submits_exactly_one_wins(room):
    safe_start(room, "greeting")
    both(room, "suds_before", {"suds": 3, "connected": 6}, {"suds": 2, "connected": 7})
    everyone_at(room, "choose_speaker")
    acks, go = {}, threading.Barrier(2)

    def press(peer):
        go.wait()
        acks[peer.name] = peer.act("submit", {"first": "me"}, step="choose_speaker")

    threads = [threading.Thread(target=press, args=(p,)) for p in (room.alice, room.bob)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [n for n, ack in acks.items() if ack["ok"]]
    assert len(winners) == 1, acks
    loser = ({"alice", "bob"} - set(winners)).pop()
    assert acks[loser]["error"]["code"] in ("stale_step", "not_your_turn")
    everyone_at(room, "greet")
    assert room.theo.view["speaker"] == {"alice": "a", "bob": "b"}[winners[0]]
    assert room.theo.types().count("speaker_chosen") == 1


def test_a_pause_mid_step_keeps_its_reason_private_and_resumes_the_step(room):
    a, b, theo = room.alice, room.bob, room.theo
    to_greet(room)
    b.ok("pause", {"reason": "I need some water"})
    for p in (a, b, theo):
        p.wait_for(lambda p: p.view["paused"], "paused")
    theo.wait_for(lambda p: "pause_reason" in p.types(), "the reason, for the therapist")
    assert "pause_reason" in b.types() and b.view["pause_reason"] == "I need some water"
    quiet()
    assert "pause_reason" not in a.types() and a.view["pause_reason"] is None
    assert a.view["your_turn"] is False
    assert error(a.act("submit", {"greeting": "Hi"}, step="greet"))["code"] == "paused"
    a.ok("ready")
    b.ok("ready")
    a.wait_for(lambda p: not p.view["paused"] and p.view["your_turn"], "resumed")
    assert a.view["step"] == "greet"
    a.ok("submit", {"greeting": "Hi again"}, step="greet")
    b.wait_step("greet_back")


def test_a_partners_no_to_safety_stays_private(room):
    a, b, theo = room.alice, room.bob, room.theo
    a.ok("safety", {"safe": False})
    theo.wait_for(lambda p: "safety_concern" in p.types(), "the therapist is told")
    quiet()
    assert b.events == [] and b.view["phase"] == "safety" and b.view["your_turn"]
    ack = b.ok("safety", {"safe": True})
    b.wait_for(lambda p: p.view["phase"] == "hold", "the neutral message")
    assert b.seqs() == list(range(1, len(b.seqs()) + 1)) and ack["seq"] == len(b.seqs())
    assert all("safe" not in e["data"] or e["actor"] == "b" for e in b.events)
    assert error(a.act("start_exercise", {"exercise": "greeting"}))["code"] == "safety_hold"


# --------------------------------------------------------------------------- presence, reconnection


def test_partners_see_the_therapist_observe_and_leave(room):
    a = room.alice
    a.wait_for(lambda p: p.presence and p.presence[-1]["presence"]["therapist"]["observing"], "observer")
    assert a.presence[-1]["presence"]["b"] == {"online": True, "devices": 1}
    room.theo.close()
    a.wait_for(lambda p: not p.presence[-1]["presence"]["therapist"]["observing"], "observer gone")
    second = room.peer("alice")
    a.wait_for(lambda p: p.presence[-1]["presence"]["a"]["devices"] == 2, "two devices")
    assert second.sio.call("heartbeat", {"session_id": room.world.session_id}, timeout=5)["ok"]


def test_a_partner_who_reconnects_gets_exactly_what_they_missed(room):
    a, b = room.alice, room.bob
    to_greet(room)
    last_seq = b.seqs()[-1]
    b.close()
    a.wait_for(lambda p: not p.presence[-1]["presence"]["b"]["online"], "Bob offline")
    a.ok("submit", {"greeting": "Are you there?"}, step="greet")
    a.ok("pause", {})
    a.ok("ready")
    missed_live = [e for e in room.theo.events if e["type"] in ("step_submitted", "step_started", "paused",
                                                                "partner_ready")]
    back = room.peer("bob", join=False)
    ack = back.join(last_seq=last_seq)
    assert ack["ok"] and [e["seq"] for e in ack["events"]] == list(range(last_seq + 1, last_seq + 1 + len(ack["events"])))
    assert ack["snapshot"]["last_seq"] == ack["events"][-1]["seq"]
    types = [e["type"] for e in ack["events"]]
    assert types[:2] == ["step_submitted", "step_started"] and "paused" in types and "partner_ready" in types
    assert len(missed_live) >= 4
    rest = requests.get(f"{room.live.url}/api/v1/sessions/{room.world.session_id}/events",
                        params={"after": last_seq}, timeout=5,
                        headers={"Authorization": f"Bearer {room.world.tokens['bob']}"}).json()["events"]
    assert [(e["seq"], e["type"]) for e in rest] == [(e["seq"], e["type"]) for e in ack["events"]]
    assert ack["snapshot"]["view"]["paused"] and ack["snapshot"]["view"]["ready"] == {"a": True, "b": False}
    back.ok("ready")
    back.wait_for(lambda p: p.view["step"] == "greet_back" and p.view["your_turn"], "his turn")
    back.ok("submit", {"greeting": "Here now"}, step="greet_back")
    a.wait_step("day_speaker")


# --------------------------------------------------------------------------- losing access


def seconds_until_gone(peer, timeout=3):
    start = time.monotonic()
    assert peer.gone.wait(timeout), f"{peer.name} still connected"
    return time.monotonic() - start


def test_logout_disconnects_the_sockets_of_that_login_within_a_second(room):
    resp = requests.delete(f"{room.live.url}/api/v1/tokens/current", timeout=5,
                           headers={"Authorization": f"Bearer {room.world.tokens['alice']}"})
    assert resp.status_code == 204
    assert seconds_until_gone(room.alice) < 1.0
    assert room.alice.revoked == [{"reason": "logged_out", "cause": "logged_out"}]
    assert room.bob.sio.connected and room.theo.sio.connected
    with pytest.raises(socketio.exceptions.ConnectionError):
        LivePeer(room.live, room.world.tokens["alice"], "alice").connect()


def test_a_revoked_consent_disconnects_the_therapist_within_a_second(room):
    with room.live.app.app_context():
        db.session.execute(update(TherapistLink).where(TherapistLink.couple_id == room.world.couple_id)
                           .values(revoked_at=utcnow(), live_key=None))
        db.session.commit()
    assert seconds_until_gone(room.theo) < 1.0
    assert room.theo.revoked == [{"reason": "access_revoked", "cause": "access_revoked"}]  # the sweeper: no request to say more
    again = room.peer("theo", join=False)
    assert error(again.join())["code"] == "forbidden"
    room.alice.wait_for(lambda p: not p.presence[-1]["presence"]["therapist"]["observing"], "observer gone")


def test_leaving_the_couple_disconnects_that_partner_within_a_second(room):
    with room.live.app.app_context():
        member = db.session.scalar(select(CoupleMember).where(CoupleMember.user_id == room.world.ids["bob"]))
        member.active_user_id, member.left_at = None, utcnow()
        db.session.commit()
    assert seconds_until_gone(room.bob) < 1.0
    assert room.alice.sio.connected


def test_a_second_server_given_a_taken_port_refuses_to_start(live, tmp_path):
    """eventlet listens with SO_REUSEPORT: a second `python app.py` on the same PORT would share
    the port silently, and the kernel would split clients (and one client's long-polling
    requests) between two processes. It must stop at once and say why."""
    env = {**os.environ, "PORT": str(live.port), "HOST": "127.0.0.1", "COUPLES_ASYNC_MODE": "eventlet",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    env.pop("REDIS_URL", None)
    try:
        second = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("a second server on a taken port kept running")
    assert second.returncode != 0
    assert f"Port {live.port} on 127.0.0.1 is already in use" in second.stderr
    assert requests.get(live.url + "/login", timeout=5).status_code == 200  # the first one is untouched


def test_the_served_process_says_where_it_is_and_how_to_try_it(live):
    """A silent start reads as a hang: `python app.py` prints its address and the demo hint."""
    out = live.output()
    assert f"Couples is serving on http://127.0.0.1:{live.url.rsplit(':', 1)[1].rstrip('/')}/" in out
    assert "make demo" in out
