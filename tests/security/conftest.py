"""Fixtures of the security suites (helpers live in secworld.py)."""
import pytest

from secworld import build_world
from support.people import seed_paired
from support.server import EASY_LOGIN, database, serve


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


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """`python app.py` (eventlet) on a SQLite file, with Alice and Bob (a couple) and Theo (their
    consented therapist) paired through the pairing service. `live.people` has the password and
    each one's token; `live.output()` is everything the process wrote (the canary suite reads it)."""
    tmp = tmp_path_factory.mktemp("seclive")

    def people(app):
        paired = seed_paired(app, ("alice", "bob", "theo"))
        return {"password": paired.password, "tokens": paired.tokens}
    env = {"COUPLES_SWEEP_INTERVAL": "0.3", "PYTHONUNBUFFERED": "1", **EASY_LOGIN}  # unbuffered: the log is read live
    with database(tmp, postgresql=False) as (url, app), serve(tmp, url, app=app, people=people, env=env) as server:
        yield server
