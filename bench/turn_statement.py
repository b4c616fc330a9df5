"""The joined turn's one PostgreSQL statement, as built now from couples/access.py, against the
hand-written statement it replaced (6cfaf1f's couples/practice.py, read from git history): both
prepared, run alternately on the same rows, each in a transaction rolled back, so each run claims
the same session version. Prints the median and p90 round trip of each and their plans' sizes.

    python bench/turn_statement.py [--runs 5000]

It uses a throwaway PostgreSQL database (as bench/run.py) and one real turn through the socket
handlers to get the statement's parameters. Run it with nothing else going on.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from bench import seed  # noqa: E402
from bench.run import PG_ADMIN_URL, seed_app  # noqa: E402
from couples.perf.prepared import Prepared  # noqa: E402

BEFORE = "6cfaf1f"


def old_statement() -> str:
    """The joined turn (not ending the session) as 6cfaf1f wrote it, with pyformat binds."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:couples/practice.py"],
                         capture_output=True, text=True, check=True).stdout
    ns: dict = {}
    exec(src[src.index('_APPEND_PG = """'):src.index("# Typed where PostgreSQL")], ns)
    sql = ns["_APPEND_PG"].format(ended="", **ns["_APPEND_JOINED"])
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)


def prepare(cur, name, sql) -> str:
    """PREPARE `sql` (pyformat binds) as `name`; returns the EXECUTE text, pyformat again."""
    keys: list = []

    def number(m):
        if m.group(1) not in keys:
            keys.append(m.group(1))
        return f"${keys.index(m.group(1)) + 1}"
    cur.execute(f"PREPARE {name} AS " + re.sub(r"%\((\w+)\)s", number, sql))
    return f"EXECUTE {name} (" + ", ".join(f"%({k})s" for k in keys) + ")"


def compare(url, sql, params, runs):
    old_params = {k[2:] if k.startswith("p_") else k: v for k, v in params.items()}
    conn = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
    cur = conn.cursor()
    statements = {"now": (prepare(cur, "t_now", sql), params),
                  BEFORE: (prepare(cur, "t_before", old_statement()), old_params)}
    conn.commit()
    times: dict = {k: [] for k in statements}
    for name, (execute, p) in statements.items():
        cur.execute(execute, p)
        assert cur.fetchone()[0] == 1, f"{name}: the turn was not claimed"
        conn.rollback()
    for _ in range(runs):
        for name, (execute, p) in statements.items():
            t = time.perf_counter()
            cur.execute(execute, p)
            cur.fetchall()
            times[name].append(time.perf_counter() - t)
            conn.rollback()
    for name, (execute, p) in statements.items():
        cur.execute("EXPLAIN (ANALYZE, TIMING OFF) " + execute, p)
        lines = len(cur.fetchall())
        conn.rollback()
        v = sorted(times[name])
        print(f"{name:8s} median {statistics.median(v) * 1e3:.3f} ms  p90 {v[int(len(v) * .9)] * 1e3:.3f} ms"
              f"  ({lines} plan lines, {runs} runs)")
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5000)
    args = ap.parse_args()
    url = seed.create_pg_database(PG_ADMIN_URL)
    run_alone, done = Prepared.run_alone, []

    def measured(self, engine, params, all_rows=False):
        # The first joined turn, measured before it runs: the socket is still in the room.
        if self.name == "couples_turn" and not done:
            compiled = self.statement.compile(dialect=postgresql.dialect())
            compare(url, str(compiled), {**compiled.params, **params}, args.runs)
            done.append(True)
        return run_alone(self, engine, params, all_rows)
    Prepared.run_alone = measured
    try:
        seed.migrate(url)
        app = seed_app(url)
        from bench.query_cost import per_turn
        per_turn(app, seed.seed_couples(app, 3)[0], turns=3)
        assert done, "no joined turn ran"
    finally:
        Prepared.run_alone = run_alone
        seed.drop_pg_database(PG_ADMIN_URL, url)


if __name__ == "__main__":
    main()
