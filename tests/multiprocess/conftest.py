"""Fixtures for the multi-process suite: three `python app.py` processes (eventlet) sharing one
throwaway database on the machine's PostgreSQL and the Redis message queue, the way production
runs behind nginx. Each process has its own port; all of them read one clock-offset file, so a
test moves every process's practice clock together (COUPLES_ENV=test, COUPLES_CLOCK_FILE).
"""
from types import SimpleNamespace

import pytest

from support.people import Api, sign_up
from support.server import EASY_LOGIN, ServerProcess, free_port
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
    clock = tmp / "clock_offset"
    clock.write_text("0")
    ports = [free_port() for _ in range(3)]
    origins = [f"http://127.0.0.1:{p}" for p in ports]
    env = {"REDIS_URL": redis_queue, "SECRET_KEY": "mp-shared-secret",
           "COUPLES_PRESENCE_TTL": str(PRESENCE_TTL), **EASY_LOGIN}
    procs = [ServerProcess(tmp, mp_database, port=p, origins=origins, env=env, name=f"server{i + 1}",
                           clock_file=clock) for i, p in enumerate(ports)]
    try:
        for p in procs:
            p.start()
    except Exception:
        for p in procs:
            p.stop()
        raise
    # one clock file for all three: moving the first process's clock moves them all
    yield SimpleNamespace(procs=procs, db_url=mp_database, clock=clock, tmp=tmp,
                          shift_clock=lambda seconds: procs[0].shift_clock(seconds=seconds))
    for p in procs:
        p.stop()
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
    status = Api(s1, alice.token).call("POST", "/api/v1/couple", {})
    Api(s2, bob.token).call("POST", "/api/v1/couple/join", {"code": status["invitation"]["code"]})
    link = Api(s1, alice.token).call("POST", "/api/v1/couple/therapists", {"email": theo.email})
    Api(s2, bob.token).call("POST", f"/api/v1/couple/therapists/{link['id']}/consent", {})
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


