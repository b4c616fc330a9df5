"""Every step of every registered exercise, for the security suites, read from the registry
(couples.exercises.engine.EXERCISES) so that a new exercise's steps are included without a line
here.

`covering_walks()` plays the pure engine with a cooperative bot (valid answers drawn from each
step's described input, a seeded RNG, timers fired when nobody else can move) and keeps a few walks
that between them enter every (exercise, step) of the registry: a walk is the list of moves from a
new session, replayable through the real service. `valid_payload` and `broken_payloads` give, for
a described input, an answer the step accepts and answers it must refuse (each one INVALID by
construction: a required field dropped, an unknown key, a wrong type, a value out of its range).
"""
from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass, field

from couples.exercises import engine

WALKS_PER_EXERCISE = 40
MAX_MOVES = 160
ODD = ["nul\x00byte", "\ud800", "\x1b[31mred", "A" * 5000]


@dataclass(frozen=True)
class Move:
    """One move of a walk: a partner's action, or the system's timer after `minutes`."""
    seat: str | None
    kind: str
    step: str | None = None
    data: dict = field(default_factory=dict, hash=False, compare=False)
    minutes: int = 0


@dataclass
class Walk:
    exercise: str
    moves: list
    # the index of the move before which the session first stands at (exercise, step)
    reaches: dict = field(default_factory=dict)


def every_step() -> list:
    """(exercise, step) for every step of every registered exercise, in declared order."""
    return [(ex.key, name) for ex in engine.EXERCISES.values() for name in ex._order]


def described(exercise, step) -> list:
    """The input a step asks for (its log's, at a step only the timer moves on)."""
    s = engine.EXERCISES[exercise].step(step)
    return engine.describe(s.log if s.actor == engine.NOBODY else s.schema)


# --------------------------------------------------------------------------- answers


def value_for(f, rng, today):
    kind = f["kind"]
    if kind == "rating":
        return rng.randint(0, 4)  # calm: no distress gate stands between the bot and a step
    if kind in ("feeling", "need"):
        return rng.choice(f.get("options") or ["calm"])
    if kind == "choice":
        return rng.choice(f["options"])
    if kind == "bool":
        return True if f["name"] in ("safe", "ready") else rng.choice([True, False])
    if kind == "minutes":
        return f.get("default", f.get("min", 20))
    if kind == "date":
        return (today + dt.timedelta(days=rng.randint(0, 30))).isoformat()
    return f"{f['name']} {rng.randint(0, 999)}"[:f.get("max_length", 1000)]


def valid_payload(fields, rng, today, all_optional=True) -> dict:
    """Required fields, and (so that a rule needing one when another is set is met) every optional
    text; other optional fields now and then. Minutes with no default are left out."""
    out = {}
    for f in fields:
        if f["kind"] == "minutes" and "default" not in f and not f["required"]:
            continue
        if f["required"] or (all_optional and f["kind"] == "text") or rng.random() < 0.3:
            out[f["name"]] = value_for(f, rng, today)
    return out


def broken_payloads(fields, valid, rng, n=2) -> list:
    """`n` answers the step must refuse, each with one invalid change to `valid`."""
    out = []
    kinds = ["extra", "type"] + (["drop"] if any(f["required"] for f in fields) else [])
    for _ in range(n):
        how = rng.choice(kinds) if fields else "extra"
        body = dict(valid)
        if how == "extra":
            body[rng.choice(["role", "seq", "audience", "__proto__", "solution", ""])] = "x"
        elif how == "drop":
            body.pop(rng.choice([f["name"] for f in fields if f["required"]]))
        else:
            f = rng.choice(fields)
            body[f["name"]] = wrong_value(f, rng)
        out.append(body)
    return out


def wrong_value(f, rng):
    """A value of the wrong type, or out of the field's range: never accepted."""
    kind = f["kind"]
    if kind in ("rating", "minutes"):
        return rng.choice([-1, 11 if kind == "rating" else 100_000, 7.5, "7", True, [7]])
    if kind == "bool":
        return rng.choice(["yes", 1, None, "true"])
    if kind == "choice":
        return rng.choice(["nope", 3, None, [f["options"][0]]])
    if kind == "date":
        return rng.choice(["soon", "2026-02-30", 20260308, None])
    return rng.choice(ODD + [5, None, ["x"], {"x": 1}])


# --------------------------------------------------------------------------- walks


class _Stuck(Exception):
    pass


def _walk(key, seed, t0):
    """One cooperative session of exercise `key` on the pure engine."""
    rng, now, moves, reaches = random.Random(seed), t0, [], {}
    state = engine.new_state()

    def play(move):
        nonlocal state, now
        now += dt.timedelta(minutes=move.minutes)
        action = engine.Action(move.kind, move.seat, move.data, now, move.step)
        state = engine.apply(state, action).state
        moves.append(move)

    play(Move("a", "safety", None, {"safe": True}))
    play(Move("b", "safety", None, {"safe": True}))
    # Both rate themselves calm first (the pause technique): a gate on calm opens for the bot.
    play(Move("a", "pause"))
    play(Move("a", "pause_check", None, {"rating": 2, "next": "carry_on"}))
    play(Move("b", "pause_check", None, {"rating": 2, "next": "carry_on"}))
    ex = engine.EXERCISES[key]
    options = valid_payload(engine.describe(ex.options) or [], rng, now.date())
    play(Move(rng.choice("ab"), "start_exercise", None, {"exercise": key, "start_anyway": True,
                                                         **options}))
    while len(moves) < MAX_MOVES and state["phase"] == "exercise":
        run = state["run"]
        reaches.setdefault((run["exercise"], run["step"]), len(moves))
        due = engine.deadline(state)
        waiting = engine.view(state, "therapist", now)["waiting_for"]
        if due is not None and (not waiting or rng.random() < 0.15):
            play(Move(None, "timer", minutes=max(0, int((due - now).total_seconds() // 60) + 1)))
            continue
        seat = rng.choice(waiting or ["a", "b"])
        fields = described(run["exercise"], run["step"])
        for _ in range(8):
            data = valid_payload(fields, rng, now.date())
            try:
                play(Move(seat, "submit", run["step"], data))
                break
            except engine.EngineError:
                continue
        else:
            raise _Stuck((key, run["step"], fields))
    return Walk(key, moves, reaches)


@functools.cache
def covering_walks(t0: dt.datetime) -> tuple:
    """Few walks that between them enter every (exercise, step) of the registry, the shortest
    first. Refuses (AssertionError) when a step cannot be reached by a cooperative pair at all."""
    chosen, covered = [], set()
    for key in engine.EXERCISES:
        found = []
        for seed in range(WALKS_PER_EXERCISE):
            try:
                found.append(_walk(key, seed, t0))
            except _Stuck:
                continue
        wanted = {(key, s) for s in engine.EXERCISES[key]._order}
        while wanted - covered:
            best = max(found, key=lambda w: (len(set(w.reaches) & (wanted - covered)), -len(w.moves)))
            new = set(best.reaches) & (wanted - covered)
            assert new, f"{key}: no cooperative walk reaches {sorted(wanted - covered)}"
            chosen.append(best)
            covered |= set(best.reaches)
    return tuple(chosen)


# --------------------------------------------------------------------------- through the service


class Replay:
    """A walk played through the real service on the security world: Alice (seat a) and Bob
    (seat b) on their own sockets, Theo observing, the practice clock held by the test. Timers
    fire as the sweeper fires them (turns.fire_timer), never inside someone's refused action."""

    def __init__(self, world, clock, t0):
        from couples.extensions import socketio
        world.restore()
        clock.at = t0
        self.world, self.clock = world, clock
        self.session = world.targets["partner"].session
        self.clients = {seat: socketio.test_client(world.app, auth={"token": world.tokens[name]})
                        for seat, name in (("a", "partner"), ("b", "partner_b"), ("therapist", "therapist"))}
        for c in self.clients.values():
            assert c.emit("join", {"session_id": self.session}, callback=True)["ok"]
        self.n = 0
        self.state = engine.new_state()  # the same walk on the pure engine, to ask who is awaited

    def waiting(self) -> list:
        return engine.view(self.state, "therapist", self.clock.at)["waiting_for"]

    def send(self, seat, kind, data, step=None):
        self.n += 1
        return self.clients[seat].emit("action", {"session_id": self.session, "id": f"walk-{self.n:05d}",
                                                  "kind": kind, "step": step, "data": data}, callback=True)

    def play(self, move: Move):
        at = self.clock.at + dt.timedelta(minutes=move.minutes)
        self.state = engine.apply(self.state, engine.Action(move.kind, move.seat, move.data, at,
                                                            move.step)).state
        if move.kind == "timer":
            from couples.extensions import db
            from couples.models import PracticeSession
            from couples.room import turns
            from sqlalchemy import select
            self.clock.at += dt.timedelta(minutes=move.minutes)
            with self.world.app.app_context():
                sid = db.session.scalar(select(PracticeSession.id).where(
                    PracticeSession.public_id == self.session))
                assert turns.fire_timer(sid) is not None, move
                db.session.remove()
            return
        self.clock.at += dt.timedelta(minutes=move.minutes)
        ack = self.send(move.seat, move.kind, move.data, move.step)
        assert ack["ok"], (move, ack)

    def drain(self):
        for c in self.clients.values():
            c.get_received()

    def close(self):
        for c in self.clients.values():
            if c.is_connected():
                c.disconnect()
