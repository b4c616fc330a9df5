"""Does a registration flood stop the live room? The heartbeat round trip of one connected socket,
idle and while N clients register in a loop (each registration is an Argon2id hash of 64 MiB).

    python bench/registration_flood.py                  # 6 clients, 10 s idle, 10 s of flood
    python bench/registration_flood.py --clients 12 --seconds 20
    python bench/registration_flood.py --root /tmp/old-checkout   # the same against another tree

It serves the app as production does (`python app.py`, eventlet unless COUPLES_ASYNC_MODE says
otherwise; the shipped Argon2id parameters) on a fresh SQLite file and a free loopback port, with the
registration and login limits raised so that every registration really hashes (--keep-limits leaves
the shipped ones on: then the flood is mostly answered 429). One python-socketio client sends a
heartbeat every --every ms and times its acknowledgement. By hand only: it prints its figures
(docs/benchmarks.md, "Registration flood") and is no test.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(root: Path, tmp: Path, keep_limits: bool):
    """Migrate a fresh SQLite file and start `python app.py` on it; returns (url, process)."""
    port, url = free_port(), None
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'flood.db'}", HOST="127.0.0.1", PORT=str(port),
               COUPLES_ENV="development", SECRET_KEY="flood-" + uuid.uuid4().hex, PYTHONWARNINGS="ignore",
               COUPLES_ALLOWED_ORIGINS=f"http://127.0.0.1:{port}", COUPLES_AUDIT_KEY="flood-" + "k" * 40)
    if not keep_limits:
        env.update(COUPLES_LOGIN_RATE_LIMIT="100000 per minute", COUPLES_REGISTER_RATE_LIMIT="100000 per minute")
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=root, env=env,
                   check=True, capture_output=True)
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited:\n" + (tmp / "server.log").read_text()[-3000:])
        try:
            requests.get(url + "/login", timeout=1)
            return url, proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not answer within 30 s")


def sign_up(url: str, session: requests.Session | None = None) -> tuple[requests.Response, str]:
    http = session or requests
    email = f"flood-{uuid.uuid4().hex[:12]}@example.com"
    return http.post(url + "/api/v1/accounts", timeout=60, json={
        "email": email, "password": PASSWORD, "display_name": "Flood", "role": "partner"}), email


class Heartbeats:
    """One socket, a heartbeat every `every` seconds; each acknowledgement's round trip, in ms."""

    def __init__(self, url: str, token: str, every: float):
        self.client = socketio.Client(reconnection=False)
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        self.every, self.samples, self.errors = every, [], 0
        self.running = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self):
        while True:
            if not self.running.is_set():
                time.sleep(0.005)
                continue
            t0 = time.perf_counter()
            try:
                ack = self.client.call("heartbeat", {}, timeout=30)
                if ack and ack.get("ok"):
                    self.samples.append((time.perf_counter() - t0) * 1000)
                else:
                    self.errors += 1
            except Exception:  # noqa: BLE001 - a lost acknowledgement counts, it does not end the run
                self.errors += 1
            time.sleep(max(0.0, self.every - (time.perf_counter() - t0)))

    def measure(self, seconds: float) -> tuple[list[float], int]:
        self.samples, self.errors = [], 0
        self.running.set()
        time.sleep(seconds)
        self.running.clear()
        time.sleep(0.2)
        return list(self.samples), self.errors


def flood(url: str, clients: int, stop: threading.Event, statuses: Counter, lock: threading.Lock):
    def one():
        http = requests.Session()
        while not stop.is_set():
            try:
                status = sign_up(url, http)[0].status_code
            except requests.RequestException:
                status = "error"
            with lock:
                statuses[status] += 1
    threads = [threading.Thread(target=one, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    return threads


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def line(phase: str, samples: list[float], errors: int, extra: str = "") -> str:
    if not samples:
        return f"| {phase} | 0 | - | - | - | {errors} | {extra} |"
    return (f"| {phase} | {len(samples)} | {statistics.median(samples):.1f} | {pct(samples, 99):.1f} | "
            f"{max(samples):.1f} | {errors} | {extra} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=6, help="clients registering in a loop (default 6)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase (default 10)")
    parser.add_argument("--every", type=float, default=50, help="ms between heartbeats (default 50)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    parser.add_argument("--keep-limits", action="store_true", help="keep the shipped rate limits on")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="couples-flood-") as tmp:
        url, server = serve(args.root.resolve(), Path(tmp), args.keep_limits)
        try:
            made, email = sign_up(url)
            assert made.status_code in (201, 202), made.text
            token = requests.post(url + "/api/v1/tokens", json={"email": email, "password": PASSWORD},
                                  timeout=60).json()["token"]
            beats = Heartbeats(url, token, args.every / 1000)
            beats.measure(1.0)  # warm-up, not reported
            idle, idle_errors = beats.measure(args.seconds)
            stop, statuses, lock = threading.Event(), Counter(), threading.Lock()
            threads = flood(url, args.clients, stop, statuses, lock)
            during, during_errors = beats.measure(args.seconds)
            stop.set()
            for t in threads:
                t.join(timeout=60)
            beats.client.disconnect()
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()

    answered = sum(v for k, v in statuses.items() if k != "error")
    rate = f"{answered / args.seconds:.1f} registrations/s answered ({dict(sorted(statuses.items(), key=str))})"
    mode = os.environ.get("COUPLES_ASYNC_MODE", "eventlet")
    print(f"heartbeat round trip, ms ({args.root.resolve()}, {mode}, SQLite, every {args.every:.0f} ms, "
          f"{args.seconds:.0f} s per phase)")
    print("| phase | heartbeats | median | p99 | max | lost | registrations |")
    print("|---|---|---|---|---|---|---|")
    print(line("idle", idle, idle_errors))
    print(line(f"{args.clients} clients registering", during, during_errors, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
