"""Live fixtures: the real app served by eventlet (`python app.py`) on a free port against a
migrated temporary SQLite database (or PostgreSQL with TEST_DATABASE=postgresql), and
python-socketio clients for two partners and a therapist.

The served process runs with COUPLES_ENV=test and COUPLES_CLOCK_FILE, so a test can move the
server's practice clock forward (`live.shift_clock(minutes=21)`) instead of sleeping.
"""
import os
import threading
import time
import uuid
from contextlib import nullcontext
from types import SimpleNamespace

import pytest
import socketio

from couples.extensions import db
from support.people import seed_session
from support.server import ServerProcess, app_on, migrate
from support.services import postgres_database

WAIT = 5  # seconds any single expectation may take


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The served app. `live.app` is the test side of its database; `live.seed()` writes a fresh
    couple (Alice 'a', Bob 'b'), their consented therapist Theo and Eve (an outsider), each with
    a bearer token, and has Alice start a session."""
    tmp = tmp_path_factory.mktemp("live")
    on_postgres = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"
    with postgres_database("couples_live_") if on_postgres else nullcontext(f"sqlite:///{tmp / 'live.db'}") as url:
        app = app_on(url) if on_postgres else migrate(url)
        with ServerProcess(tmp, url, env={"COUPLES_SWEEP_INTERVAL": "0.25"}) as server:
            server.app = app
            server.seed = lambda: seed_session(app, server.url, names=("alice", "bob", "theo", "eve"))
            yield server
        with app.app_context():
            db.engine.dispose()
    # Refusals are acks, never crashes: the served process must not have logged a traceback.
    log = server.output()
    assert "Traceback" not in log, log[-4000:]


class Peer:
    """One python-socketio client: records what the server sent it, in arrival order."""

    def __init__(self, live, token, name, session_id=None):
        self.live, self.token, self.name, self.session_id = live, token, name, session_id
        self.sio = socketio.Client(reconnection=False)
        self.events, self.views, self.presence, self.revoked = [], [], [], []
        self.view = None
        self.gone = threading.Event()
        self.lock = threading.RLock()
        self._n = 0
        self.sio.on("update", self._on_update)
        self.sio.on("presence", lambda d: self._record(self.presence, d))
        self.sio.on("revoked", lambda d: self._record(self.revoked, d))
        self.sio.on("disconnect", lambda *a: self.gone.set())

    def _record(self, bucket, data):
        with self.lock:
            bucket.append(data)

    def _on_update(self, data):
        """One `update` per change: its events (each tagged with the session) and maybe a view."""
        with self.lock:
            for ev in data["events"]:
                self.events.append({"session_id": data["session_id"], **ev})
            if "view" in data:
                self.views.append({"session_id": data["session_id"], "view": data["view"],
                                   "last_seq": data["last_seq"]})
                self.view = data["view"]

    def connect(self, origin="same", auth="token", headers=None, transports=("websocket",)):
        """Connect with an Origin (default: the server's own; None: no Origin header at all)."""
        origin = self.live.url if origin == "same" else origin
        headers = dict(headers or {})
        if "polling" in transports and origin:
            headers["Origin"] = origin
        # websocket-client sends its own Origin unless told which one (or none) to send
        self.sio.eio.websocket_extra_options = {"origin": origin} if origin else {"suppress_origin": True}
        self.sio.connect(self.live.url, headers=headers, transports=list(transports), wait_timeout=WAIT,
                         auth={"token": self.token} if auth == "token" else auth)
        return self

    def join(self, last_seq=0, session_id=None):
        ack = self.sio.call("join", {"session_id": session_id or self.session_id, "last_seq": last_seq},
                            timeout=WAIT)
        if ack["ok"]:
            with self.lock:
                self.view = ack["snapshot"]["view"]
                self.events.extend(ack["events"])
        return ack

    def act(self, kind, data=None, step=None, client_id=None):
        self._n += 1
        payload = {"session_id": self.session_id, "id": client_id or f"{self.name}-{uuid.uuid4().hex[:12]}",
                   "kind": kind, "data": data or {}}
        if step is not None:
            payload["step"] = step
        return self.sio.call("action", payload, timeout=WAIT)

    def ok(self, kind, data=None, step=None, client_id=None):
        ack = self.act(kind, data, step, client_id)
        assert ack.get("ok"), (self.name, kind, step, ack)
        return ack

    def submit(self, data, step=None):
        """Submit at the current step (as this peer's latest view names it)."""
        return self.ok("submit", data, step or self.view["step"])

    def seqs(self):
        with self.lock:
            return [e["seq"] for e in self.events]

    def types(self):
        with self.lock:
            return [e["type"] for e in self.events]

    def wait_for(self, predicate, what="condition", timeout=WAIT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if predicate(self):
                    return
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: timed out waiting for {what}; saw {self.types()[-8:]}")

    def wait_step(self, step, exercise=None):
        self.wait_for(lambda p: p.view and p.view["step"] == step and (
            exercise is None or p.view["exercise"] == exercise), f"step {step}")

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture
def room(live):
    """A seeded couple with a started session: `room.alice`, `room.bob`, `room.theo` peers
    (connected and joined), and `room.peer(name)` for more."""
    world = live.seed()
    peers = []

    def peer(name, connect=True, join=True):
        p = Peer(live, world.tokens[name], name, world.session_id)
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


def everyone_at(room, step, exercise=None):
    for p in (room.alice, room.bob, room.theo):
        p.wait_step(step, exercise)
