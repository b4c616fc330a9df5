"""`python app.py` (eventlet) as a real process on a free port: what every live suite serves.
A test can `kill -9` it and start it again on the same port and database, move its practice
clock (COUPLES_ENV=test reads COUPLES_CLOCK_FILE) and read its log. Seeding happens in-process
against the same database, through `app_on`.

The one way a suite serves the app: `database()` (a migrated SQLite file, or a database of its
own on the shared PostgreSQL) and `serve()` (one process, with the people a suite needs seeded
first) or `serve_many()` (processes acting as one deployment), each stopping what it started."""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
# Suites that register and log people in many times from one address would otherwise meet the limits.
EASY_LOGIN = {"COUPLES_LOGIN_RATE_LIMIT": "1000 per minute", "COUPLES_REGISTER_RATE_LIMIT": "1000 per minute"}
# Every served process's default: every client of every suite connects from 127.0.0.1, and the
# fault suites reconnect one person several times a second. The suites that test these limits
# set their own in `env` (realtime/test_protocol_live, multiprocess/test_shared_limits,
# browser/test_connect_limit); the limits per person on events keep their defaults everywhere.
EASY_CONNECTS = {"COUPLES_SOCKET_CONNECTS_PER_ADDRESS": "100000 per minute",
                 "COUPLES_SOCKET_CONNECTS_PER_PERSON": "100000 per minute"}
# Cheap but real Argon2id for tests (the OWASP minimum: 19 MiB, t=2).
FAST_HASH = {"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checkpoints_for(db_url: str) -> str:
    """A test database's audit checkpoint file, outside the project's instance folder: the seeding
    app and every server on that database append to the same one."""
    import hashlib
    import tempfile
    digest = hashlib.sha256(db_url.encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"couples-audit-checkpoints-{digest}")


def app_on(db_url: str):
    """The test side of a database: an app object for seeding and reading (cheap Argon2)."""
    from couples import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "ASYNC_MODE": "threading",
                       "REDIS_URL": None, "SECRET_KEY": "seed-" + uuid.uuid4().hex,
                       "AUDIT_CHECKPOINTS": checkpoints_for(db_url), **FAST_HASH})


def migrate(db_url: str):
    """Build the schema with the real Alembic migrations (create_all is never used); returns
    `app_on` on that database."""
    from flask_migrate import upgrade

    from couples.extensions import db
    app = app_on(db_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


class ServerProcess:
    """One served app. `kill9()` then `start()` is a crash and a restart (same port, same DB).

    `env` adds to or overrides the defaults below (REDIS_URL only from there, never inherited);
    processes meant to act as one deployment share `clock_file` and a SECRET_KEY in `env`."""

    started: list = []  # every instance that ran, so a fixture can stop leftovers

    def __init__(self, tmp: Path, db_url: str, *, port: int | None = None, origins=(), env=None,
                 name: str = "server", clock_file: Path | None = None):
        self.tmp, self.db_url, self.name = Path(tmp), db_url, name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if clock_file is None:
            clock_file = self.tmp / f"{name}.clock_offset"
            clock_file.write_text("0")
        self.clock_file = clock_file
        self.log_path = self.tmp / f"{name}.log"
        self.origins = list(dict.fromkeys([self.url, *origins]))
        self.extra_env = env or {}
        self.secret = "live-" + uuid.uuid4().hex
        self.proc = None
        self.starts = 0

    @property
    def origin(self) -> str:
        return self.url

    def start(self, timeout: float = 30):
        """Start and wait until it answers HTTP; returns how long that took."""
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update({"COUPLES_ASYNC_MODE": "eventlet", "DATABASE_URL": self.db_url,
                    "HOST": "127.0.0.1", "PORT": str(self.port), "COUPLES_ENV": "test",
                    "COUPLES_ALLOWED_ORIGINS": ",".join(self.origins),
                    "COUPLES_CLOCK_FILE": str(self.clock_file), "SECRET_KEY": self.secret,
                    "COUPLES_SWEEP_INTERVAL": "0.2", "COUPLES_AUDIT_CHECKPOINTS": checkpoints_for(self.db_url),
                    **EASY_CONNECTS, **self.extra_env})
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
                raise RuntimeError(f"{self.name} exited:\n" + self.output()[-4000:])
            try:
                requests.get(self.url + "/", timeout=1)
                return time.monotonic() - t0
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer:\n" + self.output()[-4000:])

    def __enter__(self):
        """`with ServerProcess(...) as server:` started, and stopped on the way out."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

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
        """Move the practice clock forward (seconds=, minutes=) from where it is."""
        now = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(str(now + timedelta(**delta).total_seconds()))

    def set_clock(self, seconds: float):
        """Put the practice clock `seconds` ahead of real time (0: back to real time)."""
        self.clock_file.write_text(str(seconds))


def dispose(app) -> None:
    """Close the test side's connections to the database (before it is dropped or copied)."""
    from couples.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def database(tmp: Path, *, postgresql: bool | None = None, prefix: str = "couples_live_"):
    """A migrated database for served processes, and the test side's app on it: yields (url, app).
    A SQLite file under `tmp`, or with `postgresql` (by default: TEST_DATABASE=postgresql) a
    database of its own on the shared PostgreSQL, dropped on the way out."""
    if postgresql is None:
        postgresql = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"
    if postgresql:
        from .services import postgres_database
        with postgres_database(prefix) as url:
            app = app_on(url)
            try:
                yield url, app
            finally:
                dispose(app)
    else:
        url = f"sqlite:///{Path(tmp) / 'live.db'}"
        app = migrate(url)
        try:
            yield url, app
        finally:
            dispose(app)


@contextmanager
def serve_many(tmp: Path, db_url: str, count: int, *, env=None, origins=(), name: str = "server"):
    """`count` processes on one database acting as one deployment: each allows the others'
    origins (and `origins`), all read one clock file (moving the first's clock moves them all)
    and share one SECRET_KEY (env's, or a fresh one). Started (all or none), stopped on the way
    out; yields the list (named server1, server2, ...)."""
    tmp = Path(tmp)
    env = {"SECRET_KEY": "shared-" + uuid.uuid4().hex, **(env or {})}
    clock = tmp / f"{name}s.clock_offset"
    clock.write_text("0")
    ports = [free_port() for _ in range(count)]
    allowed = [f"http://127.0.0.1:{p}" for p in ports] + list(origins)
    procs = [ServerProcess(tmp, db_url, port=p, origins=allowed, env=env, name=f"{name}{i + 1}",
                           clock_file=clock) for i, p in enumerate(ports)]
    with ExitStack() as stack:
        for p in procs:
            stack.enter_context(p)
        yield procs


@contextmanager
def serve(tmp: Path, db_url: str, *, app=None, people=None, env=None, origins=(), name: str = "server"):
    """One served process on `db_url`. `app` (default: `app_on(db_url)`) is the test side of the
    database, kept as `server.app`; `people(app)` seeds what the suite needs before the process
    starts (through support.people), its result kept as `server.people`. Stopped on the way out."""
    app = app or app_on(db_url)
    seeded = None
    if people is not None:
        seeded = people(app)
        dispose(app)
    with ServerProcess(tmp, db_url, origins=origins, env=env, name=name) as server:
        server.app, server.people = app, seeded
        yield server
