"""Shared fixtures: an app on a fresh database (SQLite by default, PostgreSQL with
TEST_DATABASE=postgresql), a client, and small helpers so each test reads as a story."""
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text

from couples import create_app
from couples.extensions import db
from support.server import migrate
from support.services import postgres_database as _postgres_database

# Cheap but real Argon2id for tests (the OWASP minimum: 19 MiB, t=2).
FAST_HASH = {"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2}


def base_config(url: str, tmp_path) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-" + uuid.uuid4().hex,
            "ASYNC_MODE": "threading", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
            "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://", **FAST_HASH}


@pytest.fixture(scope="session")
def postgres_database():
    """A database of our own on the local PostgreSQL, migrated once, dropped at the end."""
    with _postgres_database("couples_t_") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(request, tmp_path):
    """A fresh, migrated, empty database for one test."""
    if os.environ.get("TEST_DATABASE", "sqlite") == "postgresql":
        url = request.getfixturevalue("postgres_database")
        engine = create_engine(url)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        engine.dispose()
        return url
    path = tmp_path / "test.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(base_config(database_url, tmp_path))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# === Accounts, pairing and consent helpers (issue 2) ==========================================
# Small helpers so a test reads as a story: `alice = make_user("alice@example.com")`,
# `as_alice = api_as(alice)`, `as_alice.post("/api/v1/couple")`, `register(client, ...)`.
from types import SimpleNamespace  # noqa: E402

PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app):
    """Create an account directly (no HTTP); returns a plain record of it."""
    from couples.accounts import service as accounts

    def make(email, role="partner", display_name=None, password=PASSWORD):
        with app.app_context():
            user = accounts.register(email, password, display_name or email.split("@")[0].title(), role)
            return SimpleNamespace(id=user.id, email=user.email, display_name=user.display_name,
                                   role=role, password=password, therapist_code=user.therapist_code)
    return make


class ApiClient:
    """A test client that sends a bearer token (and JSON) with every request."""

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


@pytest.fixture
def api_as(app):
    """`api_as(user)`: an API client logged in with a fresh bearer token for that user."""
    def as_user(user, password=None):
        client = app.test_client()
        resp = client.post("/api/v1/tokens", json={"email": user.email, "password": password or user.password})
        assert resp.status_code == 201, resp.get_json()
        return ApiClient(client, resp.get_json()["token"], user)
    return as_user


@pytest.fixture
def register():
    """`register(client, email, role)` through the HTML form; returns the response."""
    def do(client, email, role="partner", password=PASSWORD, display_name=None, follow=False):
        return client.post("/register", data={"email": email, "password": password, "role": role,
                                              "display_name": display_name or email.split("@")[0].title()},
                           follow_redirects=follow)
    return do


@pytest.fixture
def login():
    """`login(client, email)` through the HTML form; returns the response."""
    def do(client, email, password=PASSWORD, follow=False):
        return client.post("/login", data={"email": email, "password": password}, follow_redirects=follow)
    return do


@pytest.fixture
def couple(make_user, api_as):
    """Alice and Bob, paired: their API clients and the couple's id."""
    alice, bob = make_user("alice@example.com", display_name="Alice"), make_user("bob@example.com", display_name="Bob")
    as_alice, as_bob = api_as(alice), api_as(bob)
    created = as_alice.post("/api/v1/couple").get_json()
    assert as_bob.post("/api/v1/couple/join", json={"code": created["invitation"]["code"]}).status_code == 200
    return SimpleNamespace(alice=alice, bob=bob, as_alice=as_alice, as_bob=as_bob, id=created["couple"]["id"])


@pytest.fixture
def make_app(app, database_url, tmp_path):
    """`make_app(WTF_CSRF_ENABLED=True, ...)`: another app on this test's database with settings
    changed. Built after `app`, so the shared limiter takes its settings."""
    def build(**overrides):
        return create_app({**base_config(database_url, tmp_path), **overrides})
    return build
# === end of issue 2 helpers ====================================================================
