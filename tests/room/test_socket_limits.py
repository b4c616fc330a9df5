"""Issue 21, item 5: rate limits per person, not only per socket (couples/room/ratelimit.py).

Ten sockets of one login used to get ten full budgets, and connecting was not limited at all.
Now, beside each socket's token bucket: a budget of events per person across all their sockets
(SOCKET_EVENTS_PER_PERSON), and connects limited per person (SOCKET_CONNECTS_PER_PERSON) and per
client address (SOCKET_CONNECTS_PER_ADDRESS), each a moving window in the rate-limit store (this
process's memory here; Redis, shared by every process, when REDIS_URL is set:
tests/multiprocess/test_shared_limits.py). In-process, with Flask-SocketIO's test client; the
refusal's wire shape is checked against the served app in tests/realtime/test_protocol_live.py."""
import logging

import pytest
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select

from couples.config import Config
from couples.extensions import db, socketio
from couples.models import Connection
from couples.room import sockets
from support.inprocess import seed_world

GENEROUS_SOCKET = {"SOCKET_RATE_PER_SECOND": 10_000, "SOCKET_RATE_BURST": 10_000}


@pytest.fixture
def world(app):
    return seed_world(app)


def limited(app, **config):
    """This app with these limits (read when its socket limits are first used)."""
    app.config.update(config)
    app.extensions.pop("socket_rate_limit", None)
    app.extensions.pop("socket_limits", None)
    return app


@pytest.fixture
def refusals(monkeypatch):
    """The {"code", "message"} of every connection refused, in order (the server's own exception
    class, recording what it carries to the client's connect_error)."""
    seen = []

    class Recorded(sockets.ConnectionRefusedError):
        def __init__(self, *args):
            seen.append(args[-1])
            super().__init__(*args)

    monkeypatch.setattr(sockets, "ConnectionRefusedError", Recorded)
    return seen


def connect(app, token=None, address="127.0.0.1"):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address
    return socketio.test_client(app, flask_test_client=http, auth={"token": token} if token else None)


def heartbeat(sock):
    return sock.emit("heartbeat", {}, callback=True)


def code(ack):
    return True if ack["ok"] else ack["error"]["code"]


def test_ten_sockets_of_one_login_share_one_budget(app, world):
    limited(app, SOCKET_EVENTS_PER_PERSON="10 per minute", **GENEROUS_SOCKET)
    alice = [connect(app, world.tokens["alice"]) for _ in range(10)]
    assert all(s.is_connected() for s in alice)
    assert [code(heartbeat(s)) for s in alice] == [True] * 10
    over = [heartbeat(s) for s in alice]  # the 11th to the 20th event of the person
    assert [code(a) for a in over] == ["rate_limited"] * 10
    assert over[0]["error"] == {"code": "rate_limited", "fields": {},
                                "message": "Too many messages at once; please slow down."}
    assert all(s.is_connected() for s in alice)  # refused events, not closed sockets
    bob = connect(app, world.tokens["bob"])
    assert code(heartbeat(bob)) is True  # another person is unaffected


def test_every_event_name_counts_and_a_reconnect_brings_no_fresh_budget(app, world):
    limited(app, SOCKET_EVENTS_PER_PERSON="4 per minute", **GENEROUS_SOCKET)
    first = connect(app, world.tokens["alice"])
    acks = [first.emit(name, {}, callback=True) for name in ("heartbeat", "leave", "no_such_event", "disconnect")]
    assert [code(a) for a in acks] == [True, "invalid_input", "unknown_event", "unknown_event"]
    assert code(heartbeat(first)) == "rate_limited"
    first.disconnect()
    again = connect(app, world.tokens["alice"])
    assert again.is_connected() and code(heartbeat(again)) == "rate_limited"


def test_a_connect_flood_from_one_person_is_refused_after_the_limit(app, world, refusals):
    limited(app, SOCKET_CONNECTS_PER_PERSON="5 per minute")
    flood = [connect(app, world.tokens["alice"]) for _ in range(8)]
    assert [s.is_connected() for s in flood] == [True] * 5 + [False] * 3
    assert refusals == [{"code": "rate_limited",
                         "message": "Too many connections just now. Please wait a minute, then try again."}] * 3
    # Per person, whichever login: a fresh token of Alice's is refused too; Bob is not.
    with app.app_context():
        from couples.accounts import service as accounts
        from couples.models import User
        other_login = accounts.start_login(db.session.get(User, world.alice), "token")
        db.session.remove()
    assert not connect(app, other_login).is_connected()
    assert connect(app, world.tokens["bob"]).is_connected()
    with app.app_context():  # a refused socket never became a connection
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 6
    # Disconnecting gives nothing back: the window counts connects, not open sockets.
    for s in flood[:5]:
        s.disconnect()
    assert not connect(app, world.tokens["alice"]).is_connected()


def test_connects_per_address_count_every_attempt_even_without_credentials(app, world, refusals):
    limited(app, SOCKET_CONNECTS_PER_ADDRESS="4 per minute")
    here, elsewhere = "10.0.0.1", "10.0.0.2"
    assert not connect(app, None, here).is_connected()
    assert not connect(app, "not-a-token", here).is_connected()
    assert connect(app, world.tokens["alice"], here).is_connected()
    assert connect(app, world.tokens["theo"], here).is_connected()
    assert not connect(app, world.tokens["bob"], here).is_connected()  # the 5th attempt from here
    assert connect(app, world.tokens["bob"], elsewhere).is_connected()
    assert [r["code"] for r in refusals] == ["unauthenticated", "unauthenticated", "rate_limited"]


def test_off_switch_and_defaults(app, world):
    cfg = Config(app.instance_path)
    assert (cfg.SOCKET_EVENTS_PER_PERSON, cfg.SOCKET_CONNECTS_PER_PERSON, cfg.SOCKET_CONNECTS_PER_ADDRESS) == (
        "1200 per minute", "60 per minute", "600 per minute")
    limited(app, SOCKET_RATE_LIMIT=False, SOCKET_EVENTS_PER_PERSON="1 per minute",
            SOCKET_CONNECTS_PER_PERSON="1 per minute", SOCKET_CONNECTS_PER_ADDRESS="1 per minute")
    socks = [connect(app, world.tokens["alice"]) for _ in range(3)]
    assert all(s.is_connected() for s in socks) and all(code(heartbeat(s)) is True for s in socks)


@pytest.mark.parametrize("name", ["COUPLES_SOCKET_EVENTS_PER_PERSON", "COUPLES_SOCKET_CONNECTS_PER_PERSON",
                                  "COUPLES_SOCKET_CONNECTS_PER_ADDRESS"])
def test_a_limit_that_does_not_parse_stops_the_start(monkeypatch, tmp_path, name):
    monkeypatch.setenv(name, "plenty")
    with pytest.raises(RuntimeError, match=name):
        Config(str(tmp_path))
    monkeypatch.setenv(name, "30 per minute; 5 per second")
    Config(str(tmp_path))


def test_an_unreachable_store_lets_events_through_and_says_so(app, world, caplog, monkeypatch):
    """The per-person limits live in the shared store; if it cannot be reached, a person's
    events are not refused for it (each socket's bucket still holds), the log says so once, and
    the store is left alone for a while instead of being waited for on every event."""
    limited(app, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0", SOCKET_RATE_PER_SECOND=1, SOCKET_RATE_BURST=3,
            SOCKET_EVENTS_PER_PERSON="1 per minute", SOCKET_CONNECTS_PER_PERSON="1 per minute")
    tries = []
    hit = MovingWindowRateLimiter.hit
    monkeypatch.setattr(MovingWindowRateLimiter, "hit", lambda self, *a, **k: tries.append(1) or hit(self, *a, **k))
    with caplog.at_level(logging.WARNING):
        socks = [connect(app, world.tokens["alice"]) for _ in range(2)]
        assert all(s.is_connected() for s in socks)
        assert [code(heartbeat(socks[0])) for _ in range(4)] == [True, True, True, "rate_limited"]
    assert caplog.text.count("rate-limit store unreachable") == 1  # once, not per event
    assert len(tries) == 1  # then not asked again for STORE_RETRY seconds


def test_one_process_keeps_its_counts_in_token_buckets_that_forget_idle_keys():
    """Without Redis the counts live in this process (limits' own memory store re-scans every
    stored hit every 10 ms); a key whose bucket has refilled is dropped, so addresses that came
    and went do not pile up."""
    from limits import parse

    from couples.room.ratelimit import TokenBuckets, _LocalWindows
    windows = _LocalWindows()
    item = parse("3 per minute")
    assert [windows.hit(item, "connects", "1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert windows.hit(item, "connects", "5.6.7.8")  # another key, its own budget
    now = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=2.0, clock=lambda: now[0])
    buckets.allow("spent")
    buckets.allow("spent")
    now[0] += 1.0
    buckets.allow("fresh")
    now[0] += 1.5  # "spent" has refilled (1 + 1.5 >= 2); "fresh" is at 1 + 1.5 = 2.5 >= 2 too
    buckets.allow("busy")
    buckets.prune()
    assert len(buckets) == 1  # only "busy", which has just spent a token
