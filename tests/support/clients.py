"""Recording socket clients that survive crashes, and a bot that plays a partner from its view.

A Peer keeps what the server told it: its log by (its own) seq, every ack by client id, and its
current view. It never loses an action it has not seen acknowledged: `pending` is resent with
the same id after each reconnect. Problems seen on the wire (a replay with a gap or a duplicate,
the same seq twice with different content) are collected in `problems`, not raised, so that a
suite can count them and report all of them at the end.
"""
import random
import threading
import time
import uuid

import socketio

ACK_TIMEOUT = 4.0


def new_id(prefix="act") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def strip(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "session_id"}


class Peer:
    def __init__(self, name, role, token, session_id, url, transports=("websocket",)):
        self.name, self.role, self.token, self.session_id = name, role, token, session_id
        self.url, self.transports = url, list(transports)
        self.sio = None
        self.lock = threading.Lock()
        self.log: dict[int, dict] = {}           # seq -> event (merged live + replays)
        self.live_seqs: list[int] = []           # seqs in live arrival order
        self.live_count = 0
        self.view = None
        self.view_log = []                        # every view, in arrival order
        self.acks: dict[str, dict] = {}          # client id -> first ack (ok or not)
        self.ack_history: list[tuple[str, dict]] = []
        self.sent: dict[str, dict] = {}          # client id -> the payload sent
        self.pending = None                       # an unacknowledged action, to resend
        self.problems: list[str] = []
        self.replays: list[tuple[int, list[int]]] = []
        self.joins = 0
        self.resends = 0
        self.max_settle = 0.0  # longest time from an action's first send to the ack settling it
        self.first_sent = {}
        self.on_ack = None  # hook(peer, client_id, ack), called as each action ack arrives

    # ---- connection
    def connect(self, url=None, deadline=30.0):
        """Connect (retrying until the server answers), join, resend what was not acknowledged."""
        url = url or self.url
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < deadline:
            sio = socketio.Client(reconnection=False, **self.client_options)
            sio.on("update", self._on_update)
            try:
                sio.connect(url, auth={"token": self.token}, transports=self.transports,
                            wait_timeout=3)
            except Exception as err:  # noqa: BLE001 - the server may still be starting
                last = err
                try:
                    sio.disconnect()
                except Exception:  # noqa: BLE001
                    pass
                time.sleep(0.1)
                continue
            self.sio = sio
            try:
                if self.join():
                    return True
            except Exception as err:  # noqa: BLE001
                last = err
            self.close()
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} could not reconnect: {last!r}")

    def close(self):
        if self.sio is not None:
            try:
                self.sio.disconnect()
            except Exception:  # noqa: BLE001
                pass

    @property
    def connected(self):
        return self.sio is not None and self.sio.connected

    def contiguous(self) -> int:
        with self.lock:
            n = 0
            while n + 1 in self.log:
                n += 1
            return n

    def join(self) -> bool:
        self.behind = False
        last = self.contiguous()
        ack = self.call("join", {"session_id": self.session_id, "last_seq": last})
        if ack is None:
            return False
        if not ack.get("ok"):
            self.problems.append(f"{self.name}: join refused {ack}")
            return False
        snap, events = ack["snapshot"], ack["events"]
        seqs = [e["seq"] for e in events]
        self.replays.append((last, seqs))
        if seqs != list(range(last + 1, snap["last_seq"] + 1)):
            self.problems.append(f"{self.name}: replay after {last} was {seqs}, "
                                 f"snapshot last_seq {snap['last_seq']}")
        for e in events:
            self._merge(e, live=False)
        with self.lock:
            # An update may have overtaken this ack (a timer fired during the join): keep the
            # newer view, as the room page does (it holds live messages until the join is done).
            if snap["last_seq"] >= self.view_seq:
                self.view, self.view_seq = snap["view"], snap["last_seq"]
                self.view_log.append(("join", snap["view"]))
            self.snapshot = snap
        self.joins += 1
        return True

    # ---- receiving
    def _merge(self, e, live):
        e = strip(e)
        with self.lock:
            old = self.log.get(e["seq"])
            if old is not None and old != e:
                self.problems.append(f"{self.name}: seq {e['seq']} differs: {old} vs {e}")
            if live:
                self.live_count += 1
                if e["seq"] in self.live_seqs:
                    self.problems.append(f"{self.name}: seq {e['seq']} delivered live twice")
                self.live_seqs.append(e["seq"])
            self.log.setdefault(e["seq"], e)

    client_options: dict = {}  # more socketio.Client arguments (e.g. ssl_verify)
    view_seq = 0  # the viewer's last seq that `view` reflects
    behind = False  # an update said the log goes further than what arrived: rejoin

    def _on_update(self, data):
        """One `update` per change: the events, in order, then the new view when it changed."""
        if data.get("session_id") != self.session_id:
            return
        for ev in data["events"]:
            self._merge({"session_id": data["session_id"], **ev}, live=True)
        if data["last_seq"] > self.contiguous():
            self.behind = True  # a message was missed (a reply lost in an outage): rejoin, as the page does
        elif "view" in data:
            with self.lock:
                if data["last_seq"] >= self.view_seq:
                    self.view, self.view_seq = data["view"], data["last_seq"]
                    self.view_log.append(("live", data["view"]))

    # ---- sending
    def call(self, event, data, timeout=ACK_TIMEOUT):
        """Emit and wait for the ack; None if the connection dropped or no ack came in time."""
        sio = self.sio
        if sio is None or not sio.connected:
            return None
        done, box = threading.Event(), []

        def on_ack(*args):
            box.append(args[0] if args else None)
            done.set()
        try:
            sio.emit(event, data, callback=on_ack)
        except Exception:  # noqa: BLE001 - disconnected meanwhile
            return None
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if done.wait(0.05):
                return box[0]
            if not sio.connected:
                return None
        return None

    def act(self, kind, step=None, data=None, client_id=None, timeout=ACK_TIMEOUT):
        """Send one action (or resend the pending one first). Returns the ack or None."""
        if self.pending is None:
            cid = client_id or new_id(self.role)
            self.pending = {"session_id": self.session_id, "id": cid, "kind": kind,
                            "step": step, "data": data or {}}
        else:
            self.resends += 1
        payload = self.pending
        self.sent[payload["id"]] = payload
        self.first_sent.setdefault(payload["id"], time.monotonic())
        ack = self.call("action", payload, timeout)
        if ack is None:
            return None
        self.max_settle = max(self.max_settle, time.monotonic() - self.first_sent[payload["id"]])
        if self.on_ack is not None:
            self.on_ack(self, payload["id"], ack)
        prev = self.acks.get(payload["id"])
        if prev is None or (not prev.get("ok") and prev["error"]["code"] in RETRYABLE):
            self.acks[payload["id"]] = ack  # the ack that settled the action
        self.ack_history.append((payload["id"], ack))
        if ack.get("ok") is False and ack.get("error", {}).get("code") in RETRYABLE:
            return ack  # keep it pending: the server said "not now", not "no"
        self.pending = None
        return ack

    def flush(self, timeout=ACK_TIMEOUT):
        """Resend the pending action (same id) until it is acknowledged or refused for good."""
        if self.pending is None:
            return None
        return self.act(None, timeout=timeout)


# Codes after which the client keeps its action to send again (the server did not apply it).
RETRYABLE = {"unavailable", "busy", "server_error", "rate_limited"}


# ------------------------------------------------------------------ a bot that plays a partner

def answer_for(view, rng: random.Random) -> dict:
    """A valid answer for the form in the view (required fields, and optional text so that
    conditional requirements are always met)."""
    out = {}
    for f in view.get("input") or []:
        kind, name = f["kind"], f["name"]
        if kind == "rating":
            out[name] = rng.randint(0, 10)
        elif kind == "feeling":
            out[name] = rng.choice(f.get("options") or ["calm"])
        elif kind == "text":
            out[name] = f"{view['role']} {name} {rng.randint(0, 9999)}"
        elif kind == "bool":
            out[name] = True
        elif kind == "minutes":
            out[name] = f.get("default", 20)
        elif kind == "choice":
            out[name] = CHOICES.get(name, lambda o, r: o[0])(f["options"], rng)
        elif kind == "date":
            continue
    return out


CHOICES = {
    "first": lambda o, r: r.choice(o),
    "verdict": lambda o, r: "clarify" if r.random() < 0.2 else "accurate",
    "answer": lambda o, r: r.choice(o),
    "response": lambda o, r: "accept" if r.random() < 0.7 else "answer",
    "choice": lambda o, r: ("finish" if "finish" in o else "resume" if "resume" in o else o[0]),
}


class Duo:
    """Alice and Bob playing a session from their views: safety, then `plan` (a list of
    exercise keys; None ends the list), with an optional timeout called mid-needs."""

    def __init__(self, a: Peer, b: Peer, plan, rng, timeout_in_needs_at="mirror"):
        self.a, self.b, self.plan, self.rng = a, b, list(plan), rng
        self.timeout_at = timeout_in_needs_at
        self.timeout_called = False
        self.last_error = None

    def peers(self):
        return (self.a, self.b)

    def next_move(self):
        """(peer, kind, step, data) for someone whose turn it is, or None."""
        options = []
        for p in self.peers():
            v = p.view
            if v is None:
                continue
            if v["paused"]:
                if not v["ready"][p.role]:
                    options.append((p, "ready", None, {}))
                continue
            if v["phase"] == "safety" and v["your_turn"]:
                options.append((p, "safety", None, {"safe": True}))
            elif v["phase"] == "ready" and p.role == "a" and self.plan:
                options.append((p, "start_exercise", None, {"exercise": self.plan[0]}))
            elif v["phase"] == "exercise":
                if (v["exercise"] == "needs" and v["step"] == self.timeout_at and not self.timeout_called
                        and p.role == "a"):
                    options.append((p, "timeout", None, {"feeling": "frustrated", "arousal": 7}))
                elif v["your_turn"]:
                    options.append((p, "submit", v["step"], answer_for(v, self.rng)))
        if not options:
            return None
        return self.rng.choice(options)

    def note(self, kind, data, ack):
        if ack and ack.get("ok") and kind == "start_exercise" and self.plan and self.plan[0] == data.get("exercise"):
            self.plan.pop(0)
        if ack and ack.get("ok") and kind == "timeout":
            self.timeout_called = True
        if ack and not ack.get("ok"):
            self.last_error = ack["error"]
