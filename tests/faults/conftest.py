"""Fixtures for the fault suites: a throwaway PostgreSQL cluster of our own (never the shared
one), a "world" (migrated DB, served process, seeded couple, connected peers), and the count of
duplicated events for the summary lines."""
import os
import random
from collections import Counter

import pytest

from support import checks, pg
from support.server import ServerProcess
from support.services import service_unavailable

SEED = int(os.environ.get("FAULT_SEED", random.randrange(1_000_000)))


@pytest.fixture(scope="session")
def rng_seed():
    print(f"\n[faults] FAULT_SEED={SEED} (set FAULT_SEED to replay)")
    return SEED


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """Our own PostgreSQL 15 cluster on a free port (trust auth), removed at the end."""
    try:
        cluster = pg.Cluster.create(tmp_path_factory.mktemp("pgroot"))
    except Exception as err:  # noqa: BLE001 - no binaries, no postgres user, ...
        service_unavailable("A throwaway PostgreSQL cluster (initdb/pg_ctl)", err)
    yield cluster
    cluster.destroy()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'faults.db'}"


@pytest.fixture
def pg_url(pg_cluster):
    return pg_cluster.new_database()


@pytest.fixture(autouse=True)
def _no_orphans():
    """Whatever a test leaves running (after a failure too): its served processes are stopped."""
    yield
    for server in list(ServerProcess.started):
        server.stop()
    ServerProcess.started.clear()


@pytest.fixture
def count_duplicates():
    """`count_duplicates(log, partners, peers)`: the `events_duplicated=` figure of a summary line."""
    return duplicates


def duplicates(log: checks.Log, partners, peers) -> int:
    """Duplicates of acknowledged events and actions: a step answer applied more than once, a
    client id recorded more than once, a timer fired more than once, an id acknowledged with two
    different seqs, and a seq that reached a peer twice (live twice, or replayed at or below the
    join's last_seq, or twice in one replay). Each is also a violation that `support.checks` or
    the peers' own wire checks report; this only counts them."""
    n = sum(v - 1 for v in Counter((r["data"].get("step_id"), r["data"].get("by")) for r in log.rows
                                   if r["type"] == "step_submitted").values())
    n += sum(v - 1 for v in Counter((a["user_id"], a["client_id"]) for a in log.actions).values())
    n += sum(v - 1 for v in Counter(r["data"].get("step_id") for r in log.rows
                                    if r["type"] == "timer_fired").values())
    for p in partners:
        n += sum(1 for cid, ack in p.ack_history if ack.get("ok") and p.acks[cid].get("ok")
                 and ack["seq"] != p.acks[cid]["seq"])
    for p in peers:
        n += len(p.live_seqs) - len(set(p.live_seqs))
        for last, seqs in p.replays:
            n += len(seqs) - len(set(seqs)) + sum(1 for s in seqs if s <= last)
    return n
