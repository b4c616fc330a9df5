"""Helpers for the multi-process suite: server processes, API calls, presence-aware clients."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))  # tests/support: the recording clients and log checks

from support.clients import Peer  # noqa: E402
from support.server import free_port, migrate  # noqa: E402,F401  (re-exported to conftest)

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_MP_REDIS_URL", "redis://127.0.0.1:6379/11")
PASSWORD = "correct horse battery staple"
PRESENCE_TTL = 4.0  # short, so a killed process's sockets leave presence within seconds


def service_unavailable(what, err):
    """tests/conftest.py's rule: skip on a laptop, fail with REQUIRE_SERVICES=1."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is not reachable: {err} (REQUIRE_SERVICES=1: this suite may not skip)")
    pytest.skip(f"{what} is not reachable: {err}")


class AppProcess:
    """One `python app.py` (eventlet). `kill9()` is a crash: no clean disconnects, no atexit."""

    def __init__(self, name, tmp: Path, db_url: str, port: int, origins: list, clock_file: Path):
        self.name, self.db_url, self.port = name, db_url, port
        self.url = f"http://127.0.0.1:{port}"
        self.origins, self.clock_file = origins, clock_file
        self.log_path = tmp / f"{name}.log"
        self.proc = None

    def start(self, timeout=30):
        env = {**os.environ, "COUPLES_ASYNC_MODE": "eventlet", "DATABASE_URL": self.db_url,
               "REDIS_URL": REDIS_URL, "HOST": "127.0.0.1", "PORT": str(self.port),
               "COUPLES_ENV": "test", "COUPLES_ALLOWED_ORIGINS": ",".join(self.origins),
               "COUPLES_CLOCK_FILE": str(self.clock_file), "SECRET_KEY": "mp-shared-secret",
               "COUPLES_SWEEP_INTERVAL": "0.2", "COUPLES_PRESENCE_TTL": str(PRESENCE_TTL),
               "COUPLES_LOGIN_RATE_LIMIT": "1000 per minute"}
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            try:
                requests.get(self.url + "/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer:\n{self.output()[-3000:]}")

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Api:
    """Bearer-token JSON calls against one server process."""

    def __init__(self, base, token=None):
        self.base, self.token = base, token

    def call(self, method, path, json=None, expect=(200, 201)):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        resp = requests.request(method, self.base + path, json=json, headers=headers, timeout=15)
        assert resp.status_code in expect, f"{method} {path} -> {resp.status_code} {resp.text[:300]}"
        return resp.json() if resp.content else None


def sign_up(base, name, role):
    email = f"{name}.{uuid.uuid4().hex[:8]}@example.com"
    Api(base).call("POST", "/api/v1/accounts", {"email": email, "password": PASSWORD,
                                                  "display_name": name.title(), "role": role})
    token = Api(base).call("POST", "/api/v1/tokens", {"email": email, "password": PASSWORD})["token"]
    return SimpleNamespace(email=email, token=token)


class PresencePeer(Peer):
    """tests/support's recording client, also keeping the latest presence it was sent."""

    presence = None

    def connect(self, url, deadline=30.0):
        self.url = url
        ok = super().connect(url, deadline)
        self.sio.on("presence", self._on_presence)
        snap = getattr(self, "snapshot", None)
        if snap and self.presence is None:
            self.presence = snap.get("presence")
        return ok

    def join(self):
        ok = super().join()
        if ok:
            self.presence = self.snapshot.get("presence")
        return ok

    def _on_presence(self, data):
        if data.get("session_id") == self.session_id:
            self.presence = data["presence"]


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
