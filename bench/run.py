"""Benchmark rows: the app (SQLite / PostgreSQL; eventlet, gevent, threading; 1 or 3 processes;
empty or with a million events of history) and the bare relay, under the same load.

    python bench/run.py            # the full run (`make bench`), ~15 minutes
    python bench/run.py --smoke    # a few sessions for a few seconds (`make bench-smoke`)
    python bench/run.py --only pg-gevent-1p,relay-gevent --sessions 200
    python bench/run.py --pairs 8   # the p99 target: the relay and the app at 500 sessions, alternately

Each row: a fresh database (migrated, seeded in bulk), the server process(es) started with
`python app.py` on free loopback ports, then bench/load.py against them, then everything torn down.
Raw samples and a summary go to bench/results/ (git-ignored). The exit status is non-zero only
when a row could not run (or, with --smoke, reported errors), never because of latency numbers.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
HISTORY_EVENTS = 1_000_000
RESUME_MISSED = 1000
TARGET_SESSIONS = 500


@dataclass
class Row:
    name: str
    target: str = "app"  # app | relay
    db: str = "sqlite"  # sqlite | postgresql
    mode: str = "eventlet"
    procs: int = 1
    history: bool = False
    sessions: int | None = None  # None: --sessions (the matrix load)


def full_rows():
    """The matrix at the comparison load (--sessions), then the issue's target load (500 sessions)."""
    rows = []
    for db in ("sqlite", "postgresql"):
        for mode in ("eventlet", "gevent", "threading"):
            rows.append(Row(f"{'pg' if db == 'postgresql' else 'sqlite'}-{mode}-1p", db=db, mode=mode))
    rows.append(Row("pg-gevent-3p", db="postgresql", mode="gevent", procs=3))
    rows.append(Row("pg-eventlet-3p", db="postgresql", mode="eventlet", procs=3))
    rows.append(Row("pg-gevent-1p-history", db="postgresql", mode="gevent", history=True))
    rows.append(Row("sqlite-gevent-1p-history", db="sqlite", mode="gevent", history=True))
    for mode in ("eventlet", "gevent", "threading"):
        rows.append(Row(f"relay-{mode}", target="relay", mode=mode))
    for name, kw in (("relay-gevent", dict(target="relay")), ("relay-eventlet", dict(target="relay", mode="eventlet")),
                     ("pg-gevent-1p", dict(db="postgresql")),
                     ("pg-gevent-3p", dict(db="postgresql", procs=3)),
                     ("pg-eventlet-1p", dict(db="postgresql", mode="eventlet"))):
        kw.setdefault("mode", "gevent")
        rows.append(Row(f"{name}@{TARGET_SESSIONS}", sessions=TARGET_SESSIONS, **kw))
    return rows


PAIRED = ("relay-gevent", "pg-gevent-1p")  # the target's comparison: one process, gevent, PostgreSQL


def paired_rows(n: int):
    """The relay and the app at the target load, alternately, n times. The host's speed changes
    from minute to minute (the same code's p99 was 17 ms in one run and 73 ms eight minutes
    later), so the ratio is taken within each pair, run back to back, never across a session."""
    by = {r.name: r for r in full_rows()}
    return [replace(by[f"{name}@{TARGET_SESSIONS}"], name=f"{name}@{TARGET_SESSIONS}#{i}")
            for i in range(1, n + 1) for name in PAIRED]


def pairs_summary(results: list[dict]) -> str:
    """Each pair's app/relay p99 ratio, their median and how many are within the target's 3x."""
    by = {r["row"]: r for r in results if "row" in r}
    ratios = []
    for name, app in by.items():
        if app["target"] == "app" and "#" in name:
            relay = by.get(name.replace(PAIRED[1], PAIRED[0]))
            if relay and relay["partner"]["p99"] and app["partner"]["p99"] and not relay["error_count"] + app["error_count"]:
                ratios.append(app["partner"]["p99"] / relay["partner"]["p99"])
    if not ratios:
        return "- pairs: no complete pair without errors"
    return (f"- pairs: app/relay p99 {', '.join(f'{x:.2f}x' for x in ratios)}; median "
            f"{statistics.median(ratios):.2f}x; within 3x in {sum(x <= 3 for x in ratios)} of {len(ratios)}")


def smoke_rows():
    """One row per moving part of the matrix: SQLite, PostgreSQL, both async modes, several
    processes on the Redis queue, and the relay."""
    return [Row("sqlite-eventlet-1p", db="sqlite", mode="eventlet"),
            Row("pg-gevent-3p", db="postgresql", mode="gevent", procs=3),
            Row("relay-eventlet", target="relay", mode="eventlet")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not listen within {timeout}s")


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def flush_redis(url: str) -> None:
    import redis
    redis.Redis.from_url(url).flushdb()


class Database:
    """A fresh, migrated database for one row; dropped (or deleted) afterwards."""

    def __init__(self, kind: str, name: str):
        self.kind, self.name = kind, name

    def __enter__(self):
        from bench import seed
        if self.kind == "postgresql":
            self.url = seed.create_pg_database(PG_ADMIN_URL)
        else:
            d = RESULTS / "db"
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{self.name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            self.url = f"sqlite:///{path}"
        seed.migrate(self.url)
        return self

    def __exit__(self, *exc):
        from bench import seed
        if self.kind == "postgresql":
            seed.drop_pg_database(PG_ADMIN_URL, self.url)
        else:
            path = Path(self.url[len("sqlite:///"):])
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)


def seed_app(url: str):
    from couples import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "ASYNC_MODE": "threading", "REDIS_URL": None,
                       "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True})


def prepare(row: Row, url: str, sessions: int) -> dict:
    """Seed the row's couples (and history); returns the sessions part of the plan."""
    from bench import seed
    app = seed_app(url)
    t0 = time.perf_counter()
    couples = seed.seed_couples(app, sessions + 1)
    resume_couple, couples = couples[-1], couples[:-1]
    # The resume probe: a live session already RESUME_MISSED + 200 events long.
    seed.preload_events(app, [resume_couple["session_pk"]], RESUME_MISSED + 200)
    info = {"seed_s": round(time.perf_counter() - t0, 1)}
    if row.history:
        t1 = time.perf_counter()
        owner = seed.seed_couples(app, 1, tag="h", with_session=False)[0]
        fillers = seed.filler_sessions(app, owner["couple_id"], owner["user_ids"]["a"], 1000)
        n = seed.preload_events(app, fillers, HISTORY_EVENTS // len(fillers))
        info.update(history_events=n, history_load_s=round(time.perf_counter() - t1, 1))
    with app.app_context():
        from couples.extensions import db
        db.engine.dispose()
    return {"couples": couples, "resume": resume_couple, **info}


def start_servers(row: Row, url: str | None, log_dir: Path):
    ports = [free_port() for _ in range(row.procs)]
    origins = ",".join(f"http://127.0.0.1:{p}" for p in ports)
    procs = []
    for i, port in enumerate(ports):
        env = dict(os.environ, COUPLES_ASYNC_MODE=row.mode, HOST="127.0.0.1", PORT=str(port),
                   COUPLES_ALLOWED_ORIGINS=origins, SECRET_KEY="bench-secret-" + row.name,
                   COUPLES_ENV="development", PYTHONWARNINGS="ignore", COUPLES_LOGIN_RATE_LIMIT="100000 per minute",
                   # every simulated person connects from 127.0.0.1
                   COUPLES_SOCKET_CONNECTS_PER_ADDRESS="10000000 per minute")
        env.pop("REDIS_URL", None)
        if url:
            env["DATABASE_URL"] = url
        if row.procs > 1:
            env["REDIS_URL"] = REDIS_URL
        script = "app.py" if row.target == "app" else "bench/relay.py"
        log = open(log_dir / f"{row.name}-{i}.log", "w")
        procs.append(subprocess.Popen([PY, script], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        for port, p in zip(ports, procs):
            wait_port(port, p)
    except Exception:
        stop(procs)
        raise
    return ports, procs


def plan_for(row: Row, ports, prepared: dict | None, sessions: int) -> dict:
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    roles = ("a", "b", "therapist")
    plan = {"target": row.target, "label": row.name, "origin": urls[0], "sessions": []}
    for i in range(sessions):
        if row.target == "relay":
            clients = {r: {"url": urls[0]} for r in roles}
            sid = f"room-{i}"
        else:
            c = prepared["couples"][i]
            # partner A on one process, B on the next, the therapist on the third
            clients = {r: {"url": urls[(i + k) % len(urls)], "token": c["tokens"][r]} for k, r in enumerate(roles)}
            sid = c["session_public_id"]
        plan["sessions"].append({"session_id": sid, "clients": clients})
    if row.target == "app":
        rc = prepared["resume"]
        plan["resume"] = {"session_id": rc["session_public_id"], "url": urls[-1], "token": rc["tokens"]["b"],
                          "last_seq": 200, "expect": RESUME_MISSED}
    return plan


def host_speed_ms(repeats: int = 5) -> float:
    """The best of a few timings of a fixed pure-Python loop (ms), taken just before a row: this
    VM's speed changes from hour to hour (other guests on its host), and every figure with it.
    Compare rows by their ratio to the relay, or by this."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i
        best = min(best, time.perf_counter() - t)
    return round(best * 1000, 1)


def run_row(row: Row, args, log_dir: Path) -> dict:
    sessions = row.sessions or args.sessions
    speed = host_speed_ms()
    print(f"== {row.name}: {sessions} sessions x 3 connections, pace {args.pace}s, "
          f"{args.duration}s measured", flush=True)
    db_ctx = Database(row.db, row.name) if row.target == "app" else None
    prepared = None
    try:
        url = None
        if db_ctx:
            url = db_ctx.__enter__().url
            prepared = prepare(row, url, sessions)
        if row.procs > 1:
            flush_redis(REDIS_URL)
        ports, procs = start_servers(row, url, log_dir)
        try:
            plan = plan_for(row, ports, prepared, sessions)
            plan["server_pids"] = [p.pid for p in procs]
            plan_path = RESULTS / f"plan-{row.name}.json"
            plan_path.write_text(json.dumps(plan))
            out = RESULTS / f"raw-{row.name}.json"
            cmd = [PY, str(ROOT / "bench" / "load.py"), "--plan", str(plan_path), "--out", str(out),
                   "--pace", str(args.pace), "--warmup", str(args.warmup), "--duration", str(args.duration)]
            if row.name in args.profile:
                cmd += ["--profile-out", str(RESULTS / f"profile-{row.name}.json")]
            budget = args.warmup + args.duration + 300
            from bench.flush_watch import FlushWatch
            watch = FlushWatch(PG_ADMIN_URL, url.rsplit("/", 1)[1]) if row.db == "postgresql" and url else None
            with watch or contextlib.nullcontext():
                done = subprocess.run(cmd, cwd=ROOT, timeout=budget)
            if done.returncode != 0 or not out.exists():
                raise RuntimeError(f"load generator exited with {done.returncode}")
            result = json.loads(out.read_text())
            if watch:  # the turns submitted in the window, and the second after it they may wait into
                start = result["raw"]["window_start_monotonic_s"]
                result["commit_flush"] = watch.summary(start, start + args.duration + 1)
            crashed = [p.pid for p in procs if p.poll() is not None]
            if crashed:
                result.setdefault("errors", {})["server_exited"] = len(crashed)
                result["error_count"] = result.get("error_count", 0) + len(crashed)
        finally:
            stop(procs)
        result.update(row=row.name, db=row.db if row.target == "app" else None, mode=row.mode,
                      procs=row.procs, history=row.history, host_speed_ms=speed)
        if prepared:
            result.update({k: v for k, v in prepared.items() if k not in ("couples", "resume")})
        return result
    finally:
        if db_ctx:
            db_ctx.__exit__(None, None, None)


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def flush(r: dict) -> str:
    f = r.get("commit_flush")
    if not f:
        return "-"
    if f.get("failure") and not f.get("samples"):
        return "not sampled"
    return f"{fmt(f['longest_ms'], 0)} ({f['stalls']})"


def table(results: list[dict]) -> str:
    by = {r["row"]: r for r in results if "row" in r}
    lines = ["| row | conns | turns/s (acked / offered) | partner p50 / p95 / p99 / max ms | "
             "observer p50 / p95 / p99 / max ms | errors | RSS KB/conn | server CPU % | PostgreSQL CPU % | "
             "slowest commit flush ms (stalls) | "
             "server waiting for a CPU % | host steal % | host loop ms | app/relay p50, p99 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "row" not in r:
            lines.append(f"| {r.get('name')} | FAILED: {r.get('failure', '')[:80]} ||||||||||||")
            continue
        p, o = r["partner"], r["observer"]
        ratio = "-"
        at = r["row"].partition("@")[2]
        relay = by.get(f"relay-{r['mode']}" + (f"@{at}" if at else ""))
        if r["target"] == "app" and relay and relay["partner"]["p50"] and p["p50"]:
            ratio = f"{p['p50'] / relay['partner']['p50']:.2f}x, {p['p99'] / relay['partner']['p99']:.2f}x"
        lines.append(
            f"| {r['row']} | {r['connections']} | {fmt(r['acked_turns_per_s'])} / {fmt(r['expected_turns_per_s'])} | "
            f"{fmt(p['p50'])} / {fmt(p['p95'])} / {fmt(p['p99'])} / {fmt(p['max'])} | "
            f"{fmt(o['p50'])} / {fmt(o['p95'])} / {fmt(o['p99'])} / {fmt(o['max'])} | "
            f"{r['error_count']} | {fmt(r['server_rss_kb_per_connection'], 0)} | {fmt(r['server_cpu_percent'], 0)} | "
            f"{fmt(r.get('postgres_cpu_percent'), 0) if r.get('db') == 'postgresql' else '-'} | {flush(r)} | "
            f"{fmt(r.get('server_run_queue_wait_percent'), 0)} | {fmt((r.get('host_cpu_percent') or {}).get('steal'), 1)} | {fmt(r.get('host_speed_ms'))} | {ratio} |")
    extra = []
    for r in results:
        if r.get("resume"):
            rs = r["resume"]
            extra.append(f"- {r['row']}: resume after {rs['expected_events']} missed events: join "
                         f"{fmt(rs['join_ms_median'])} ms median (max {fmt(rs['join_ms_max'])}), connect+join "
                         f"{fmt(rs['connect_join_ms_median'])} ms; events returned {rs['events_received']}")
    for name, r in by.items():
        if r.get("history"):
            base = by.get(name.replace("-history", ""))
            if base and base["partner"]["p99"]:
                extra.append(f"- {name}: history/empty p50 {r['partner']['p50'] / base['partner']['p50']:.2f}x, "
                             f"p99 {r['partner']['p99'] / base['partner']['p99']:.2f}x "
                             f"({r.get('history_events')} events pre-loaded in {r.get('history_load_s')} s)")
    return "\n".join(lines + [""] + extra)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run benchmark rows")
    ap.add_argument("--smoke", action="store_true", help="a few sessions for a few seconds")
    ap.add_argument("--only", default="", help="comma-separated row names")
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--pace", type=float)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--profile", default="", help="comma-separated rows to record with py-spy")
    ap.add_argument("--pairs", type=int, default=0, help="the p99 target's check: N alternating pairs of "
                    "relay-gevent@500 and pg-gevent-1p@500")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)
    rows = smoke_rows() if args.smoke else full_rows()
    if args.list:
        print("\n".join(r.name for r in full_rows()))
        return 0
    if args.pairs:
        rows = paired_rows(args.pairs)
    elif args.only:
        wanted = args.only.split(",")
        rows = [r for r in full_rows() + smoke_rows() if r.name in wanted]
        rows = list({r.name: r for r in rows}.values())
    args.sessions = args.sessions or (3 if args.smoke else 50)
    # The smoke run is short, so its bots move faster: it must complete real turns to mean anything.
    args.pace = args.pace or (0.5 if args.smoke else 2.0)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.smoke else 5)
    # A pair's window is 60 s: a shorter one may miss the once-a-minute events a person's minute holds.
    args.duration = min(args.duration if args.duration is not None else (5 if args.smoke else 60 if args.pairs else 20), 300)
    args.profile = [p for p in args.profile.split(",") if p]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = RESULTS / "logs" / stamp
    log_dir.mkdir(parents=True, exist_ok=True)
    results, failed = [], False
    for row in rows:
        try:
            r = run_row(row, args, log_dir)
            r.pop("raw", None)
            print(json.dumps({k: r[k] for k in ("row", "acked_turns_per_s", "partner", "observer", "error_count",
                                                "errors", "server_rss_kb_per_connection", "resume") if k in r}),
                  flush=True)
            # The full run reports errors, never fails on them. The smoke run fails on an error,
            # and on a run that measured no turn at all (a harness that silently does nothing).
            failed |= args.smoke and (r["error_count"] > 0 or not (r.get("partner") or {}).get("n"))
            # ... and on a PostgreSQL row whose commit flushes went unwatched.
            failed |= args.smoke and r.get("db") == "postgresql" and not (r.get("commit_flush") or {}).get("samples")
            results.append(r)
        except Exception as err:  # noqa: BLE001 - report the row and go on to the next
            print(f"!! {row.name} failed: {err!r} (server logs in {log_dir})", flush=True)
            results.append({"name": row.name, "failure": repr(err)})
            failed = True
    summary = RESULTS / f"summary-{'smoke-' if args.smoke else ''}{stamp}.json"
    summary.write_text(json.dumps({"args": {k: v for k, v in vars(args).items()}, "results": results}, indent=1))
    md = table(results) + ("\n" + pairs_summary(results) if args.pairs else "")
    (summary.with_suffix(".md")).write_text(md + "\n")
    print(md)
    print(f"summary: {summary}")
    if not args.smoke:
        shutil.rmtree(RESULTS / "db", ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
