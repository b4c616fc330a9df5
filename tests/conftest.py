"""Shared fixtures: an app on a fresh database (SQLite by default, PostgreSQL with
TEST_DATABASE=postgresql), a client, and small helpers so each test reads as a story. What they
are built from is the harness in tests/support (inprocess.py: the app's test configuration and
clients; people.py: accounts and couples)."""
import os
import shutil
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from couples import create_app
from couples.extensions import db
from support.inprocess import ApiClient, FakeClock, base_config, seed_world
from support.people import PASSWORD, make_account, pair_over_api
from support.server import migrate
from support.services import postgres_database as _postgres_database


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
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # past audit_log's TRUNCATE trigger
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


@pytest.fixture
def make_user(app):
    """Create an account directly (no HTTP); returns a plain record of it."""
    def make(email, role="partner", display_name=None, password=PASSWORD):
        with app.app_context():
            user = make_account(email, role, display_name, password)
            return SimpleNamespace(id=user.id, email=user.email, display_name=user.display_name,
                                   role=role, password=password, therapist_code=user.therapist_code)
    return make


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
    """`register(client, email, role)` through the HTML forms, as a person does it: register, then
    log in (registering never logs in: it answers alike whether or not the email was new).
    Returns the login's response, or the registration's when it was refused."""
    def do(client, email, role="partner", password=PASSWORD, display_name=None, follow=False):
        resp = client.post("/register", data={"email": email, "password": password, "role": role,
                                              "display_name": display_name or email.split("@")[0].title()},
                           follow_redirects=False)
        if resp.status_code != 303:
            return resp
        return client.post("/login", data={"email": email, "password": password}, follow_redirects=follow)
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
    paired = pair_over_api(as_alice, as_bob)
    return SimpleNamespace(alice=alice, bob=bob, as_alice=as_alice, as_bob=as_bob, id=paired.couple["id"])


@pytest.fixture
def make_app(app, database_url, tmp_path):
    """`make_app(WTF_CSRF_ENABLED=True, ...)`: another app on this test's database with settings
    changed. Built after `app`, so the shared limiter takes its settings."""
    def build(**overrides):
        return create_app({**base_config(database_url, tmp_path), **overrides})
    return build
# === end of issue 2 helpers ====================================================================


# === The room through its services (tests/room, tests/review) ==================================


@pytest.fixture
def clock(app):
    """The practice clock, moved by hand: `clock.advance(minutes=20)`."""
    c = FakeClock()
    app.config["CLOCK"] = c
    return c


@pytest.fixture
def world(app, clock):
    """Alice (a), Bob (b), their consented therapist Theo and Eve (an outsider): ids and tokens."""
    return seed_world(app)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
