"""Helpers for the multi-process suite: presence-aware clients and waiting on a condition."""
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
