"""Drives Alice and Bob (and keeps Theo, the observer, connected) through a session while faults
happen, reconnecting and resending like a careful client would; checks on each rejoin that the
session continues where it was."""
import time

from .checks import position, view_position


class Driver:
    def __init__(self, duo, observers=(), url=None, ack_timeout=4.0, clock=None):
        self.duo, self.observers, self.url = duo, list(observers), url
        self.ack_timeout = ack_timeout
        self.continuity: list[str] = []
        self.reconnects = 0
        self.no_acks = 0
        self.actions = 0
        self.refusals = []
        self.clock = clock  # a ServerProcess: when idle in a timer step, move its clock on
        self.clock_shifts = 0
        self.catch_ups = 0  # rejoins because an update showed a message was missed
        self.before_send = None  # hook(peer, kind): arm a fault for this send

    @property
    def everyone(self):
        return [self.duo.a, self.duo.b, *self.observers]

    def step(self):
        """One move by whoever's turn it is. Returns "idle", "acked" or "no_ack"."""
        if any(not p.connected for p in self.everyone):
            self.recover()
        for p in self.everyone:
            if p.behind and p.connected:
                p.join()
                self.catch_ups += 1
        move = self.duo.next_move()
        if move is None:
            view = self.duo.a.view
            if self.clock is not None and view and view.get("deadline_at") and view.get("seconds_left") \
                    and view["step"] == "break":
                self.clock.shift_clock(seconds=view["seconds_left"] + 5)
                self.clock_shifts += 1
                time.sleep(0.5)  # the sweeper runs every 0.2 s
            return "idle"
        peer, kind, step, data = move
        if self.before_send is not None:
            self.before_send(peer, kind)
        return self._send(peer, lambda: peer.act(kind, step, data, timeout=self.ack_timeout))

    def _send(self, peer, send):
        ack = send()
        payload = peer.sent.get(peer.ack_history[-1][0]) if ack is not None and peer.ack_history else None
        self.actions += 1
        if ack is None:
            self.no_acks += 1
            self.recover()
            return "no_ack"
        self.duo.note(payload["kind"], payload["data"], ack)
        if not ack.get("ok"):
            self.refusals.append(ack["error"]["code"])
            if peer.pending is not None:  # "not now" (e.g. the database is down): back off a little
                time.sleep(0.1)
        return "acked"

    def recover(self, deadline=40.0):
        """Reconnect whoever dropped (rejoining with last_seq), then resend unacknowledged actions
        with their original ids until each is acknowledged or refused for good."""
        t0 = time.monotonic()
        for p in self.everyone:
            if p.connected:
                continue
            before = p.view
            p.close()
            p.connect(self.url, deadline=deadline)
            self.reconnects += 1
            self._check_continuity(p, before)
        for p in (self.duo.a, self.duo.b):
            while p.pending is not None and time.monotonic() - t0 < deadline:
                kind, data = p.pending["kind"], p.pending["data"]
                ack = p.flush(timeout=self.ack_timeout)
                if ack is None:
                    self.no_acks += 1
                    p.close()
                    p.connect(self.url, deadline=deadline)
                    self.reconnects += 1
                    continue
                if p.pending is not None:  # refused as retryable: wait a little and resend
                    self.refusals.append(ack["error"]["code"])
                    time.sleep(0.2)
                    continue
                self.duo.note(kind, data, ack)

    def _check_continuity(self, p, before):
        with p.lock:
            events = [p.log[s] for s in sorted(p.log)]
            view = p.view
        logged = position(events)
        now = view_position(view)
        if logged is not None and logged not in ("ready", "ended", "interrupted") and now != logged:
            self.continuity.append(f"{p.name}: view after rejoin {now} but the log says {logged}")
        if logged == "ready" and view["phase"] not in ("ready",):
            self.continuity.append(f"{p.name}: view phase {view['phase']} but the log says ready")
        if before is not None and view["step_id"] < before["step_id"] and view["phase"] == "exercise" \
                and before["phase"] == "exercise":
            self.continuity.append(f"{p.name}: went back from step {before['step_id']} to {view['step_id']}")
        if before is not None and before["phase"] in ("ready", "exercise") and view["phase"] == "safety":
            self.continuity.append(f"{p.name}: back to the safety question after a restart")

    def final_sync(self):
        """Everyone reconnects afresh and rejoins: after this each peer holds the whole log."""
        for p in self.everyone:
            before = p.view
            p.close()
            p.connect(self.url)
            self._check_continuity(p, before)
        self.recover()
