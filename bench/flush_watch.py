"""How long PostgreSQL's commits waited for the disk during a row: sampled, not traced.

A durable commit returns only once its WAL is flushed (fdatasync). On this VM a flush usually
takes a millisecond or two, but now and then it takes hundreds: every commit of that moment waits
for it together (one backend in `WALSync`, the rest queued on the `WALWrite` lock), and the turns
behind them wait for a pooled connection. One such stall inside a window is enough to set a 500-
session row's p99, and the bare relay, which stores nothing, never pays it (docs/benchmarks.md,
tenth pass). So each PostgreSQL row reports the longest flush wait it saw beside its latency.

Sampling pg_stat_activity every 50 ms from the orchestrator (idle while a row runs) costs the
database one small query per sample; a wait shorter than a sample can be missed, a long one not.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, text

# A commit's flush: the backend fsyncing the WAL itself, or waiting for the one that is.
_WAITS = text("""
    SELECT count(*) AS waiting,
           coalesce(max(extract(epoch FROM clock_timestamp() - query_start)), 0) AS oldest_s
    FROM pg_stat_activity
    WHERE datname = :db AND wait_event IN ('WALSync', 'WALWrite')
""")

STALL_S = 0.05  # a commit this long in a flush wait counts as a stall (a normal flush: 1-2 ms)


class FlushWatch:
    """Samples one database's commit-flush waits on a thread until stopped."""

    def __init__(self, admin_url: str, db_name: str, every: float = 0.05):
        self.admin_url, self.db_name, self.every = admin_url, db_name, every
        self.samples: list[tuple[float, int, float]] = []  # (monotonic s, waiting, oldest wait s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flush-watch", daemon=True)
        self.failure = None

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        try:
            with engine.connect() as conn:
                while not self._stop.is_set():
                    t = time.perf_counter()  # the host's monotonic clock, as the bots' samples
                    waiting, oldest = conn.execute(_WAITS, {"db": self.db_name}).one()
                    self.samples.append((t, int(waiting), float(oldest)))
                    self._stop.wait(max(0.0, self.every - (time.perf_counter() - t)))
        except Exception as err:  # noqa: BLE001 - a diagnostic: the row still runs without it
            self.failure = repr(err)[:200]
        finally:
            engine.dispose()

    def summary(self, start: float, end: float) -> dict:
        """The window's figures: its longest flush wait, and how many stalls it held (runs of
        consecutive samples in which some commit had waited STALL_S or more)."""
        inside = [s for s in self.samples if start <= s[0] < end]
        stalls, in_stall = 0, False
        for _t, _waiting, oldest in inside:
            stalled = oldest >= STALL_S
            stalls += stalled and not in_stall
            in_stall = stalled
        return {
            "samples": len(inside),
            "longest_ms": round(1000 * max((s[2] for s in inside), default=0.0), 1),
            "stalls": stalls,
            "most_waiting": max((s[1] for s in inside), default=0),
            "failure": self.failure,
        }
