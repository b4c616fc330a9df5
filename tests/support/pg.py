"""A throwaway PostgreSQL cluster: initdb as the postgres user into a directory of our own,
pg_ctl start on a free port (trust auth, loopback only), stop and remove at the end. Never the
machine's shared cluster, which other suites use at the same time."""
import glob
import os
import pwd
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from .server import free_port


def _bin(name):
    found = sorted(glob.glob(os.path.join(os.environ.get("FAULT_PG_BINDIR", "/usr/lib/postgresql/*/bin"), name)))
    if not found:
        raise FileNotFoundError(f"no PostgreSQL {name} under /usr/lib/postgresql/*/bin")
    return found[-1]


class Cluster:
    def __init__(self, root: Path, port: int):
        self.root, self.port = root, port
        self.data = root / "data"
        self.logfile = root / "pg.log"
        self.user = "postgres"

    @classmethod
    def create(cls, tmp: Path) -> "Cluster":
        # /tmp keeps the path short and readable by the postgres user (pytest's tmp may not be).
        root = Path("/tmp/couples-faults-pg") / uuid.uuid4().hex[:8]
        root.mkdir(parents=True)
        pw = pwd.getpwnam("postgres")
        for p in (root.parent, root):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        self = cls(root, free_port())
        try:
            self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        except Exception:
            shutil.rmtree(root, ignore_errors=True)
            raise
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                    "fsync = on\nsynchronous_commit = on\nmax_connections = 200\n")
        self.start()
        return self

    def _run(self, *args, check=True, timeout=60):
        return subprocess.run(["runuser", "-u", self.user, "--", *args], check=check, timeout=timeout,
                              capture_output=True, text=True)

    def start(self):
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "30", "start")

    def stop(self, mode="fast"):
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False)

    def restart(self, mode="fast", down_for=0.0):
        self.stop(mode)
        time.sleep(down_for)
        self.start()

    def url(self, db="postgres", port=None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port or self.port}/{db}"

    def new_database(self) -> str:
        name = "faults_" + uuid.uuid4().hex[:10]
        self._run(_bin("psql"), "-h", "127.0.0.1", "-p",
                  str(self.port), "-U", "postgres", "-d", "postgres", "-c", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
