"""The Socket.IO clients of the suites: one class hierarchy over python-socketio.

`SocketClient` is what every client does: connect to a served app as someone (a bearer token in
`auth`, or other credentials) with an Origin (the server's own unless told; None sends none) over
the transports asked for, call an event and wait for its ack, build an action, close. What each
keeps of what the server sends is up to the subclass:

- `LivePeer` records everything in arrival order (events, views, presence, revocations) and
  asserts as it goes (`ok`, `submit`, `wait_step`): the live protocol and exercise suites, and any
  test that opens a socket on a served app. `turn`, `both`, `safe_start`, `everyone_at` play a
  room with them.
- `Peer` survives crashes: it keeps its log by (its own) seq, every ack by client id, and its
  current view. It never loses an action it has not seen acknowledged: `pending` is resent with
  the same id after each reconnect. Problems seen on the wire (a replay with a gap or a duplicate,
  the same seq twice with different content) are collected in `problems`, not raised, so that a
  suite can count them and report all of them at the end. The fault, multi-process and
  revocation suites use it (and `Duo`, a bot that plays both partners from their views).
"""
import random
import threading
import time
import uuid

import socketio

ACK_TIMEOUT = 4.0
WAIT = 5  # seconds any single expectation of a LivePeer may take


def new_id(prefix="act") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def strip(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "session_id"}


class SocketClient:
    """One person's python-socketio client to a served app at `url`, for one practice session."""

    client_options: dict = {}  # more socketio.Client arguments (e.g. http_session)

    def __init__(self, name, token, session_id, url, transports=("websocket",)):
        self.name, self.token, self.session_id = name, token, session_id
        self.url, self.transports = url, list(transports)
        self.sio = None

    def new_sio(self):
        """A fresh socketio.Client whose events go to this object's `on_*` methods."""
        sio = socketio.Client(reconnection=False, **self.client_options)
        sio.on("update", self.on_update)
        sio.on("presence", self.on_presence)
        sio.on("revoked", self.on_revoked)
        sio.on("disconnect", self.on_disconnect)
        return sio

    def on_update(self, data):
        pass

    def on_presence(self, data):
        pass

    def on_revoked(self, data):
        pass

    def on_disconnect(self, *args):
        pass

    def open(self, sio, url=None, origin="same", auth="token", headers=None, transports=None,
             wait_timeout=WAIT):
        """Connect `sio` (raises socketio.exceptions.ConnectionError if refused). `origin`: "same"
        sends the server's own, None none at all, else that one; `auth="token"` sends this
        person's token, anything else is sent as the `auth` payload as it is."""
        url = url or self.url
        transports = list(transports or self.transports)
        origin = url if origin == "same" else origin
        headers = dict(headers or {})
        if "polling" in transports and origin:
            # long-polling sends no Origin of its own; the header then goes with the upgrade too,
            # so websocket-client must not add a second one
            headers["Origin"] = origin
            sio.eio.websocket_extra_options = {"suppress_origin": True}
        else:
            # websocket-client sends its own Origin unless told which one (or none) to send
            sio.eio.websocket_extra_options = {"origin": origin} if origin else {"suppress_origin": True}
        sio.connect(url, headers=headers, transports=transports, wait_timeout=wait_timeout,
                    auth={"token": self.token} if auth == "token" else auth)
        self.sio = sio
        return sio

    @property
    def connected(self):
        return self.sio is not None and self.sio.connected

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

    def action(self, kind, step=None, data=None, client_id=None) -> dict:
        """The payload of one action (a fresh client id unless given)."""
        return {"session_id": self.session_id, "id": client_id or new_id(self.name), "kind": kind,
                "step": step, "data": data or {}}

    def close(self):
        if self.sio is not None:
            try:
                self.sio.disconnect()
            except Exception:  # noqa: BLE001
                pass


class LivePeer(SocketClient):
    """A recording client: what the server sent it, in arrival order; conveniences that assert.
    `live` is the served process (anything with a `url`)."""

    def __init__(self, live, token, name, session_id=None, transports=("websocket",)):
        super().__init__(name, token, session_id, live.url, transports)
        self.live = live
        self.events, self.views, self.presence, self.revoked = [], [], [], []
        self.view = None
        self.gone = threading.Event()
        self.lock = threading.RLock()
        self.sio = self.new_sio()  # made here, so a test can add handlers before connecting

    def on_update(self, data):
        """One `update` per change: its events (each tagged with the session) and maybe a view."""
        with self.lock:
            for ev in data["events"]:
                self.events.append({"session_id": data["session_id"], **ev})
            if "view" in data:
                self.views.append({"session_id": data["session_id"], "view": data["view"],
                                   "last_seq": data["last_seq"]})
                self.view = data["view"]

    def on_presence(self, data):
        with self.lock:
            self.presence.append(data)

    def on_revoked(self, data):
        with self.lock:
            self.revoked.append(data)

    def on_disconnect(self, *args):
        self.gone.set()

    def connect(self, origin="same", auth="token", headers=None, transports=None, wait_timeout=WAIT):
        """Connect with an Origin (default: the server's own; None: no Origin header at all)."""
        self.open(self.sio, origin=origin, auth=auth, headers=headers, transports=transports,
                  wait_timeout=wait_timeout)
        return self

    def join(self, last_seq=0, session_id=None):
        ack = self.sio.call("join", {"session_id": session_id or self.session_id, "last_seq": last_seq},
                            timeout=WAIT)
        if ack["ok"]:
            with self.lock:
                self.view = ack["snapshot"]["view"]
                self.events.extend(ack["events"])
        return ack

    def act(self, kind, data=None, step=None, client_id=None):
        payload = self.action(kind, step, data, client_id or f"{self.name}-{uuid.uuid4().hex[:12]}")
        if step is None:
            del payload["step"]
        return self.sio.call("action", payload, timeout=WAIT)

    def ok(self, kind, data=None, step=None, client_id=None):
        ack = self.act(kind, data, step, client_id)
        assert ack.get("ok"), (self.name, kind, step, ack)
        return ack

    def submit(self, data, step=None):
        """Submit at the current step (as this peer's latest view names it)."""
        return self.ok("submit", data, step or self.view["step"])

    def seqs(self):
        with self.lock:
            return [e["seq"] for e in self.events]

    def types(self):
        with self.lock:
            return [e["type"] for e in self.events]

    def wait_for(self, predicate, what="condition", timeout=WAIT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if predicate(self):
                    return
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: timed out waiting for {what}; saw {self.types()[-8:]}")

    def wait_step(self, step, exercise=None):
        self.wait_for(lambda p: p.view and p.view["step"] == step and (
            exercise is None or p.view["exercise"] == exercise), f"step {step}")


# ------------------------------------------------------------------ playing a room of LivePeers
# `room` has `alice`, `bob` and `theo` (LivePeers, joined): tests/realtime's `room` fixture.

def turn(peer, step, data):
    """Wait until `peer` sees `step`, then answer it."""
    peer.wait_step(step)
    assert peer.view["your_turn"], (peer.name, step, peer.view["waiting_for"])
    return peer.submit(data, step)


def both(room, step, data_a, data_b):
    turn(room.alice, step, data_a)
    turn(room.bob, step, data_b)


def safe_start(room, exercise, **options):
    room.alice.ok("safety", {"safe": True})
    room.bob.ok("safety", {"safe": True})
    room.alice.wait_for(lambda p: p.view["phase"] == "ready", "phase ready")
    room.alice.ok("start_exercise", {"exercise": exercise, **options})


def everyone_at(room, step, exercise=None):
    for p in (room.alice, room.bob, room.theo):
        p.wait_step(step, exercise)


# ------------------------------------------------------------------ a client that survives crashes

class Peer(SocketClient):
    """A client that survives crashes (see the module's docstring); `role` is its seat."""

    def __init__(self, name, role, token, session_id, url, transports=("websocket",)):
        super().__init__(name, token, session_id, url, transports)
        self.role = role
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
            sio = self.new_sio()
            try:
                self.open(sio, url, wait_timeout=3)
            except Exception as err:  # noqa: BLE001 - the server may still be starting
                last = err
                try:
                    sio.disconnect()
                except Exception:  # noqa: BLE001
                    pass
                time.sleep(0.1)
                continue
            try:
                if self.join():
                    return True
            except Exception as err:  # noqa: BLE001
                last = err
            self.close()
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} could not reconnect: {last!r}")

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

    view_seq = 0  # the viewer's last seq that `view` reflects
    behind = False  # an update said the log goes further than what arrived: rejoin

    def on_update(self, data):
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
    def act(self, kind, step=None, data=None, client_id=None, timeout=ACK_TIMEOUT):
        """Send one action (or resend the pending one first). Returns the ack or None."""
        if self.pending is None:
            self.pending = self.action(kind, step, data, client_id or new_id(self.role))
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
    conditional requirements are always met). Optional minutes without a default (a proposal
    to lengthen a break) and optional dates are left out; yes-no fields say yes (ready to come
    back, share with my partner)."""
    out = {}
    for f in view.get("input") or []:
        kind, name = f["kind"], f["name"]
        if kind == "rating":
            out[name] = rng.randint(0, 10)
        elif kind in ("feeling", "need"):
            out[name] = rng.choice(f.get("options") or ["calm"])
        elif kind == "text":
            out[name] = f"{view['role']} {name} {rng.randint(0, 9999)}"
        elif kind == "bool":
            out[name] = True
        elif kind == "minutes":
            if "default" in f:
                out[name] = f["default"]
            elif f["required"]:
                out[name] = f.get("min", 20)
        elif kind == "choice":
            out[name] = CHOICES.get(name, lambda o, r: o[0])(f["options"], rng)
        elif kind == "date":
            continue
    return out


CHOICES = {
    "first": lambda o, r: r.choice(o),
    "verdict": lambda o, r: ("clarify" if (x := r.random()) < 0.2 else "more" if x < 0.3
                             else "accurate"),
    "answer": lambda o, r: r.choice(o),
    "response": lambda o, r: "accept" if r.random() < 0.7 else "answer",
    # greeting: ask (then a reply) or reflect; save the ritual or skip it; keep, change or not now
    "way": lambda o, r: r.choice(o),
    "decision": lambda o, r: r.choice(o),
    "agree": lambda o, r: "change" if r.random() < 0.2 else r.choice(["keep", "skip"]),
    # offer_swap: finish; next_step: resume; not_back (the partner is late): keep waiting
    "choice": lambda o, r: next((c for c in ("finish", "resume", "wait") if c in o), o[0]),
}


class Duo:
    """Alice and Bob playing a session from their views: safety, then `plan` (a list of
    exercise keys; None ends the list), with an optional timeout called mid-needs. Exercises are
    started with "start anyway", so that a random high rating never holds up a scripted session
    at the distress gate."""

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
                options.append((p, "start_exercise", None, {"exercise": self.plan[0], "start_anyway": True}))
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
