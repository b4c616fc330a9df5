"""The in-process harness (the fast set, and the security suites' worlds): the app's test
configuration, an API client that sends a bearer token, logins for the HTML pages and for
Flask-SocketIO's test client, a fake practice clock, and a room driven through the services."""
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from couples.accounts import service as accounts
from couples.extensions import db
from couples.models import PracticeSession, User
from couples.room import sessions, turns

from .people import PASSWORD, seed_couple
from .server import FAST_HASH

T0 = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)


def base_config(url: str, tmp_path=None, **extra) -> dict:
    """An app on `url` for a test: threading, no CSRF, no limits, no Redis, cheap Argon2id; with
    `tmp_path`, audit checkpoints of the test's own there."""
    own = {}
    if tmp_path is not None:
        # This test's own audit checkpoints: a database emptied for the next test is not a tampering.
        own["AUDIT_CHECKPOINTS"] = str(tmp_path / "audit-checkpoints")
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-" + uuid.uuid4().hex,
            "ASYNC_MODE": "threading", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
            "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://", **FAST_HASH, **own, **extra}


class ApiClient:
    """A test client that sends a bearer token (and JSON) with every request. `call` has the
    signature of support.people.Api's, so the HTTP story helpers take either."""

    def __init__(self, client, token, user=None):
        self.client, self.token, self.user = client, token, user

    def open(self, method, path, json=None, headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.client.open(path, method=method, json=json, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.open("POST", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)

    def call(self, method, path, json=None, expect=(200, 201)):
        resp = self.open(method, path, json=json)
        assert resp.status_code in expect, f"{method} {path} -> {resp.status_code} {resp.get_data(as_text=True)[:300]}"
        return resp.get_json()


def logged_in(app, who, password=PASSWORD):
    """A browser (cookie) client logged in through the login form as who@example.com, for the
    HTML pages."""
    browser = app.test_client()
    assert browser.post("/login", data={"email": f"{who}@example.com", "password": password}).status_code == 302
    return browser


def cookie_client(app, uid):
    """A Flask test client holding a real cookie login (an AuthSession row) for the user."""
    client = app.test_client()
    with app.app_context():
        secret = accounts.start_login(db.session.get(User, uid), "cookie")
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = secret, True
    return client, secret


def start_session(app, world):
    """Alice starts the couple's practice session over the API; its public id."""
    client = app.test_client()
    resp = client.post("/api/v1/sessions", headers={"Authorization": f"Bearer {world.tokens['alice']}"})
    return resp.get_json()["session"]["id"]


class FakeClock:
    """The practice clock (app.config["CLOCK"]), moved by hand instead of sleeping."""

    def __init__(self):
        self.at = T0

    def __call__(self):
        return self.at

    def advance(self, **kw):
        self.at += timedelta(**kw)


def seed_world(app):
    """Alice (a) and Bob (b) in a couple, a consented therapist, and an outsider; ids and tokens."""
    w = seed_couple(app, ("alice", "bob", "theo", "eve"))
    return SimpleNamespace(couple_id=w.couple_id, tokens=w.tokens, **w.ids)


def user(uid):
    return db.session.get(User, uid)


class Room:
    """Drives one session through the service as the partners would (in an app context)."""

    def __init__(self, world):
        self.world = world
        self.session, _ = sessions.start_or_get(user(world.alice))
        self.sid = self.session.id
        self.n = 0

    def act(self, who, kind, data=None, step=None, client_id=None):
        self.n += 1
        seat = {"alice": "a", "bob": "b"}.get(who, "therapist")
        out = turns.apply(getattr(self.world, who), self.sid, seat,
                          client_id or f"client-{self.n:04d}", kind, step, data or {})
        return out

    def ok(self, *args, **kw):
        out = self.act(*args, **kw)
        assert out.ack["ok"], out.ack
        return out

    def step(self):
        return self.row().state["run"]["step"]

    def submit(self, who, data):
        return self.ok(who, "submit", data, step=self.step())

    def row(self):
            return db.session.get(PracticeSession, self.sid, populate_existing=True)

    def safe(self):
        self.ok("alice", "safety", {"safe": True})
        self.ok("bob", "safety", {"safe": True})
