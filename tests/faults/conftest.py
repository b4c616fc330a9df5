"""Fixtures for the fault suites: a throwaway PostgreSQL cluster of our own (never the shared
one), and a "world" (migrated DB, served process, seeded couple, connected peers)."""
import os
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (for tests/support)

from support import pg  # noqa: E402
from support.server import ServerProcess  # noqa: E402

SEED = int(os.environ.get("FAULT_SEED", random.randrange(1_000_000)))


def service_unavailable(what, err):
    """tests/conftest.py's rule: skip on a laptop, fail with REQUIRE_SERVICES=1."""
    root = Path(__file__).resolve().parents[1] / "conftest.py"
    for mod in list(sys.modules.values()):
        if getattr(mod, "__file__", None) and Path(mod.__file__).resolve() == root:
            return mod.service_unavailable(what, err)
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is not reachable: {err} (REQUIRE_SERVICES=1: this suite may not skip)")
    pytest.skip(f"{what} is not reachable: {err}")


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
