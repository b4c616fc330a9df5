"""Fixtures of the security suites (helpers live in secworld.py)."""
import pytest

# Until create_app imports them itself, register the privacy routes here: the blueprints accept
# new routes only before the first app is built, and conftest files load before any test runs.
import couples.api_privacy  # noqa: F401,E402
import couples.views_privacy  # noqa: F401,E402
from secworld import build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The seeded world of every actor, restored before each test that takes it fresh."""
    w = build_world(tmp_path_factory.mktemp("secworld"))
    yield w
    w.restore()


@pytest.fixture
def fresh(world):
    world.restore()
    return world


def pytest_terminal_summary(terminalreporter):
    from secworld import SUMMARY
    if any(SUMMARY.values()):
        terminalreporter.section("security suites")
        for name, count in SUMMARY.items():
            terminalreporter.write_line(f"{name}: {count}")


# --------------------------------------------------------------------------- a live server


class LiveServer:
    """`python app.py` (eventlet) on a free port, its stdout and stderr captured to a file, with
    Alice and Bob (a couple) and Theo (their consented therapist) seeded, each with a token."""

    def __init__(self, tmp):
        import os
        import socket
        import subprocess
        import sys
        import uuid
        from pathlib import Path
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(__file__).resolve().parents[2]
        self.db_url = f"sqlite:///{tmp / 'live.db'}"
        self.log_path = tmp / "server.log"
        self.people = self._seed()
        env = {**os.environ, "COUPLES_ASYNC_MODE": "eventlet", "DATABASE_URL": self.db_url, "HOST": "127.0.0.1",
               "PORT": str(self.port), "COUPLES_ENV": "test", "COUPLES_ALLOWED_ORIGINS": self.url,
               "SECRET_KEY": "sec-live-" + uuid.uuid4().hex, "COUPLES_SWEEP_INTERVAL": "0.3",
               "COUPLES_LOGIN_RATE_LIMIT": "1000 per minute", "PYTHONUNBUFFERED": "1"}
        env.pop("REDIS_URL", None)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=self.root, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _seed(self):
        from flask_migrate import upgrade

        from couples import accounts, create_app, pairing
        from couples.extensions import db
        from secworld import FAST_HASH
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": self.db_url, "ASYNC_MODE": "threading",
                          "REDIS_URL": None, "SECRET_KEY": "seed", **FAST_HASH})
        people = {"password": "correct horse battery"}
        with app.app_context():
            upgrade()
            users = {n: accounts.register(f"{n}@example.com", people["password"], n.title(),
                                          "therapist" if n == "theo" else "partner") for n in ("alice", "bob", "theo")}
            pairing.create_couple(users["alice"])
            pairing.join(users["bob"], pairing.new_invitation(users["alice"]).code)
            link = pairing.invite_therapist(users["alice"], email="theo@example.com")
            pairing.consent(users["alice"], link.id)
            pairing.consent(users["bob"], link.id)
            people["tokens"] = {n: accounts.start_login(u, "token") for n, u in users.items()}
            db.session.remove()
            db.engine.dispose()
        return people

    def _wait(self):
        import time

        import requests
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.output())
            try:
                requests.get(self.url + "/login", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.output())

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        import subprocess
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("seclive"))
    yield server
    server.stop()
