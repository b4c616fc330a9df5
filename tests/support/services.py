"""The machine's shared services (PostgreSQL, Redis) as the suites use them, and the one rule for
when one does not answer: skip on a laptop, fail under REQUIRE_SERVICES=1 (.ci/run sets it), so
that CI can never go green by skipping the suites that need a service."""
import os
import uuid
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def service_unavailable(what: str, err: Exception):
    """Skip the test (or fixture) that needs `what`, or fail it under REQUIRE_SERVICES=1."""
    msg = f"{what} is not reachable: {err}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(msg + " (REQUIRE_SERVICES=1: this suite may not skip)")
    pytest.skip(msg)


@contextmanager
def postgres_database(prefix: str = "couples_t_"):
    """A migrated database of our own on the shared PostgreSQL (others use it at the same time),
    dropped on the way out even if the test's connections are still open; yields its URL."""
    from sqlalchemy import create_engine, text

    from .server import migrate
    name = prefix + uuid.uuid4().hex[:10]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # noqa: BLE001 - any failure means the service is not usable
        admin.dispose()
        service_unavailable("PostgreSQL", err)
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def redis_database(url: str) -> str:
    """The Redis database at `url`, emptied first (a number of our own: an earlier run's rate-limit
    counters must not leak in); returns the URL."""
    try:
        import redis
        client = redis.Redis.from_url(url, socket_timeout=2)
        client.ping()
    except Exception as err:  # noqa: BLE001 - not installed, not answering, refused
        service_unavailable("Redis", err)
    client.flushdb()
    client.close()
    return url
