"""Load generator: S live sessions (two partners and an observer each) driven by asyncio clients.

Each session's partners take turns through real exercises (greeting, needs) at a set pace: every
`pace / 2` seconds the partner whose turn it is answers, so each partner acts once per `pace`
seconds. The answers are filled in from the `input` description of the partner's own view, so the
bot follows whatever steps the engine declares. Against the relay the partners simply alternate.

Latency of a turn = from just before `action` is sent to the first moment the partner's (and the
observer's) client has received an event with seq >= the acknowledged seq. Sender, partner and
observer live in this one process, so they share one monotonic clock. Raw samples are kept.

    python bench/load.py --plan PLAN.json --out RESULT.json [--pace 2 --warmup 3 --duration 20]

PLAN.json: {"target": "app"|"relay", "origin": "http://127.0.0.1:5000",
            "sessions": [{"session_id": ..., "clients": {"a"|"b"|"therapist": {"url", "token"}}}],
            "resume": {"session_id", "url", "token", "last_seq", "expect"} (optional),
            "server_pids": [...]}
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import resource
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import orjson
import psutil
import socketio
import uvloop

EXERCISES = ("greeting", "needs")
ROLES = ("a", "b", "therapist")


class Stats:
    """Raw samples and error counts; only turns submitted inside the window are sampled."""

    def __init__(self):
        self.window = (float("inf"), float("inf"))
        self.partner, self.observer, self.ack = [], [], []
        self.when = []  # submit time (s into the window) of each partner sample
        self.acked = 0
        self.errors = Counter()
        self.error_examples = []

    def measuring(self, t):
        return self.window[0] <= t < self.window[1]

    def error(self, kind, detail=""):
        self.errors[kind] += 1
        if len(self.error_examples) < 20:
            self.error_examples.append(f"{kind}: {detail}"[:300])


def turn_key(ev):
    """What identifies one partner's turn in an event a viewer receives, or None.

    The app numbers each viewer's log separately (a private event moves one viewer's seq, not
    another's), so turns are matched by (step_id, by) of `step_submitted`; the relay echoes the
    client's action id."""
    if ev.get("type") == "step_submitted" and isinstance(ev.get("data"), dict):
        return ("step", ev["data"].get("step_id"), ev["data"].get("by"))
    if ev.get("id"):
        return ("id", ev["id"])
    return None


class PacketJSON:
    """orjson for the bots' Socket.IO packets. With the standard library, decoding what the server
    sends was about 8 % of this process's samples at 500 sessions, a CPU it shares with the server
    it measures; the app's updates (views) are larger than the relay's events."""

    @staticmethod
    def dumps(obj, **_):
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text, **_):
        return orjson.loads(text)


class Peer:
    """One socket: when each turn arrived, its latest view, and the last seq it holds."""

    def __init__(self, role, url, token, origin, http, stats):
        self.role, self.url, self.token, self.origin, self.stats = role, url, token, origin, stats
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=http, json=PacketJSON)
        self.last_seq = 0
        self.seq_errors = 0
        self.waiters = {}  # turn key -> future
        self.arrived = {}  # turn key -> time (recent ones)
        self.view = None
        self.views = 0  # how many views this socket has been sent
        self.closing = False
        self.sio.on("event", self._on_event)  # the relay: one event per turn
        self.sio.on("update", self._on_update)  # the app: one update per change and viewer
        self.sio.on("disconnect", self._on_disconnect)

    async def connect(self):
        await self.sio.connect(self.url, auth={"token": self.token} if self.token else None,
                               headers={"Origin": self.origin}, transports=["websocket"],
                               wait_timeout=15)

    async def join(self, session_id, last_seq=0):
        ack = await self.sio.call("join", {"session_id": session_id, "last_seq": last_seq}, timeout=15)
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise RuntimeError(f"join refused: {str(ack)[:200]}")
        snap = ack.get("snapshot") or {}
        view = snap.get("view", snap) if isinstance(snap, dict) else None
        if isinstance(view, dict) and "phase" in view:
            self.view = view
        self.last_seq = last_seq
        for ev in ack.get("events") or []:
            self._take(ev, time.perf_counter())
        if isinstance(snap, dict) and isinstance(snap.get("last_seq"), int):
            self.last_seq = max(self.last_seq, snap["last_seq"])
        return ack

    def _take(self, ev, t):
        if not isinstance(ev, dict):
            return
        seq = ev.get("seq")
        if isinstance(seq, int):
            if seq != self.last_seq + 1 and seq > self.last_seq:
                self.seq_errors += 1  # a gap: the log is meant to be gap-free per viewer
            self.last_seq = max(self.last_seq, seq)
        key = turn_key(ev)
        if key is None:
            return
        self.arrived[key] = t
        if len(self.arrived) > 256:
            for old in list(self.arrived)[:128]:
                del self.arrived[old]
        fut = self.waiters.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(t)

    async def _on_event(self, data):
        self._take(data, time.perf_counter())

    async def _on_update(self, data):
        if not isinstance(data, dict):
            return
        t = time.perf_counter()
        for ev in data.get("events") or []:
            self._take(ev, t)
        if isinstance(data.get("view"), dict):
            self.view = data["view"]
            self.views += 1

    async def _on_disconnect(self, *args):
        if not self.closing:
            self.stats.error("disconnected", self.role)

    def arrival(self, key):
        """A future resolved with the time this peer received the turn `key`."""
        fut = asyncio.get_running_loop().create_future()
        if key in self.arrived:
            fut.set_result(self.arrived[key])
        else:
            self.waiters[key] = fut
        return fut


def fill(fields, today):
    """Answers for a step's required fields, from the input description in the view."""
    out = {}
    for f in fields or []:
        if not f.get("required"):
            continue
        kind, opts = f.get("kind"), f.get("options") or []
        first = (opts[0].get("value") if isinstance(opts[0], dict) else opts[0]) if opts else None
        if kind == "choice":
            out[f["name"]] = first
        elif kind in ("feeling", "need"):  # a suggested word
            out[f["name"]] = first or "calm"
        elif kind == "rating":
            out[f["name"]] = 3
        elif kind == "minutes":
            out[f["name"]] = f.get("default") or f.get("min") or 20
        elif kind == "bool":
            out[f["name"]] = True
        elif kind == "date":
            out[f["name"]] = today
        else:
            out[f["name"]] = ("A turn from the benchmark, about the length of a real answer. " * 3)[
                :min(180, f.get("max_length") or 180)]
    return out


def next_action(view, exercises, today):
    """(kind, step, data) for this partner now, or None when it is not their move."""
    if not view or view.get("paused"):
        return None
    phase = view.get("phase")
    if phase == "safety" and view.get("your_turn"):
        return "safety", None, {"safe": True}
    if phase == "ready" and view.get("can_start"):
        done = sum((view.get("completed") or {}).values())
        return "start_exercise", None, {"exercise": exercises[done % len(exercises)]}
    if phase == "exercise" and view.get("your_turn"):
        return "submit", view.get("step"), fill(view.get("input"), today)
    return None


class Session:
    def __init__(self, spec, args, target, origin, http, stats):
        self.id, self.args, self.target, self.stats = spec["session_id"], args, target, stats
        self.peers = {r: Peer(r, c["url"], c.get("token"), origin, http, stats)
                      for r, c in spec["clients"].items()}
        self.last_actor = "b"
        self.turns = 0
        self.settle = None  # (views seen, trust stale views after, give up): after an ack, wait for new views

    async def open(self):
        for peer in self.peers.values():
            await peer.connect()
        for peer in self.peers.values():
            await peer.join(self.id)

    def pick(self, today):
        if self.target == "relay":
            actor = "a" if self.last_actor == "b" else "b"
            return actor, ("submit", "relay", {"text": "A turn from the benchmark. " * 6})
        # Don't act on a view older than the last acknowledged move. A view that does not change
        # (a partner's private safety answer) is trusted again after 2 paces; but a start only on
        # a fresh view, or with a saturated server the partner whose view lags starts the
        # exercise again (refused `exercise_in_progress`: the bot's error, not the server's).
        fresh, stale_ok = {"a", "b"}, True
        if self.settle:
            seen, until, give_up = self.settle
            now = time.perf_counter()
            fresh = {r for r in ("a", "b") if self.peers[r].views > seen[r]}
            stale_ok = now >= until
            if now >= give_up or fresh == {"a", "b"}:
                fresh, self.settle = {"a", "b"}, None
        options = []
        for role in ("a", "b"):
            act = next_action(self.peers[role].view, self.args.exercises, today)
            if act and (role in fresh or (stale_ok and act[0] != "start_exercise")):
                options.append((role, act))
        if not options:
            return None
        options.sort(key=lambda o: o[0] == self.last_actor)  # alternate when both may act
        return options[0]

    async def heartbeats(self, stop_at):
        """What the room page does every 20 s on each socket (a login re-check and the clock)."""
        if self.target != "app" or not self.args.heartbeat:
            return
        # Sleeps end at stop_at: the run waits for these tasks, and a whole interval past the
        # window made every app row up to 20 s longer.
        await asyncio.sleep(min(random.uniform(0, self.args.heartbeat), max(0.0, stop_at - time.perf_counter())))
        while time.perf_counter() < stop_at:
            for peer in self.peers.values():
                try:
                    ack = await peer.sio.call("heartbeat", {"session_id": self.id}, timeout=self.args.timeout)
                    if not isinstance(ack, dict) or not ack.get("ok"):
                        self.stats.error("heartbeat_refused", str(ack)[:200])
                except Exception as err:  # noqa: BLE001 - counted, the run goes on
                    self.stats.error("heartbeat_failed", repr(err))
            await asyncio.sleep(min(self.args.heartbeat, max(0.0, stop_at - time.perf_counter())))

    async def drive(self, stop_at):
        await asyncio.sleep(random.uniform(0, self.args.pace / 2))
        tick = self.args.pace / 2
        next_t = time.perf_counter()
        today = dt.date.today().isoformat()
        while time.perf_counter() < stop_at:
            try:
                choice = self.pick(today)
                if choice:
                    await self.turn(*choice)
            except Exception as err:  # noqa: BLE001 - a bot bug is an error of the run, not a crash
                self.stats.error("bot_failed", repr(err))
                await asyncio.sleep(self.args.pace)
            next_t += tick
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))

    async def turn(self, actor, act):
        kind, step, data = act
        self.last_actor = actor
        sender = self.peers[actor]
        others = [self.peers[r] for r in ("b" if actor == "a" else "a", "therapist") if r in self.peers]
        payload = {"session_id": self.id, "id": uuid.uuid4().hex, "kind": kind, "step": step, "data": data}
        if self.target == "relay":
            key = ("id", payload["id"])
        elif kind == "submit":
            key = ("step", (sender.view or {}).get("step_id"), actor)
        else:  # safety answers and starts are private or partial: acked, but no latency sample
            key = None
        futs = [p.arrival(key) for p in others] if key else []
        views_before = {r: self.peers[r].views for r in ("a", "b")}
        t0 = time.perf_counter()
        measuring = self.stats.measuring(t0)
        try:
            ack = await sender.sio.call("action", payload, timeout=self.args.timeout)
        except Exception as err:  # noqa: BLE001 - every failure is counted, the run goes on
            self._forget(others, key)
            self.stats.error("ack_timeout" if isinstance(err, socketio.exceptions.TimeoutError)
                             else "emit_failed", repr(err))
            return
        t_ack = time.perf_counter()
        if not isinstance(ack, dict) or not ack.get("ok") or not isinstance(ack.get("seq"), int):
            self._forget(others, key)
            self.stats.error("refused", f"{kind}/{step}: {str(ack)[:200]}")
            await asyncio.sleep(self.args.pace)  # let views catch up before trying again
            return
        self.turns += 1
        if self.target == "app":
            now = time.perf_counter()
            self.settle = (views_before, now + 2 * self.args.pace, now + self.args.timeout)
        if measuring:
            self.stats.acked += 1
            self.stats.ack.append(t_ack - t0)
        if not futs:
            return
        try:
            done = await asyncio.wait_for(asyncio.gather(*futs), timeout=self.args.timeout)
        except asyncio.TimeoutError:
            self._forget(others, key)
            self.stats.error("missed_delivery", f"{kind}/{step} {key} not seen by all of {[p.role for p in others]}")
            return
        if not measuring:
            return
        for peer, t in zip(others, done):
            if peer.role == "therapist":
                self.stats.observer.append(t - t0)
            else:
                self.stats.partner.append(t - t0)
                self.stats.when.append(t0 - self.stats.window[0])

    @staticmethod
    def _forget(peers, key):
        for p in peers:
            p.waiters.pop(key, None)

    async def close(self):
        for peer in self.peers.values():
            peer.closing = True
            try:
                await peer.sio.disconnect()
            except Exception:  # noqa: BLE001
                pass


def pct(samples, p):
    if not samples:
        return None
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(samples):
    ms = [x * 1000 for x in samples]
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
            "max": max(ms) if ms else None}


def rss(pids):
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            pass
    return total


def cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def run_queue_wait(pids):
    """Seconds the servers' threads have spent ready to run but waiting for a CPU (Linux
    schedstat; 0 elsewhere): when this grows, the machine, not the server, is the limit."""
    total = 0.0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[1]) / 1e9
            except (OSError, ValueError, IndexError):
                pass
    return total


def postgres_cpu():
    """CPU seconds used so far by each of the local PostgreSQL's processes, by (pid, start time)."""
    used = {}
    for proc in psutil.process_iter(["name", "create_time"]):
        if proc.info["name"] in ("postgres", "postgresql"):
            try:
                t = proc.cpu_times()
                used[proc.pid, proc.info["create_time"]] = t.user + t.system
            except psutil.Error:
                pass
    return used


def postgres_cpu_between(before, after):
    """CPU seconds PostgreSQL used between two postgres_cpu() readings (a process that started in
    between counts whole; one that ended in between is not seen, so this is a lower bound)."""
    return sum(used - before.get(key, 0.0) for key, used in after.items())


def host_share(before, after):
    """Of all CPU time on this machine between two psutil.cpu_times(): the share the hypervisor
    gave to other guests (steal) and the share that was idle, in percent."""
    total = sum(after) - sum(before)
    share = lambda name: round(100 * (getattr(after, name, 0) - getattr(before, name, 0)) / max(1e-9, total), 1)  # noqa: E731
    return {"steal": share("steal"), "idle": share("idle")}


async def measure_resume(spec, origin, http, stats, repeats=5):
    """Connect + join with a last_seq that is `expect` events behind; median and max of repeats."""
    times, got = [], []
    for _ in range(repeats):
        peer = Peer("resume", spec["url"], spec["token"], origin, http, stats)
        peer.closing = True
        try:
            t0 = time.perf_counter()
            await peer.connect()
            t1 = time.perf_counter()
            ack = await peer.join(spec["session_id"], spec["last_seq"])
            t2 = time.perf_counter()
            times.append((t2 - t0, t2 - t1))
            got.append(len(ack.get("events") or []))
        except Exception as err:  # noqa: BLE001
            stats.error("resume_failed", repr(err))
        finally:
            await peer.sio.disconnect()
    if not times:
        return None
    return {"expected_events": spec.get("expect"), "events_received": got,
            "connect_join_ms_median": sorted(t[0] for t in times)[len(times) // 2] * 1000,
            "join_ms_median": sorted(t[1] for t in times)[len(times) // 2] * 1000,
            "join_ms_max": max(t[1] for t in times) * 1000}


async def loop_lag(stats, stop_at, every=0.01):
    """How late this process's own event loop wakes up: a stall here is the generator's, not the server's."""
    lags = []
    while time.perf_counter() < stop_at:
        t = time.perf_counter()
        await asyncio.sleep(every)
        lags.append(time.perf_counter() - t - every)
    return lags


async def run(args):
    plan = json.load(open(args.plan))
    pids = plan.get("server_pids") or []
    stats = Stats()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sessions = [Session(s, args, plan["target"], plan["origin"], http, stats) for s in plan["sessions"]]
    n_conn = sum(len(s.peers) for s in sessions)
    rss0 = rss(pids)
    t_open = time.perf_counter()
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def open_one(s):
        async with gate:
            try:
                await asyncio.wait_for(s.open(), timeout=30)  # a full accept queue hangs, not fails
                return s
            except Exception as err:  # noqa: BLE001
                stats.error("connect_or_join_failed", repr(err))
                await s.close()
                return None

    tasks = [asyncio.ensure_future(open_one(s)) for s in sessions]
    done, pending = await asyncio.wait(tasks, timeout=args.connect_budget)
    for t in pending:  # a saturated server: what did not open in time counts as failed
        t.cancel()
        stats.error("connect_budget_exceeded", f"not connected within {args.connect_budget}s")
    opened = [t.result() for t in done if t.result()]
    for s in sessions:
        if s not in opened:
            await s.close()
    t_opened = time.perf_counter()
    # The generator's own GC pauses would show up as server latency: park what setup allocated.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    await asyncio.sleep(1.0)
    rss1 = rss(pids)
    start = time.perf_counter()
    stats.window = (start + args.warmup, start + args.warmup + args.duration)
    cpu0, ru0 = cpu(pids), resource.getrusage(resource.RUSAGE_SELF)
    host0, pg0, wait0 = psutil.cpu_times(), postgres_cpu(), run_queue_wait(pids)
    spy = None
    if args.profile_out and pids:  # py-spy on the (first) server, over the steady state only
        await asyncio.sleep(args.warmup)
        spy = await asyncio.create_subprocess_exec(
            os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid", str(pids[0]),
            "--duration", str(int(args.duration)), "--rate", "100",
            "--nonblocking",  # sampling without pausing the server: a paused one fell behind (411 of 500 turns/s)
            "--format", args.profile_format,
            "--output", args.profile_out, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    lags, *_ = await asyncio.gather(loop_lag(stats, stats.window[1]), *(s.drive(stats.window[1]) for s in opened),
                                    *(s.heartbeats(stats.window[1]) for s in opened))
    elapsed = time.perf_counter() - stats.window[0]
    if spy:
        await spy.wait()
    for s in opened:
        for peer in s.peers.values():
            if peer.seq_errors:
                stats.errors["seq_gap"] += peer.seq_errors
    cpu1, ru1 = cpu(pids), resource.getrusage(resource.RUSAGE_SELF)
    host1, pg1, wait1 = psutil.cpu_times(), postgres_cpu(), run_queue_wait(pids)
    await asyncio.sleep(min(args.timeout, 2))  # let the last deliveries land
    rss2 = rss(pids)
    resume = None
    if plan.get("resume"):
        resume = await measure_resume(plan["resume"], plan["origin"], http, stats)
    await asyncio.gather(*(s.close() for s in opened))
    await http.close()
    window = args.duration
    result = {
        "target": plan["target"], "label": plan.get("label"), "sessions": len(sessions),
        "sessions_opened": len(opened), "connections": n_conn, "pace_s": args.pace,
        "warmup_s": args.warmup, "duration_s": window, "elapsed_measured_s": round(elapsed, 2),
        "connect_s": round(t_opened - t_open, 2),
        "partner": summary(stats.partner), "observer": summary(stats.observer), "ack": summary(stats.ack),
        "loadgen_loop_lag": summary(lags),
        "acked_turns_per_s": round(stats.acked / window, 1),
        "turns_total": sum(s.turns for s in opened),
        "expected_turns_per_s": round(len(sessions) * 2 / args.pace, 1),
        "errors": dict(stats.errors), "error_count": sum(stats.errors.values()),
        "error_examples": stats.error_examples,
        "server_rss_mb": [round(x / 2**20, 1) for x in (rss0, rss1, rss2)],
        "server_rss_kb_per_connection": round((rss1 - rss0) / 1024 / max(1, n_conn), 1) if pids else None,
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / max(1e-9, window + args.warmup), 1) if pids else None,
        "loadgen_cpu_percent": round(100 * ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime))
                                     / max(1e-9, window + args.warmup), 1),
        "server_run_queue_wait_percent": round(100 * (wait1 - wait0) / max(1e-9, window + args.warmup), 1) if pids else None,
        "postgres_cpu_percent": round(100 * postgres_cpu_between(pg0, pg1) / max(1e-9, window + args.warmup), 1),
        # Steal: CPU time the hypervisor gave other guests. On a shared host it varies from run
        # to run, and every latency here with it (the relay's too).
        "host_cpu_percent": host_share(host0, host1),
        "resume": resume,
        # The window's start on the host's monotonic clock, to line samples up with server-side logs.
        "raw": {"window_start_monotonic_s": stats.window[0], "partner_submitted_at_s": stats.when, "partner_s": stats.partner, "observer_s": stats.observer, "ack_s": stats.ack},
    }
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pace", type=float, default=2.0, help="seconds between two turns of one partner")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds (bounded)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--heartbeat", type=float, default=20.0, help="seconds between heartbeats per socket "
                    "(as the room page sends them; 0: none)")
    ap.add_argument("--connect-concurrency", type=int, default=25)
    ap.add_argument("--connect-budget", type=float, default=120.0, help="seconds for all connects")
    ap.add_argument("--exercises", default=",".join(EXERCISES))
    ap.add_argument("--profile-out", help="record the first server with py-spy during the window")
    ap.add_argument("--profile-format", default="speedscope")
    args = ap.parse_args(argv)
    args.exercises = [e for e in args.exercises.split(",") if e]
    if args.duration > 600:
        sys.exit("--duration is capped at 600 s")
    # uvloop: the load generator shares the two cores with the server it measures. Against the relay
    # at 500 sessions it used 40-43 % of a core on asyncio's loop and 29-33 % on uvloop, and its own
    # loop lag (part of every latency it reports, relay and app alike) fell from 1.3-2.1 to 1.1 ms p99.
    result = uvloop.run(run(args))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh)
    brief = {k: v for k, v in result.items() if k not in ("raw", "error_examples")}
    print(json.dumps(brief))
    if result["error_examples"]:
        print("errors:", *result["error_examples"][:5], sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()
