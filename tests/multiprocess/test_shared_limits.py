"""Issue 21, item 5, across processes: with REDIS_URL, a person's socket budget and connect limit
are one count on every process (room/ratelimit.py keeps them in the rate-limit store, Redis).
Two `python app.py` processes on PostgreSQL and Redis, with low limits; Alice's sockets are spread
over both."""
import pytest
import socketio

from support.clients import LivePeer
from support.people import Api, pair_over_api, sign_up
from support.server import EASY_LOGIN, serve_many

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

EVENTS, CONNECTS = 10, 12


@pytest.fixture(scope="module")
def pair_of_processes(mp_database, redis_queue, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limits")
    env = {"REDIS_URL": redis_queue, "SECRET_KEY": "limits-shared-secret", **EASY_LOGIN,
           "COUPLES_SOCKET_EVENTS_PER_PERSON": f"{EVENTS} per minute",
           "COUPLES_SOCKET_CONNECTS_PER_PERSON": f"{CONNECTS} per minute"}
    with serve_many(tmp, mp_database, 2, env=env, name="limits") as procs:
        yield procs
    for p in procs:
        assert "Traceback" not in p.output(), p.output()[-4000:]


def _couple(procs):
    one, two = procs[0].url, procs[1].url
    alice, bob = sign_up(one, "alice"), sign_up(two, "bob")
    pair_over_api(Api(one, alice.token), Api(two, bob.token))
    return alice.token, bob.token


def _peer(proc, token, name):
    return LivePeer(proc, token, name)


def test_a_persons_budget_is_shared_by_their_sockets_on_both_processes(pair_of_processes):
    one, two = pair_of_processes
    alice, bob = _couple(pair_of_processes)
    sockets = [_peer(one if i % 2 else two, alice, "alice").connect() for i in range(EVENTS)]
    others = [_peer(p, bob, "bob").connect() for p in (one, two)]
    try:
        assert [s.sio.call("heartbeat", {}, timeout=5)["ok"] for s in sockets] == [True] * EVENTS
        for s in (sockets[0], sockets[1]):  # over the budget, on either process
            ack = s.sio.call("heartbeat", {}, timeout=5)
            assert ack["ok"] is False and ack["error"]["code"] == "rate_limited", ack
        assert all(o.sio.call("heartbeat", {}, timeout=5)["ok"] for o in others)  # Bob: unaffected
    finally:
        for s in (*sockets, *others):
            s.close()


def test_connects_are_counted_across_both_processes(pair_of_processes):
    one, two = pair_of_processes
    alice, bob = _couple(pair_of_processes)
    opened = [_peer(one if i % 2 else two, alice, "alice").connect() for i in range(CONNECTS)]
    try:
        for proc in (one, two):  # the next connect is refused wherever it lands
            over = _peer(proc, alice, "alice")
            told = []
            over.sio.on("connect_error", told.append)
            with pytest.raises(socketio.exceptions.ConnectionError):
                over.connect()
            assert told and told[0]["data"]["code"] == "rate_limited", told
        bobs = _peer(two, bob, "bob").connect()
        assert bobs.sio.call("heartbeat", {}, timeout=5)["ok"]
        bobs.close()
    finally:
        for s in opened:
            s.close()
