"""Shared fixtures: an app on a fresh database (SQLite by default, PostgreSQL with
TEST_DATABASE=postgresql), a client, and small helpers so each test reads as a story."""
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text

from couples import create_app
from couples.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# Cheap but real Argon2id for tests (the OWASP minimum: 19 MiB, t=2).
FAST_HASH = {"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2}


def service_unavailable(what: str, err: Exception):
    """Skip (on a laptop without the service) or fail (in CI, REQUIRE_SERVICES=1)."""
    msg = f"{what} is not reachable: {err}"
    if REQUIRE_SERVICES:
        pytest.fail(msg + " (REQUIRE_SERVICES=1: this suite may not skip)")
    pytest.skip(msg)


def base_config(url: str, tmp_path) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-" + uuid.uuid4().hex,
            "ASYNC_MODE": "threading", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
            "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://", **FAST_HASH}


def migrate(url: str) -> None:
    """Build the schema with the real Alembic migrations (create_all is never used)."""
    from flask_migrate import upgrade
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "ASYNC_MODE": "threading",
                      "REDIS_URL": None})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    """A database of our own on the local PostgreSQL, migrated once, dropped at the end."""
    name = "couples_t_" + uuid.uuid4().hex[:10]
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # noqa: BLE001 - any failure means the service is not usable
        service_unavailable("PostgreSQL", err)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
