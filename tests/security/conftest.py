"""Fixtures of the security suites (helpers live in secworld.py)."""
import pytest

from couples.extensions import db
from secworld import build_world
from support.people import PASSWORD, pair_and_link, register_people, tokens_for
from support.server import EASY_LOGIN, ServerProcess, migrate


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
    url = f"sqlite:///{tmp / 'live.db'}"
    with migrate(url).app_context():
        users = register_people(("alice", "bob", "theo"))
        pair_and_link(users["alice"], users["bob"], users["theo"])
        people = {"password": PASSWORD, "tokens": tokens_for(users)}
        db.session.remove()
        db.engine.dispose()
    env = {"COUPLES_SWEEP_INTERVAL": "0.3", "PYTHONUNBUFFERED": "1", **EASY_LOGIN}  # unbuffered: the log is read live
    with ServerProcess(tmp, url, env=env) as server:
        server.people = people
        yield server
