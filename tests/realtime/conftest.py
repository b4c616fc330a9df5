"""Live fixtures: the real app served by eventlet (`python app.py`) on a free port against a
migrated temporary SQLite database (or PostgreSQL with TEST_DATABASE=postgresql), and
python-socketio clients for two partners and a therapist (support.server, support.clients).

The served process runs with COUPLES_ENV=test and COUPLES_CLOCK_FILE, so a test can move the
server's practice clock forward (`live.shift_clock(minutes=21)`) instead of sleeping.
"""
from types import SimpleNamespace

import pytest

from support.clients import LivePeer
from support.people import seed_session
from support.server import database, serve


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The served app. `live.app` is the test side of its database; `live.seed()` writes a fresh
    couple (Alice 'a', Bob 'b'), their consented therapist Theo and Eve (an outsider), each with
    a bearer token, and has Alice start a session."""
    tmp = tmp_path_factory.mktemp("live")
    with database(tmp, prefix="couples_live_") as (url, app):
        with serve(tmp, url, app=app, env={"COUPLES_SWEEP_INTERVAL": "0.25"}) as server:
            server.seed = lambda: seed_session(app, server.url, names=("alice", "bob", "theo", "eve"))
            yield server
    # Refusals are acks, never crashes: the served process must not have logged a traceback.
    log = server.output()
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture
def room(live):
    """A seeded couple with a started session: `room.alice`, `room.bob`, `room.theo` peers
    (connected and joined), and `room.peer(name)` for more."""
    world = live.seed()
    peers = []

    def peer(name, connect=True, join=True):
        p = LivePeer(live, world.tokens[name], name, world.session_id)
        peers.append(p)
        if connect:
            p.connect()
            if join:
                assert p.join()["ok"]
        return p

    ns = SimpleNamespace(world=world, peer=peer, live=live)
    ns.alice, ns.bob, ns.theo = peer("alice"), peer("bob"), peer("theo")
    yield ns
    for p in peers:
        p.close()

