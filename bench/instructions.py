"""Instructions per turn, counted by callgrind: one partner's turn through the real socket
handlers in-process (as bench/query_cost.py runs it), for this tree or for git revisions.

Seconds move with the host (the same code measures a third apart from one run to the next here);
callgrind counts the instructions the process executes, which repeat to 0.1 %, so two revisions
compare exactly. The count covers this process only (the app's handlers, and the test client's
own packet handling, which grows with the payload), not PostgreSQL's.

    python bench/instructions.py                       # this tree
    python bench/instructions.py --rev ab3bf7c --rev HEAD --turns 300

Each revision runs from a temporary git worktree with this tree's virtualenv. It needs valgrind
(Debian's package) and the local PostgreSQL, and takes about half a minute a revision.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_TURNS = 200  # lazily built statements, caches and the first prepares, before counting


def worker(turns: int) -> None:
    """In the tree in the current directory: set up 20 rooms, warm up, then count `turns` turns
    (callgrind's instrumentation is switched on and off around them by the parent)."""
    import datetime as dt
    import secrets
    sys.path.insert(0, os.getcwd())
    from bench import seed
    from bench.run import PG_ADMIN_URL, seed_app
    url = seed.create_pg_database(PG_ADMIN_URL)
    try:
        seed.migrate(url)
        app = seed_app(url)
        from bench.load import EXERCISES, next_action
        from couples.extensions import socketio
        app.config["SOCKET_RATE_LIMIT"] = False
        today = dt.date.today().isoformat()
        rooms = []
        for couple in seed.seed_couples(app, 21)[1:]:
            clients = {r: socketio.test_client(app, auth={"token": couple["tokens"][r]})
                       for r in ("a", "b", "therapist")}
            views = {r: c.emit("join", {"session_id": couple["session_public_id"], "last_seq": 0},
                               callback=True)["snapshot"]["view"] for r, c in clients.items()}
            rooms.append({"clients": clients, "sid": couple["session_public_id"], "views": views, "last": "b"})

        # As bench/query_cost.cpu_costs plays a turn, written out here because this worker also
        # runs against older revisions, whose query_cost has no such function to import.
        def turn(i):
            room = rooms[i % len(rooms)]
            for r, c in room["clients"].items():
                for msg in c.get_received():
                    if msg["name"] == "update" and "view" in msg["args"][0]:
                        room["views"][r] = msg["args"][0]["view"]
            options = [(r, next_action(room["views"].get(r), list(EXERCISES), today)) for r in ("a", "b")]
            role, (kind, step, data) = sorted((o for o in options if o[1]), key=lambda o: o[0] == room["last"])[0]
            room["last"] = role
            ack = room["clients"][role].emit("action", {"session_id": room["sid"], "id": secrets.token_hex(8),
                                                        "kind": kind, "step": step, "data": data}, callback=True)
            assert ack["ok"], ack

        for i in range(WARM_TURNS):
            turn(i)
        print("ready", flush=True)
        sys.stdin.readline()  # the parent has switched the instrumentation on
        for i in range(turns):
            turn(WARM_TURNS + i)
        print("done", flush=True)
        sys.stdin.readline()
    finally:
        seed.drop_pg_database(PG_ADMIN_URL, url)


def count(tree: Path, turns: int) -> int:
    """Instructions the worker executed for `turns` turns in `tree`."""
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
             sys.executable, str(ROOT / "bench" / "instructions.py"), "--worker", str(turns)],
            cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

        def expect(word):
            line = proc.stdout.readline()
            if line.strip() != word:
                proc.kill()
                raise SystemExit(f"{tree}: the worker stopped ({line.strip() or 'no output'})")

        def control(*args):
            subprocess.run(["callgrind_control", *args, str(proc.pid)], check=True, capture_output=True)

        expect("ready")
        control("-i", "on")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        expect("done")
        control("-i", "off")
        control("-d")
        proc.stdin.write("end\n")
        proc.stdin.close()
        proc.wait()
        total = 0
        for f in Path(out).glob("cg.*"):
            for line in f.read_text(errors="replace").splitlines():
                if line.startswith("totals:"):  # a dump's "summary:" can read 0
                    total += int(line.split()[1])
                    break
        return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", action="append", default=[], help="a git revision (repeatable); default: this tree")
    ap.add_argument("--turns", type=int, default=300)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        return worker(args.worker)
    for rev in args.rev or [None]:
        started = time.monotonic()
        if rev is None:
            n, label = count(ROOT, args.turns), "this tree"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                tree = Path(tmp) / "tree"
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                               check=True, capture_output=True)
                try:
                    n, label = count(tree, args.turns), rev
                finally:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                                   capture_output=True)
        print(f"{label:12s} {n / args.turns / 1e6:.3f} M instructions per turn "
              f"({args.turns} turns, {time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
