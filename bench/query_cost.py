"""Where the app's time per turn goes, in SQL statements: one partner's turn through the real
socket handlers (Flask-SocketIO's in-process test client), and one sweeper pass with N sockets.
With `--cpu`, also the CPU each costs, in this process and in PostgreSQL's: per turn, per
heartbeat, and per sweeper pass with 1,500 sockets (figures that hold still where a served
benchmark's swing by a third from run to run).

    python bench/query_cost.py [--db postgresql|sqlite] [--connections 150,1500] [--cpu]

It needs no server process. It uses a throwaway database, like bench/run.py. The CPU figures
include the test client's own packet handling, run one event at a time with the collector off
(its pauses land on whichever event allocates), and count every PostgreSQL process on the
machine: run them with nothing else going on.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert  # noqa: E402

from bench import seed  # noqa: E402
from bench.run import PG_ADMIN_URL, RESULTS  # noqa: E402


class Counter:
    """Statements run through SQLAlchemy, and those run straight through the driver
    (Prepared.run_alone: a joined partner's turn, a heartbeat), which SQLAlchemy never sees."""

    def __init__(self, engine):
        from couples.perf.prepared import Prepared
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)
        if not getattr(Prepared.run_alone, "counted", False):
            run_alone = Prepared.run_alone

            def counted(prepared, *args, **kwargs):
                Counter.alone += 1
                return run_alone(prepared, *args, **kwargs)
            counted.counted = True
            Prepared.run_alone = counted
        self.alone_at_reset = Counter.alone

    alone = 0  # run_alone calls, all engines

    @property
    def total(self):
        return self.n + Counter.alone - self.alone_at_reset

    def reset(self):
        self.n, self.alone_at_reset = 0, Counter.alone

    def _count(self, *args, **kwargs):
        self.n += 1


def per_turn(app, couple, turns=20):
    """Statements per 'action' (and per 'join'): a partner answering through the real handlers."""
    from couples.extensions import db, socketio
    with app.app_context():
        counter = Counter(db.engine)
    clients = {r: socketio.test_client(app, auth={"token": couple["tokens"][r]}) for r in ("a", "b", "therapist")}
    sid = couple["session_public_id"]
    counter.reset()
    for c in clients.values():
        assert c.emit("join", {"session_id": sid, "last_seq": 0}, callback=True)["ok"]
    join_cost = counter.total / 3
    from bench.load import next_action
    import datetime as dt
    today = dt.date.today().isoformat()
    views = {}

    def refresh():
        for r, c in clients.items():
            for msg in c.get_received():
                if msg["name"] == "update" and "view" in msg["args"][0]:
                    views[r] = msg["args"][0]["view"]

    refresh()
    for r, c in clients.items():
        views.setdefault(r, c.emit("join", {"session_id": sid, "last_seq": 0}, callback=True)["snapshot"]["view"])
    samples, last = [], "b"
    for _ in range(turns):
        refresh()
        options = [(r, next_action(views.get(r), ["greeting"], today)) for r in ("a", "b")]
        options = [o for o in options if o[1]]
        options.sort(key=lambda o: o[0] == last)
        role, (kind, step, data) = options[0]
        last = role
        counter.reset()
        t0 = time.perf_counter()
        ack = clients[role].emit("action", {"session_id": sid, "id": secrets.token_hex(8), "kind": kind,
                                           "step": step, "data": data}, callback=True)
        samples.append((kind, counter.total, (time.perf_counter() - t0) * 1000, ack.get("ok")))
    for c in clients.values():
        c.disconnect()
    return join_cost, samples


def sweep(app, couples, process="bench-proc"):
    """One sweeper pass's cost with a socket row for each partner and therapist of `couples`."""
    from couples.room import presence
    from couples.extensions import db
    from couples.models import AuthSession, Connection, utcnow
    with app.app_context():
        rows = []
        logins = {a.user_id: a.id for a in db.session.query(AuthSession).all()}
        for c in couples:
            for role, uid in c["user_ids"].items():
                rows.append({"sid": secrets.token_hex(10), "user_id": uid, "auth_session_id": logins[uid],
                             "session_id": c["session_pk"], "role": role, "process": process,
                             "connected_at": utcnow(), "last_seen_at": utcnow()})
        db.session.execute(insert(Connection), rows)
        db.session.commit()
        counter = Counter(db.engine)
        t0 = time.perf_counter()
        lost = presence.lost_connections(process)
        elapsed = time.perf_counter() - t0
        statements = counter.total
        db.session.execute(Connection.__table__.delete())
        db.session.commit()
    return len(rows), statements, elapsed * 1000, len(lost)


def postgres_cpu_s() -> float:
    """CPU seconds used so far by every PostgreSQL process on this machine (Linux /proc)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if not open(f"/proc/{pid}/cmdline").read().startswith("postgres"):
                continue
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_costs(app, couples, turns=1000, heartbeats=2000, passes=100):
    """ms of CPU per turn, per heartbeat and per sweeper pass: (this process, PostgreSQL)."""
    from bench.load import EXERCISES, next_action
    from couples.room import presence, sweeper
    from couples.extensions import db, socketio
    from couples.models import AuthSession, Connection, utcnow
    app.config["SOCKET_RATE_LIMIT"] = False  # one socket sends far faster than a person here
    today = dt.date.today().isoformat()
    rooms = []
    for couple in couples[:20]:
        clients = {r: socketio.test_client(app, auth={"token": couple["tokens"][r]}) for r in ("a", "b", "therapist")}
        views = {r: c.emit("join", {"session_id": couple["session_public_id"], "last_seq": 0},
                           callback=True)["snapshot"]["view"] for r, c in clients.items()}
        rooms.append({"clients": clients, "sid": couple["session_public_id"], "views": views, "last": "b"})

    def next_turn(room):
        for r, c in room["clients"].items():
            for msg in c.get_received():
                if msg["name"] == "update" and "view" in msg["args"][0]:
                    room["views"][r] = msg["args"][0]["view"]
        options = [(r, next_action(room["views"].get(r), list(EXERCISES), today)) for r in ("a", "b")]
        role, (kind, step, data) = sorted((o for o in options if o[1]), key=lambda o: o[0] == room["last"])[0]
        room["last"] = role
        return room["clients"][role], {"session_id": room["sid"], "id": secrets.token_hex(8), "kind": kind,
                                       "step": step, "data": data}

    def measure(n, one):
        for i in range(min(n, 100)):  # warm: lazily built statements and caches
            one(i)
        gc.collect()
        gc.disable()
        try:
            pg, cpu = postgres_cpu_s(), time.process_time()
            for i in range(n):
                one(i)
            return (time.process_time() - cpu) / n * 1000, (postgres_cpu_s() - pg) / n * 1000
        finally:
            gc.enable()

    def turn(i):
        client, payload = next_turn(rooms[i % len(rooms)])
        ack = client.emit("action", payload, callback=True)
        assert ack["ok"], (payload, ack)

    def heartbeat(i):
        room = rooms[i % len(rooms)]
        assert room["clients"]["a"].emit("heartbeat", {"session_id": room["sid"]}, callback=True)["ok"]

    out = {"turn": measure(turns, turn), "heartbeat": measure(heartbeats, heartbeat)}
    with app.app_context():
        logins = {a.user_id: a.id for a in db.session.query(AuthSession).all()}
        rows = [{"sid": secrets.token_hex(10), "user_id": uid, "auth_session_id": logins[uid],
                 "session_id": c["session_pk"], "role": role, "process": presence.PROCESS,
                 "connected_at": utcnow(), "last_seen_at": utcnow()}
                for c in couples[20:520] for role, uid in c["user_ids"].items()]
        db.session.execute(insert(Connection), rows)
        db.session.commit()
        out[f"sweeper pass, {len(rows)} sockets"] = measure(passes, lambda i: sweeper.sweep_once(leases=False))
        db.session.execute(Connection.__table__.delete().where(Connection.process == presence.PROCESS))
        db.session.commit()
    for c in (c for room in rooms for c in room["clients"].values()):
        c.disconnect()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql")
    ap.add_argument("--connections", default="150,1500")
    ap.add_argument("--cpu", action="store_true", help="also CPU per turn, heartbeat and sweeper pass")
    args = ap.parse_args()
    from bench.run import seed_app
    if args.db == "postgresql":
        url = seed.create_pg_database(PG_ADMIN_URL)
    else:
        (RESULTS / "db").mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{RESULTS / 'db' / 'query_cost.db'}"
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
    try:
        seed.migrate(url)
        app = seed_app(url)
        counts = [int(x) for x in args.connections.split(",")]
        couples = seed.seed_couples(app, max(max(counts) // 3, 520 if args.cpu else 0))
        join_cost, turns = per_turn(app, couples[0])
        print(f"join: {join_cost:.0f} statements per client")
        print("turns (kind, statements, ms in-process, ok):")
        for t in turns:
            print(f"  {t[0]:15s} {t[1]:3d} statements {t[2]:6.1f} ms ok={t[3]}")
        subs = [t for t in turns if t[0] == "submit"]
        if subs:
            print(f"submit: median {sorted(s[1] for s in subs)[len(subs) // 2]} statements, "
                  f"{sorted(s[2] for s in subs)[len(subs) // 2]:.1f} ms")
        for n in counts:
            conns, statements, ms, lost = sweep(app, couples[: n // 3])
            print(f"sweeper lost_connections with {conns} sockets: {statements} statements, {ms:.0f} ms "
                  f"per pass (every COUPLES_SWEEP_INTERVAL=0.5 s), {lost} lost")
        if args.cpu:
            print("CPU, ms per event (this process incl. the test client; every PostgreSQL process):")
            for what, (mine, pg) in cpu_costs(app, couples[1:]).items():
                print(f"  {what:32s} server {mine:6.3f}   postgresql {pg:6.3f}")
    finally:
        if args.db == "postgresql":
            seed.drop_pg_database(PG_ADMIN_URL, url)


if __name__ == "__main__":
    main()
