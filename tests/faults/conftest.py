"""Fixtures for the fault suites: a throwaway PostgreSQL cluster of our own (never the shared
one), and a "world" (migrated DB, served process, seeded couple, connected peers)."""
import os
import random

import pytest

from support import pg
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
