"""Fixtures for the multi-process suite: three `python app.py` processes (eventlet) sharing one
throwaway database on the machine's PostgreSQL and the Redis message queue, the way production
runs behind nginx. Each process has its own port; all of them read one clock-offset file, so a
test moves every process's practice clock together (COUPLES_ENV=test, COUPLES_CLOCK_FILE).
"""
from types import SimpleNamespace

import pytest

from support.people import Api, pair_over_api, sign_up
from support.server import EASY_LOGIN, serve_many
from support.services import postgres_database, redis_database

from .mp_support import PRESENCE_TTL, REDIS_URL, PresencePeer


@pytest.fixture(scope="module")
def mp_database():
    """A throwaway database on the local PostgreSQL, migrated, dropped at the end."""
    with postgres_database("couples_mp_") as url:
        yield url


@pytest.fixture(scope="module")
def redis_queue():
    return redis_database(REDIS_URL)


@pytest.fixture(scope="module")
def cluster(mp_database, redis_queue, tmp_path_factory):
    """Three server processes on one database and one message queue."""
    tmp = tmp_path_factory.mktemp("multiprocess")
    env = {"REDIS_URL": redis_queue, "SECRET_KEY": "mp-shared-secret",
           "COUPLES_PRESENCE_TTL": str(PRESENCE_TTL), **EASY_LOGIN}
    with serve_many(tmp, mp_database, 3, env=env) as procs:
        # one clock file for all three: moving the first process's clock moves them all
        yield SimpleNamespace(procs=procs, db_url=mp_database, clock=procs[0].clock_file, tmp=tmp,
                              shift_clock=lambda seconds: procs[0].shift_clock(seconds=seconds))
    failed = [p for p in procs if "Traceback" in p.output()]
    for p in failed:
        print(f"\n--- {p.name} log (tracebacks) ---\n{p.output()[-4000:]}")


@pytest.fixture
def couple(cluster):
    """Alice (partner a) signs up on server 1, Bob (b) on server 2, Theo (therapist) on server 3;
    they pair, link and consent through the real API, each on their own process, and Alice
    starts a practice session. Nothing is written behind the app's back."""
    s1, s2, s3 = (p.url for p in cluster.procs)
    alice, bob, theo = sign_up(s1, "alice"), sign_up(s2, "bob"), sign_up(s3, "theo")
    pair_over_api(Api(s1, alice.token), Api(s2, bob.token), therapist_email=theo.email)
    session = Api(s1, alice.token).call("POST", "/api/v1/sessions", {})["session"]["id"]
    # Bob asking for "the" session from another process gets the same one, not a second.
    assert Api(s2, bob.token).call("POST", "/api/v1/sessions", {})["session"]["id"] == session
    origin = s1
    peers = SimpleNamespace(
        alice=PresencePeer("alice", "a", alice.token, session, origin),
        bob=PresencePeer("bob", "b", bob.token, session, origin),
        theo=PresencePeer("theo", "therapist", theo.token, session, origin))
    yield SimpleNamespace(session=session, peers=peers, urls=(s1, s2, s3), users=(alice, bob, theo))
    for p in (peers.alice, peers.bob, peers.theo):
        p.close()


