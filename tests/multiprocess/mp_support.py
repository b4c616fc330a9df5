"""Helpers for the multi-process suite: presence-aware clients, waiting on a condition, playing a session."""
import os
import time

from support.clients import Peer

REDIS_URL = os.environ.get("TEST_MP_REDIS_URL", "redis://127.0.0.1:6379/11")
PRESENCE_TTL = 4.0  # short, so a killed process's sockets leave presence within seconds


class PresencePeer(Peer):
    """tests/support's recording client, also keeping the latest presence it was sent."""

    presence = None

    def connect(self, url, deadline=30.0):
        self.url = url
        ok = super().connect(url, deadline)
        self.sio.on("presence", self._on_presence)
        snap = getattr(self, "snapshot", None)
        if snap and self.presence is None:
            self.presence = snap.get("presence")
        return ok

    def join(self):
        ok = super().join()
        if ok:
            self.presence = self.snapshot.get("presence")
        return ok

    def _on_presence(self, data):
        if data.get("session_id") == self.session_id:
            self.presence = data["presence"]


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


BREAK_SECONDS = 20 * 60  # the timeout exercise's default break


def play(duo, cluster, until, timeout=60, only=None):
    """Move whoever's turn it is until `until()`. When only a timer can move the session (the
    timeout's break), every process's clock jumps past the deadline instead of the test sleeping."""
    t0, shifted = time.monotonic(), set()
    while not until():
        assert time.monotonic() - t0 < timeout, f"stuck: {duo.a.view} / last error {duo.last_error}"
        move = duo.next_move()
        if move is not None and only is not None and move[0] not in only:
            move = None
        if move is None:
            view = duo.a.view or {}
            if view.get("step") == "break" and view.get("deadline_at") and view["deadline_at"] not in shifted:
                shifted.add(view["deadline_at"])
                cluster.shift_clock(BREAK_SECONDS + 5)  # cluster: only needed for a timeout
            time.sleep(0.05)
            continue
        peer, kind, step, data = move
        ack = peer.act(kind, step, data)
        assert ack is not None, f"{peer.name}: no ack for {kind} {step}"
        duo.note(kind, data, ack)
        if ack["ok"]:  # let the actor's own events (and so its view) arrive before the next move
            wait_for(lambda: peer.contiguous() >= ack["seq"], 10, f"{peer.name} to receive seq {ack['seq']}")
        else:
            time.sleep(0.05)  # a stale view lost a race (stale_step / not_your_turn): look again
