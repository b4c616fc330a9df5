"""Database faults, on a PostgreSQL cluster of our own (never the shared one), while Alice and
Bob run exercises against the served app:

- restart: PostgreSQL is stopped (fast shutdown) and started again a few seconds later;
- unreachable: a TCP proxy between the app and PostgreSQL black-holes every byte, and every new
  connection, for 30 s, then lets them flow again (a partition that heals).

Checked: handlers fail closed: each ack either is ok:false with a clear code, or never comes;
every ok:true ack is already committed when it arrives (its client_actions row is read straight
from PostgreSQL, bypassing the proxy, the moment the ack is received); the clients keep their
unacknowledged actions and resend them with the same ids; after the fault the app, never
restarted (same pid), accepts actions again; the log is gap-free and nothing acknowledged is
lost or applied twice.
"""
import random
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from support import checks
from support.clients import Duo
from support.driver import Driver
from support.proxy import Proxy
from support.people import seed_session
from support.server import ServerProcess, migrate
from support.world import NAMES
from support.clients import Peer

CLEAR_CODES = {"unavailable", "busy"}
BLACKHOLE_SECONDS = 30


def _world(tmp_path, pg_cluster, pg_url):
    app = migrate(pg_url)
    proxy = Proxy(("127.0.0.1", pg_cluster.port))
    app_url = pg_url.replace(f":{pg_cluster.port}/", f":{proxy.port}/")
    server = ServerProcess(tmp_path, app_url)
    server.start()
    w = seed_session(app, server.url)
    peers = {n: Peer(n, r, w.tokens[n], w.session_id, server.url) for n, r in NAMES}
    for p in peers.values():
        p.connect()
    return server, proxy, w, peers


class CommitWatch:
    """On every ok:true ack, look for its client_actions row directly in PostgreSQL."""

    def __init__(self, pg_url, session_public_id):
        self.engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg2://"),
                                    poolclass=NullPool, connect_args={"connect_timeout": 2})
        self.unverifiable = 0
        self.public_id = session_public_id
        self.early, self.checked, self.codes, self.no_ack = [], 0, Counter(), 0

    def __call__(self, peer, cid, ack):
        if not ack.get("ok"):
            self.codes[ack["error"]["code"]] += 1
            return
        try:  # once, now: PostgreSQL itself may be down (an ack from a commit just before)
            with self.engine.connect() as c:
                found = c.execute(text(
                    "SELECT 1 FROM client_actions ca JOIN practice_sessions s ON s.id = ca.session_id "
                    "WHERE s.public_id = :p AND ca.client_id = :c"), {"p": self.public_id, "c": cid}).first()
        except OperationalError:
            self.unverifiable += 1
            return
        self.checked += 1
        if found is None:
            self.early.append(f"{peer.name} {cid}: ok:true ack {ack} before its commit")


def _drive_through(driver, fault, seconds_after=8, budget=120):
    """Keep playing; start the fault in a thread shortly after; play on until it has healed and a
    few more moves succeeded."""
    done = threading.Event()
    result = {}

    def run():
        time.sleep(1.5)
        result["t"] = time.monotonic()
        fault()
        result["healed"] = time.monotonic()
        done.set()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    t0 = time.monotonic()
    ok_after = 0
    while time.monotonic() - t0 < budget:
        r = driver.step()
        if r == "idle":
            time.sleep(0.05)
        if done.is_set():
            if r == "acked":
                ok_after += 1
            if ok_after >= 10 and time.monotonic() - result["healed"] > seconds_after:
                break
    th.join(60)
    return result, ok_after


def _verify(name, pg_url, server, pid, w, peers, driver, watch, ok_after, extra=""):
    log = checks.Log(pg_url, w.session_id)
    told, lost, acked, bad = checks.peers_against_log(
        log, peers.values(), ((peers["alice"], w.ids["alice"]), (peers["bob"], w.ids["bob"])))
    bad = checks.gap_free(log) + checks.applied_once(log) + driver.continuity + watch.early + bad
    unclear = {c: n for c, n in watch.codes.items() if c in ("server_error",)}
    print(f"\nDB FAULT SUMMARY fault={name} {extra} app_restarted={server.pid != pid} "
          f"no_ack_sends={driver.no_acks} error_acks={dict(watch.codes)} acks_checked_committed={watch.checked} "
          f"acked_before_commit={len(watch.early)} unverifiable={watch.unverifiable} "
          f"max_settle_s={max(p.max_settle for p in peers.values()):.1f} actions_acknowledged={acked} events_acknowledged={told} "
          f"events_lost={lost} moves_ok_after_heal={ok_after} catch_up_rejoins={driver.catch_ups} "
          f"refusals={dict(Counter(driver.refusals))} violations={len(bad)}")
    assert server.pid == pid and server.alive(), "the app had to be restarted"
    assert ok_after >= 10, "the app did not recover"
    assert lost == 0 and not bad, "\n".join(bad[:40])
    return unclear


def _no_unclear_errors(unclear):
    """DEFECT 1 (fixed in couples/room/sockets.py): an outage used to be acked as server_error."""
    assert not unclear, f"a database outage was acknowledged as {unclear}, not as 'unavailable'"


def test_postgres_restart_during_live_exercises(tmp_path, pg_cluster, pg_url, rng_seed):
    server, proxy, w, peers = _world(tmp_path, pg_cluster, pg_url)
    pid = server.pid
    watch = CommitWatch(pg_url, w.session_id)
    for p in peers.values():
        p.on_ack = watch
    duo = Duo(peers["alice"], peers["bob"], ["needs", "greeting"] * 10, random.Random(rng_seed + 11),
              timeout_in_needs_at=None)  # partners always acting: see _outage
    driver = Driver(duo, observers=[peers["theo"]], clock=server, ack_timeout=4)

    def restart():
        pg_cluster.restart(mode="fast", down_for=4)

    result, ok_after = _drive_through(driver, restart)
    driver.final_sync()
    unclear = _verify("postgres_restart", pg_url, server, pid, w, peers, driver, watch, ok_after,
                      extra=f"down_for_s={result['healed'] - result['t']:.1f}")
    server.stop()
    proxy.close()
    _no_unclear_errors(unclear)


def _outage(tmp_path, pg_cluster, pg_url, rng_seed, name, fault):
    server, proxy, w, peers = _world(tmp_path, pg_cluster, pg_url)
    pid = server.pid
    watch = CommitWatch(pg_url, w.session_id)
    for p in peers.values():
        p.on_ack = watch
    # No timeout called mid-needs: its break leaves both partners idle while only the sweeper
    # touches the database, and a 30 s outage that fell into it (FAULT_SEED=310052) never met a
    # handler at all.
    duo = Duo(peers["alice"], peers["bob"], ["needs", "greeting"] * 10, random.Random(rng_seed + 13),
              timeout_in_needs_at=None)
    driver = Driver(duo, observers=[peers["theo"]], clock=server, ack_timeout=4)
    result, ok_after = _drive_through(driver, lambda: fault(proxy))
    driver.final_sync()
    unclear = _verify(name, pg_url, server, pid, w, peers, driver, watch, ok_after,
                      extra=f"outage_s={result['healed'] - result['t']:.1f}")
    server.stop()
    proxy.close()
    _no_unclear_errors(unclear)
    return driver.no_acks, dict(watch.codes)


def test_postgres_unreachable_for_30s(tmp_path, pg_cluster, pg_url, rng_seed):
    """The database host is gone for 30 s: live connections reset, new ones refused. Every
    handler answers `unavailable` within seconds (bounded connect and pool waits), nothing is
    acknowledged before its commit, and the app recovers by itself."""
    def unreachable(proxy):
        proxy.reject(True)
        time.sleep(BLACKHOLE_SECONDS)
        proxy.reject(False)

    unanswered, codes = _outage(tmp_path, pg_cluster, pg_url, rng_seed, "postgres_unreachable", unreachable)
    # Every send got an answer within the client's 4 s ack timeout: a clear error, not silence.
    assert unanswered == 0 and codes.get("unavailable", 0) > 0, (unanswered, codes)


def test_postgres_hung_for_30s(tmp_path, pg_cluster, pg_url, rng_seed):
    """The database accepts TCP but answers nothing for 30 s (a hung server; the proxy's kernel
    still acknowledges, so TCP timeouts cannot fire and statement_timeout never reaches the
    server). Handlers then wait, which still fails closed: no ack until the commit, the client
    keeps its action, and it is applied exactly once when the database answers again."""
    def hung(proxy):
        proxy.hold()
        time.sleep(BLACKHOLE_SECONDS)
        proxy.release()

    unanswered, codes = _outage(tmp_path, pg_cluster, pg_url, rng_seed, "postgres_hung", hung)
    print(f"postgres_hung: sends left without an ack while hung: {unanswered}; error acks: {codes}")
    assert unanswered > 0, "no handler met the hung database: the fault was not tested"
