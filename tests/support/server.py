"""`python app.py` (eventlet) as a real process that a test can `kill -9` and start again on the
same port and database. Seeding happens in-process against the same database."""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app(db_url: str):
    """The test side of a database: an app object for seeding and reading (cheap Argon2)."""
    from couples import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "ASYNC_MODE": "threading",
                       "REDIS_URL": None, "ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2,
                       "SECRET_KEY": "seed-" + uuid.uuid4().hex})


def migrate(db_url: str):
    from flask_migrate import upgrade

    from couples.extensions import db
    app = test_app(db_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


class ServerProcess:
    """One served app. `kill9()` then `start()` is a crash and a restart (same port, same DB)."""

    started: list = []  # every instance that ran, so a fixture can stop leftovers

    def __init__(self, tmp: Path, db_url: str, *, port: int | None = None, origins=(), env=None):
        self.tmp, self.db_url = Path(tmp), db_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_file = self.tmp / "clock_offset"
        self.clock_file.write_text("0")
        self.log_path = self.tmp / "server.log"
        self.origins = [self.url, *origins]
        self.extra_env = env or {}
        self.secret = "fault-" + uuid.uuid4().hex
        self.proc = None
        self.starts = 0

    @property
    def origin(self) -> str:
        return self.url

    def start(self, timeout: float = 30):
        env = {**os.environ, "COUPLES_ASYNC_MODE": "eventlet", "DATABASE_URL": self.db_url,
               "HOST": "127.0.0.1", "PORT": str(self.port), "COUPLES_ENV": "test",
               "COUPLES_ALLOWED_ORIGINS": ",".join(self.origins),
               "COUPLES_CLOCK_FILE": str(self.clock_file), "SECRET_KEY": self.secret,
               "COUPLES_SWEEP_INTERVAL": "0.2", **self.extra_env}
        env.pop("REDIS_URL", None)
        log = open(self.log_path, "a")
        log.write(f"\n===== start #{self.starts + 1} =====\n")
        log.flush()
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.starts += 1
        if self not in ServerProcess.started:
            ServerProcess.started.append(self)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.output()[-4000:])
            try:
                requests.get(self.url + "/", timeout=1)
                return time.monotonic() - t0
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("server did not answer:\n" + self.output()[-4000:])

    def kill9(self):
        """SIGKILL: no atexit, no flush, no clean socket close."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def shift_clock(self, **delta):
        now = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(str(now + timedelta(**delta).total_seconds()))


def seed(app, url: str) -> SimpleNamespace:
    """Alice ('a') and Bob ('b') in a couple, their consented therapist Theo; tokens; and a
    practice session started over HTTP (so the served process is the one that creates it)."""
    from couples import accounts
    from couples.extensions import db
    from couples.models import Couple, CoupleMember, TherapistLink, utcnow
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        users = {name: accounts.register(f"{name}.{tag}@example.com", "correct horse battery",
                                         name.title(), "therapist" if name == "theo" else "partner")
                 for name in ("alice", "bob", "theo")}
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
        db.session.remove()
    resp = requests.post(url + "/api/v1/sessions", headers={"Authorization": f"Bearer {tokens['alice']}"},
                         json={}, timeout=10)
    assert resp.status_code in (200, 201), resp.text
    return SimpleNamespace(tokens=tokens, ids=ids, couple_id=couple_id,
                           session_id=resp.json()["session"]["id"])
