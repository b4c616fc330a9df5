"""Network faults: each client talks to the server through its own TCP proxy, which cuts its
connection at chosen and random points while the partners run exercises:

- mid_submit: the action frame reaches the server, then the connection is reset before the ack
  can come back (server->client bytes are discarded from that moment);
- drop_send: the connection is reset instead of delivering the action frame;
- drop_ack: the connection is reset instead of delivering the server's ack frame;
- cut_random: the proxy resets the actor's (or the other partner's, or the observer's)
  connection a random few milliseconds after the send, mid-broadcast;
- client_disconnect: the client itself disconnects a random few milliseconds after the send.

The client reconnects, rejoins with its last_seq and resends the unacknowledged action with the
same id. Checked: resent actions apply once (a resend of an applied action gets the original seq
with duplicate: true), every join replay is exactly last_seq+1..snapshot.last_seq (no gap, no
duplicate), no seq arrives twice live or with different content, and every peer's log equals the
database's.

The run goes on until FAULT_NETWORK_FAULTS faults (default 70; `make soak`: 1,000) have really
dropped or cut a connection: an armed proxy trigger that fired, a cut that reset at least one
open connection, a client that disconnected while connected. Faults armed but never triggered
are printed apart (`faults_armed`).
"""
import os
import random
import threading
import time
from collections import Counter

from support import checks
from support.clients import Duo
from support.driver import Driver
from support.world import make_world

FAULTS = int(os.environ.get("FAULT_NETWORK_FAULTS", 70))  # connections dropped or cut
BUDGET = max(100, 1.5 * FAULTS)  # seconds (a fault takes ~0.25 s of moves)
FAULT_RATE = 0.4
PROXY_FAULTS = {"mid_submit": "after_send", "drop_send": "drop_send", "drop_ack": "drop_ack"}


def test_connections_cut_at_random_points(tmp_path, sqlite_url, rng_seed, count_duplicates):
    rng = random.Random(rng_seed + 7)
    world = make_world(tmp_path, sqlite_url, proxy_peers=True)
    duo = Duo(world.alice, world.bob, ["needs", "greeting"] * max(21, FAULTS // 2), rng)
    driver = Driver(duo, observers=[world.theo], clock=world.server)
    faults, pending_fault = Counter(), {}  # faults armed, by kind
    injected, injected_lock, timers = Counter(), threading.Lock(), []  # faults that took effect
    names = {id(world.alice): "alice", id(world.bob): "bob"}

    def took_effect(fault):
        with injected_lock:
            injected[fault] += 1

    def later(fn):
        timer = threading.Timer(rng.uniform(0, 0.03), fn)
        timers.append(timer)
        timer.start()

    def before_send(peer, kind):
        pending_fault.clear()
        if rng.random() > FAULT_RATE:
            return
        fault = rng.choice(["mid_submit", "mid_submit", "drop_send", "drop_ack", "cut_random",
                            "client_disconnect"])
        proxy = world.proxies[names[id(peer)]]
        faults[fault] += 1
        pending_fault.update(fault=fault, peer=peer, proxy=proxy)
        if fault in PROXY_FAULTS:
            proxy.arm(PROXY_FAULTS[fault], None if fault == "drop_ack" else "action")
        elif fault == "cut_random":
            victim = world.proxies[rng.choice(["alice", "bob", "theo", names[id(peer)]])]
            later(lambda: victim.cut() and took_effect("cut_random"))
        elif fault == "client_disconnect":
            sio = peer.sio

            def disconnect():
                if sio is not None and sio.connected:
                    sio.disconnect()
                    took_effect("client_disconnect")
            later(disconnect)

    driver.before_send = before_send
    t0, moves = time.monotonic(), 0
    outcomes = Counter()
    while sum(injected.values()) < FAULTS and time.monotonic() - t0 < BUDGET:
        result = driver.step()
        armed = dict(pending_fault)  # the fault armed for this move's send, if any
        pending_fault.clear()
        if armed.get("fault") in PROXY_FAULTS:
            proxy = armed["proxy"]
            # a consumed trigger has reset the connection (mid_submit: 0.1 s after the send)
            if proxy.trigger is None and proxy.fired.wait(1.0):
                took_effect(armed["fault"])
        for p in world.proxies.values():
            p.disarm()
        if result == "idle":
            time.sleep(0.05)
            continue
        moves += 1
        if armed:
            p = armed["peer"]
            last_id, last_ack = p.ack_history[-1] if p.ack_history else (None, None)
            outcomes[(armed["fault"], "resent-duplicate" if last_ack and last_ack.get("duplicate")
                      else "resent-applied" if result == "no_ack" else "acked")] += 1
    for timer in timers:
        timer.join()
    driver.final_sync()
    world.server.stop()
    for p in world.proxies.values():
        p.close()

    log = checks.Log(sqlite_url, world.w.session_id)
    told, lost, acked, bad = checks.peers_against_log(
        log, (world.alice, world.bob, world.theo),
        ((world.alice, world.w.ids["alice"]), (world.bob, world.w.ids["bob"])))
    duplicated = count_duplicates(log, (world.alice, world.bob), (world.alice, world.bob, world.theo))
    bad = checks.gap_free(log) + checks.applied_once(log) + driver.continuity + bad
    dups = sum(1 for p in (world.alice, world.bob) for _, a in p.ack_history if a.get("duplicate"))
    replays = sum(len(p.replays) for p in (world.alice, world.bob, world.theo))
    replayed = sum(len(s) for p in (world.alice, world.bob, world.theo) for _, s in p.replays)
    print(f"\nNETWORK SUMMARY moves={moves} faults={sum(injected.values())} {dict(injected)} "
          f"faults_armed={sum(faults.values())} "
          f"no_ack_sends={driver.no_acks} resends={sum(p.resends for p in (world.alice, world.bob))} "
          f"resends_answered_duplicate={dups} reconnects={driver.reconnects} rejoin_replays={replays} "
          f"replayed_events={replayed} events_acknowledged={told} actions_acknowledged={acked} "
          f"events_lost={lost} events_duplicated={duplicated} seconds={time.monotonic() - t0:.0f} violations={len(bad)}")
    print("NETWORK OUTCOMES", dict(outcomes))
    assert sum(injected.values()) >= FAULTS, f"{dict(injected)} in {BUDGET:.0f} s, {FAULTS} wanted"
    assert injected["mid_submit"] >= 5 and dups >= 1
    assert lost == 0 and duplicated == 0 and not bad, "\n".join(bad[:40])
