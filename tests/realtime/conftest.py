"""Live fixtures: the real app served by eventlet (`python app.py`) on a free port against a
migrated temporary SQLite database (or PostgreSQL with TEST_DATABASE=postgresql), and
python-socketio clients for two partners and a therapist.

The served process runs with COUPLES_ENV=test and COUPLES_CLOCK_FILE, so a test can move the
server's practice clock forward (`live.shift_clock(minutes=21)`) instead of sleeping.
"""
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import socketio

from couples import accounts, create_app
from couples.extensions import db
from couples.models import Couple, CoupleMember, TherapistLink, utcnow

ROOT = Path(__file__).resolve().parents[2]

WAIT = 5  # seconds any single expectation may take


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`python app.py` in a subprocess; `seed()` writes users and couples into its database."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = tmp / "live.db"
        self.clock_file = tmp / "clock_offset"
        self.clock_file.write_text("0")
        self.log = open(tmp / "server.log", "w+")
        self.db_url, self.pg_name = self._database()
        self.app = create_app({  # the test side of the same database (cheap Argon2 for seeding)
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": self.db_url, "ASYNC_MODE": "threading",
            "REDIS_URL": None, "ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2})
        with self.app.app_context():
            from flask_migrate import upgrade
            upgrade()
        env = {**os.environ, "COUPLES_ASYNC_MODE": "eventlet", "DATABASE_URL": self.db_url,
               "HOST": "127.0.0.1", "PORT": str(self.port), "COUPLES_ENV": "test",
               "COUPLES_ALLOWED_ORIGINS": self.url, "COUPLES_CLOCK_FILE": str(self.clock_file),
               "SECRET_KEY": "live-" + uuid.uuid4().hex, "COUPLES_SWEEP_INTERVAL": "0.25"}
        env.pop("REDIS_URL", None)
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _database(self):
        """A fresh SQLite file, or with TEST_DATABASE=postgresql a fresh PostgreSQL database."""
        if os.environ.get("TEST_DATABASE", "sqlite") != "postgresql":
            return f"sqlite:///{self.db_path}", None
        from sqlalchemy import create_engine, text
        admin_url = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
        name = "couples_live_" + uuid.uuid4().hex[:10]
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as err:  # noqa: BLE001 - no PostgreSQL here
            pytest.skip(f"PostgreSQL is not reachable: {err}")
        return admin_url.rsplit("/", 1)[0] + "/" + name, name

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.output())
            try:
                requests.get(self.url + "/api/v1/sessions", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("server did not answer:\n" + self.output())

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if self.pg_name:
            from sqlalchemy import text
            with self.app.app_context():
                db.engine.dispose()
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            self.admin.dispose()

    def shift_clock(self, **delta):
        """Move the server's practice clock forward (seconds, minutes) from where it is."""
        from datetime import timedelta
        now = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(str(now + timedelta(**delta).total_seconds()))

    def seed(self) -> SimpleNamespace:
        """A fresh couple (Alice 'a', Bob 'b'), their consented therapist Theo, and Eve (outsider),
        each with a bearer token; returns ids and tokens."""
        tag = uuid.uuid4().hex[:8]
        with self.app.app_context():
            users = {name: accounts.register(f"{name}.{tag}@example.com", "correct horse battery",
                                             name.title(), "therapist" if name == "theo" else "partner")
                     for name in ("alice", "bob", "theo", "eve")}
            couple = Couple()
            db.session.add(couple)
            db.session.flush()
            for seat, name in (("a", "alice"), ("b", "bob")):
                uid = users[name].id
                db.session.add(CoupleMember(couple_id=couple.id, user_id=uid, seat=seat, active_user_id=uid))
            stamp = utcnow()
            db.session.add(TherapistLink(couple_id=couple.id, therapist_id=users["theo"].id,
                                         consent_a_at=stamp, consent_b_at=stamp,
                                         live_key=f"{couple.id}:{users['theo'].id}"))
            db.session.commit()
            tokens = {name: accounts.start_login(u, "token") for name, u in users.items()}
            ids = {name: u.id for name, u in users.items()}
            couple_id = couple.id
        session = requests.post(self.url + "/api/v1/sessions",
                                headers={"Authorization": f"Bearer {tokens['alice']}"}, timeout=5)
        assert session.status_code == 201, session.text
        return SimpleNamespace(tokens=tokens, ids=ids, couple_id=couple_id,
                               session_id=session.json()["session"]["id"])


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"))
    yield server
    log = server.output()
    server.stop()
    # Refusals are acks, never crashes: the served process must not have logged a traceback.
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
        self.sio.on("event", lambda d: self._record(self.events, d))
        self.sio.on("view", self._on_view)
        self.sio.on("presence", lambda d: self._record(self.presence, d))
        self.sio.on("revoked", lambda d: self._record(self.revoked, d))
        self.sio.on("disconnect", lambda *a: self.gone.set())

    def _record(self, bucket, data):
        with self.lock:
            bucket.append(data)

    def _on_view(self, data):
        with self.lock:
            self.views.append(data)
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
