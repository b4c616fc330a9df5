"""Bad input on every socket event (hypothesis): each case gets the error ack
{ok: false, error: {code, message, fields}}, never server_error, the other partner's connection
is untouched and hears nothing, and the stored data stays as it was. Bad answers are sent at every
step of every exercise in the registry (exercise_walks.py: a new exercise is fuzzed without a line
here). Also: the socket rate limits, per socket and per person (couples/room/ratelimit.py)."""
import datetime as dt
import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from couples.room import ratelimit
from couples.extensions import socketio
from couples.room.packets import REFUSED_EVENT, RESERVED_EVENTS
from exercise_walks import Replay, broken_payloads, covering_walks, described, every_step, valid_payload
from fuzzkit import BAD_RATINGS, BAD_TEXT, DEEP, EXTRA_KEYS, any_body, json_values
from secworld import EASY_SOCKETS, SUMMARY
from support.clients import LivePeer
from support.inprocess import FakeClock

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# The envelope and the check-in's data: fewer cases than the other events, since every step of
# every exercise gets its own bad answers (test_bad_answers_at_every_step_of_every_exercise).
ENVELOPE = settings(FUZZ, max_examples=40)
T0 = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)


CODES: dict = {}  # error code -> how often (printed by test_codes_seen, for the curious)


class Room:
    """Alice and Bob joined to their session at the needs request's check-in (every field of it
    is required or has a default, so a broken payload is never a valid one); Theo observing."""

    def __init__(self, world):
        world.restore()
        self.world, self.session = world, world.targets["partner"].session
        self.alice, self.bob, self.theo = (socketio.test_client(world.app, auth={"token": world.tokens[n]})
                                           for n in ("partner", "partner_b", "therapist"))
        for c in (self.alice, self.bob, self.theo):
            assert c.emit("join", {"session_id": self.session}, callback=True)["ok"]
        self.act(self.alice, "safety", {"safe": True})
        self.act(self.bob, "safety", {"safe": True})
        self.act(self.alice, "start_exercise", {"exercise": "needs"})
        self.step = "suds_before"
        self.bob.get_received()
        self.baseline = self.stable()

    def act(self, client, kind, data, step=None):
        ack = client.emit("action", {"session_id": self.session, "id": "setup-" + uuid.uuid4().hex[:10],
                                     "kind": kind, "step": step, "data": data}, callback=True)
        assert ack["ok"], ack
        return ack

    def valid_action(self):
        return {"session_id": self.session, "id": "fuzz-" + uuid.uuid4().hex[:12], "kind": "submit",
                "step": self.step, "data": {"suds": 3}}

    def stable(self):
        snap = self.world.snapshot()
        return {"counts": {k: v for k, v in snap["counts"].items() if k != "audit_log"}, "sessions": snap["sessions"]}

    def check(self, ack, sender):
        SUMMARY["fuzz cases run (socket)"] += 1
        CODES[ack.get("error", {}).get("code") if isinstance(ack, dict) else repr(ack)] = \
            CODES.get(ack.get("error", {}).get("code") if isinstance(ack, dict) else repr(ack), 0) + 1
        assert isinstance(ack, dict) and ack.get("ok") is False, ack
        assert set(ack["error"]) == {"code", "message", "fields"}, ack
        assert ack["error"]["code"] != "server_error", ack
        assert sender.is_connected() and self.bob.is_connected() and self.theo.is_connected()
        heard = [r for r in self.bob.get_received() if r["name"] == "update"]
        assert heard == [], heard
        assert self.stable() == self.baseline

    def close(self):
        for c in (self.alice, self.bob, self.theo):
            if c.is_connected():
                c.disconnect()


@pytest.fixture(scope="module")
def room(world):
    r = Room(world)
    yield r
    r.close()


BAD_DATA = {"suds": BAD_RATINGS}


@st.composite
def bad_actions(draw, room):
    """A submit at the current step, broken in the payload or in the step's own data."""
    valid = room.valid_action()
    where = draw(st.sampled_from(["envelope", "data"]))
    if where == "data":
        data = draw(any_body({"suds": 3}, BAD_DATA))
        if isinstance(data, dict) and draw(st.booleans()):
            data["feeling"] = draw(st.sampled_from(BAD_TEXT))
        return {**valid, "data": data}
    return draw(any_body(valid, {
        "session_id": ["", "x" * 37, "../../etc", room.other_session, "' OR 1=1--", "\u202e"],
        "id": ["short", "x" * 65, "has space", "\ud800" * 10, "émoji🙂🙂🙂"],
        "kind": ["timer", "admin", "submit ", "", "SUBMIT", "observe"],
        "step": ["no_such_step", "suds_after", "greet", "SUDS_BEFORE", "x" * 41, "../"],
    }))


def test_bad_actions(room):
    from sqlalchemy import select

    from couples.extensions import db
    from couples.models import PracticeSession
    with room.world.app.app_context():
        theirs = room.world.targets["other_couple"].couple_id
        room.other_session = db.session.scalar(select(PracticeSession.public_id).where(
            PracticeSession.couple_id == theirs))
        db.session.remove()

    @ENVELOPE
    @given(data=st.data())
    def case(data):
        payload = data.draw(bad_actions(room))
        sender = data.draw(st.sampled_from([room.alice, room.theo]))
        room.check(sender.emit("action", payload, callback=True), sender)

    case()


@FUZZ
@given(payload=st.one_of(json_values(), DEEP, st.fixed_dictionaries(
    {"session_id": st.one_of(st.text(max_size=40), st.integers(), st.none())},
    optional={"last_seq": st.sampled_from([-1, "0", 1.5, 2 ** 70, None, True, [], {}]),
              "room": st.text(max_size=10), "role": st.just("therapist")})))
def test_bad_joins(room, payload):
    """A join naming another room, another couple's session or nonsense never moves the socket."""
    if isinstance(payload, dict) and payload.get("session_id") == room.session:
        payload["last_seq"] = -1  # keep it invalid
    room.check(room.alice.emit("join", payload, callback=True), room.alice)


@FUZZ
@given(event=st.sampled_from(["leave", "heartbeat"]),
       payload=st.one_of(json_values().filter(lambda v: v not in ({}, None)), DEEP,
                         st.dictionaries(st.sampled_from(EXTRA_KEYS + ["session_id"]), json_values(3), min_size=1)))
def test_bad_leaves_and_heartbeats(room, event, payload):
    if isinstance(payload, dict) and set(payload) == {"session_id"}:
        payload["extra"] = 1  # a lone session_id can be valid; keep every case invalid
    room.check(room.alice.emit(event, payload, callback=True), room.alice)


@FUZZ
@given(name=st.one_of(st.sampled_from(sorted(RESERVED_EVENTS | {REFUSED_EVENT})), st.text(max_size=12)),
       payload=st.one_of(st.none(), json_values(), DEEP), sender=st.sampled_from(["alice", "theo"]))
def test_reserved_and_unknown_event_names(room, name, payload, sender):
    """Any event name but the four of the protocol, the reserved and lifecycle names above all
    ("connect", "disconnect"): the error ack `unknown_event`, and the sender stays joined."""
    if name in ("join", "action", "heartbeat", "leave"):
        name = name + "!"
    client = getattr(room, sender)
    ack = client.emit(name, payload, callback=True) if payload is not None else client.emit(name, callback=True)
    room.check(ack, client)
    assert ack["error"]["code"] == "unknown_event"


def test_the_room_still_hears_everyone_after_the_reserved_names(room):
    """After all those names, Theo is still observing (his connection row untouched)."""
    ack = room.alice.emit("heartbeat", {}, callback=True)
    assert ack["ok"]
    joined = room.theo.emit("join", {"session_id": room.session}, callback=True)
    assert joined["ok"] and joined["snapshot"]["presence"]["therapist"]["observing"]


@pytest.mark.parametrize("rating", BAD_RATINGS, ids=[repr(r)[:20] for r in BAD_RATINGS])
def test_every_bad_rating_is_refused(room, rating):
    payload = room.valid_action()
    payload["data"]["suds"] = rating
    room.check(room.alice.emit("action", payload, callback=True), room.alice)


# Bad data for every kind of action a person may send (engine.USER_KINDS; submit's forms are
# fuzzed above): each is refused, changes nothing and reaches nobody. A new kind fails
# test_every_action_kind_has_bad_data until it is listed here.
BAD_BY_KIND = {
    "safety": [{"safe": "yes"}, {"safe": 1}, {"safe": True, "extra": 1}],
    "start_exercise": [{"exercise": "nope"}, {"exercise": 3}, {"exercise": "needs", "start_anyway": "yes"}],
    "pause": [{"reason": 5}, {"reason": "x" * 501}, {"for_therapist": "yes"}, {"why": "tired"}],
    "pause_check": [{"rating": 11}, {"rating": "7"}, {"next": "run_away"}, {"share": "no"},
                    {"feeling": "x" * 41}, {"blame": "you"}],
    "ready": [{"now": True}],
    "end": [{"reason": []}, {"for_therapist": 0}, {"because": "x"}],
    "timeout": [{"minutes": 5}, {"minutes": 2000}, {"arousal": -1}, {"share": 1}, {"blame": "you started it"}],
}
ONLY_WHILE_PAUSED = ("pause_check", "ready")


def test_every_action_kind_has_bad_data():
    from couples.exercises import engine
    assert set(BAD_BY_KIND) == set(engine.USER_KINDS) - {"submit"}


@pytest.mark.parametrize("kind", sorted(BAD_BY_KIND))
def test_bad_data_for_every_action_kind(room, kind):
    """While paused for the kinds that only act then, so their own validation is what refuses."""
    if kind in ONLY_WHILE_PAUSED:
        room.act(room.alice, "pause", {})
        room.bob.get_received()
        room.baseline = room.stable()
    try:
        for data in BAD_BY_KIND[kind] + [[], "x", 7]:
            payload = {**room.valid_action(), "kind": kind, "step": None, "data": data}
            for sender in (room.alice, room.theo):
                room.check(sender.emit("action", payload, callback=True), sender)
    finally:
        if kind in ONLY_WHILE_PAUSED:
            room.act(room.alice, "ready", {})
            room.act(room.bob, "ready", {})
            room.bob.get_received()
            room.baseline = room.stable()


def test_a_valid_action_still_works_after_all_that(room):
    """The room is not wedged: the real answer is accepted and Bob hears about it."""
    ack = room.alice.emit("action", room.valid_action(), callback=True)
    assert ack["ok"], ack
    assert any(r["name"] == "update" and r["args"][0]["events"] for r in room.bob.get_received())


def test_bad_answers_at_every_step_of_every_exercise(world, room):
    """Walks that between them enter every step of every registered exercise, played through the
    service; at each step's first entry, answers broken against that step's own input (a required
    field dropped, an unknown key, a wrong type or range) from the partner whose turn it is, and a
    valid one from Theo: each refused, nothing stored or heard. Then the walk goes on."""
    rng, clock, fuzzed = random.Random(25), FakeClock(), set()
    world.app.config["CLOCK"] = clock
    try:
        for walk in covering_walks(T0):
            replay = Replay(world, clock, T0)
            at = {i: target for target, i in walk.reaches.items() if target not in fuzzed}
            for i, move in enumerate(walk.moves):
                if i in at:
                    fuzzed.add(at[i])
                    fuzz_step(replay, at[i], move, rng, room, observer=len(fuzzed) % 4 == 0)
                replay.play(move)
                replay.drain()
            replay.close()
        assert fuzzed == set(every_step())
    finally:
        world.app.config.pop("CLOCK", None)
        room.close()
        room.__init__(world)  # the module's room, as the tests after this one expect it


def fuzz_step(replay, target, move, rng, room, observer):
    """Bad answers at `target`, the step the session stands at (each case sampled: two broken
    answers from the partner whose turn it is, and at every fourth step Theo's valid one)."""
    baseline = room.stable()
    fields = described(*target)
    seat = move.seat if move.kind == "submit" else "a"  # a break's log: either partner
    valid = move.data if move.kind == "submit" else valid_payload(fields, rng, replay.clock.at.date())
    cases = [(seat, bad) for bad in broken_payloads(fields, valid, rng)] + [("therapist", valid)] * observer
    for who, data in cases:
        ack = replay.send(who, "submit", data, target[1])
        SUMMARY["fuzz cases run (socket)"] += 1
        assert isinstance(ack, dict) and ack.get("ok") is False, (target, who, data, ack)
        assert set(ack["error"]) == {"code", "message", "fields"}, ack
        expected = "observer_read_only" if who == "therapist" else "invalid_input"
        assert ack["error"]["code"] == expected, (target, data, ack)
    heard = [r for c in replay.clients.values() for r in c.get_received() if r["name"] == "update"]
    assert heard == [], (target, heard)
    assert room.stable() == baseline, target


# --------------------------------------------------------------------------- rate limit


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    buckets = ratelimit.TokenBuckets(rate=20, burst=40, clock=lambda: now[0])
    assert sum(buckets.allow("s1") for _ in range(100)) == 40  # the burst, then refused
    assert buckets.allow("s2")  # one socket's flood costs another nothing
    now[0] += 0.5
    assert sum(buckets.allow("s1") for _ in range(100)) == 10  # 20/s for half a second
    buckets.forget("s1")
    assert buckets.allow("s1")


def test_a_flooding_socket_is_throttled_and_the_others_are_not(fresh):
    fresh.app.config.update(SOCKET_RATE_PER_SECOND=5, SOCKET_RATE_BURST=10)
    fresh.app.extensions.pop("socket_rate_limit", None)
    try:
        alice = socketio.test_client(fresh.app, auth={"token": fresh.tokens["partner"]})
        bob = socketio.test_client(fresh.app, auth={"token": fresh.tokens["partner_b"]})
        acks = [alice.emit("heartbeat", {}, callback=True) for _ in range(30)]
        codes = [a["ok"] or a["error"]["code"] for a in acks]
        assert codes.count(True) <= 12 and "rate_limited" in codes
        assert all(set(a["error"]) == {"code", "message", "fields"} for a in acks if not a["ok"])
        assert alice.is_connected()
        assert bob.emit("heartbeat", {}, callback=True)["ok"]
    finally:
        fresh.app.config.update(SOCKET_RATE_PER_SECOND=10_000, SOCKET_RATE_BURST=10_000)
        fresh.app.extensions.pop("socket_rate_limit", None)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sends=st.lists(st.tuples(st.integers(0, 4), st.one_of(
    st.sampled_from(["join", "action", "heartbeat", "leave", *sorted(RESERVED_EVENTS | {REFUSED_EVENT})]),
    st.text(max_size=8))), min_size=1, max_size=24))
def test_whatever_a_person_sends_on_any_of_their_sockets_counts_against_one_budget(fresh, sends):
    """Issue 21: a budget per person, not only per socket. Five sockets of one login, any mix of
    event names (the protocol's, unknown, reserved): exactly the first BUDGET events are answered
    as usual, every later one is `rate_limited`, whichever socket it comes from; Bob is unaffected."""
    budget = 6
    fresh.app.config.update(SOCKET_EVENTS_PER_PERSON=f"{budget} per minute")
    fresh.app.extensions.pop("socket_limits", None)
    try:
        alice = [socketio.test_client(fresh.app, auth={"token": fresh.tokens["partner"]}) for _ in range(5)]
        codes = []
        for n, name in sends:
            ack = alice[n].emit(name, {}, callback=True)
            SUMMARY["fuzz cases run (socket)"] += 1
            codes.append("rate_limited" if not ack["ok"] and ack["error"]["code"] == "rate_limited" else "answered")
        assert codes == ["answered"] * min(budget, len(sends)) + ["rate_limited"] * max(0, len(sends) - budget), sends
        bob = socketio.test_client(fresh.app, auth={"token": fresh.tokens["partner_b"]})
        assert bob.emit("heartbeat", {}, callback=True)["ok"]
        for c in (*alice, bob):
            c.disconnect()
    finally:
        fresh.app.config.update(SOCKET_EVENTS_PER_PERSON=EASY_SOCKETS["SOCKET_EVENTS_PER_PERSON"])
        fresh.app.extensions.pop("socket_limits", None)


def test_codes_seen(room):
    print("\nsocket fuzz error codes:", dict(sorted(CODES.items(), key=lambda kv: -kv[1])))


# --------------------------------------------------------------------------- message size, live


def test_a_message_over_64_kb_is_refused_and_the_partner_stays(live):
    """The real server (eventlet) drops the sender of an oversized frame; Bob notices nothing."""
    import time

    def connect(name):
        return LivePeer(live, live.people["tokens"][name], name).connect(wait_timeout=5).sio

    alice, bob = connect("alice"), connect("bob")
    try:
        assert alice.call("heartbeat", {"session_id": None}, timeout=5)["ok"]
        fits = alice.call("heartbeat", {"pad": "x" * (60 * 1024)}, timeout=5)  # under the limit: a clear error
        assert fits["ok"] is False and fits["error"]["code"] == "invalid_input"
        alice.emit("heartbeat", {"pad": "x" * (65 * 1024)})
        deadline = time.monotonic() + 5
        while alice.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alice.connected, "a frame over 64 KB must close the sender's connection"
        assert bob.connected and bob.call("heartbeat", {}, timeout=5)["ok"]
        SUMMARY["fuzz cases run (socket)"] += 2
    finally:
        for c in (alice, bob):
            if c.connected:
                c.disconnect()
