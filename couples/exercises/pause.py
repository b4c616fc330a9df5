"""Pausing and stopping, a press away at any moment: pause (with a private reason), the seed's
pause technique while paused (name the feeling, rate it 0-10, choose what next: every part
optional, so it never stands between a flooded partner and a break, and private unless shared, as
the protocol keeps ratings in a pause), breathing together, ready to go on, and ending."""
from .acting import (EngineError, call_timeout, load, need_partner, no_start_reason, note_distress,
                     private_audience)
from .declarations import EXERCISES
from .inputs import boolean, choice, feeling, rating, schema, share, text
from .runs import add_event, end_session, exercise_of
from .state import iso, parse_time

NEXT_AFTER_PAUSE = {"breathe": "Breathe together for two minutes", "timeout": "Take a time-out",
                    "carry_on": "Carry on", "end": "End for today"}

PauseCheck = schema(
    "pause_check",
    feeling=feeling("What I feel (optional)", required=False),
    rating=rating("How strong, 0 (calm) to 10 (overwhelming)", required=False, distress=True),
    next=choice(list(NEXT_AFTER_PAUSE), "What would help now", required=False,
                labels=NEXT_AFTER_PAUSE),
    share=share(False))

# The breathing pacer both screens show: phases counted from one server time, not each clock.
BREATHE_SECONDS, INHALE, EXHALE = 120, 4, 6

ReasonSchema = schema(
    "reason_schema",
    reason=text("A reason, only for you and your therapist (optional)", max_length=500,
                required=False),
    for_therapist=boolean("Ask my therapist to look at this", default=False))


def h_pause(s, a, ev):
    need_partner(a)
    if s["paused"]:
        raise EngineError("paused", "The session is already paused.")
    data = load(ReasonSchema, a.payload)
    reason = data.get("reason")
    s["paused"] = {"by": a.actor, "at": iso(a.now), "reason": reason,
                   "ready": {"a": False, "b": False}, "breathe": None}
    add_event(ev, "paused", a.actor, {"by": a.actor})
    if reason:
        add_event(ev, "pause_reason", a.actor, {"by": a.actor, "reason": reason,
                                                "for_therapist": data["for_therapist"]},
                  [a.actor, "therapist"])


def h_pause_check(s, a, ev):
    """The pause technique's three parts, from either partner while paused; `next` acts on it."""
    need_partner(a)
    p = s["paused"]
    if not p:
        raise EngineError("bad_action", "Nothing is paused.")
    data = load(PauseCheck, a.payload)
    if data.get("next") == "timeout" and s["phase"] in ("safety", "hold"):
        no_start_reason(s, a.actor)  # as for the timeout action: not before the safety question
    shown = {k: v for k, v in data.items() if v is not None}
    add_event(ev, "pause_checked", a.actor, dict(shown, by=a.actor), private_audience(a.actor, data))
    note_distress(s, a.actor, PauseCheck, data, "pause", ev)
    nxt = data.get("next")
    if nxt == "breathe":
        p["breathe"] = {"by": a.actor, "started_at": iso(a.now), "seconds": BREATHE_SECONDS,
                        "inhale": INHALE, "exhale": EXHALE}
        add_event(ev, "breathing_started", a.actor, dict(p["breathe"]))
    elif nxt == "timeout":
        run = s["run"]
        if run and exercise_of(run).interrupts:  # already in a time-out: the pause just ends
            s["paused"] = None
            add_event(ev, "pause_ended", a.actor, {"by": a.actor, "into": "timeout"})
            return
        ex = next(e for e in EXERCISES.values() if e.interrupts)
        call_timeout(s, ex, a.actor, {}, a.now, ev)
    elif nxt == "carry_on" and not p["ready"][a.actor]:
        mark_ready(s, a, ev)
    elif nxt == "end":
        end_session(s, a.actor, "ended_by_partner", a.now, ev)


def h_ready(s, a, ev):
    need_partner(a)
    p = s["paused"]
    if not p:
        raise EngineError("bad_action", "Nothing is paused.")
    if p["ready"][a.actor]:
        raise EngineError("not_your_turn", "You have already said you are ready.")
    load(None, a.payload)
    mark_ready(s, a, ev)


def mark_ready(s, a, ev):
    p = s["paused"]
    p["ready"][a.actor] = True
    add_event(ev, "partner_ready", a.actor, {"partner": a.actor})
    if all(p["ready"].values()):
        s["paused"] = None
        paused_seconds = int((a.now - parse_time(p["at"])).total_seconds())
        add_event(ev, "resumed", None, {"paused_at": p["at"], "resumed_at": iso(a.now),
                                        "paused_seconds": paused_seconds})


def h_end(s, a, ev):
    need_partner(a)
    data = load(ReasonSchema, a.payload)
    end_session(s, a.actor, "ended_by_partner", a.now, ev)
    if data.get("reason"):
        add_event(ev, "end_reason", a.actor, {"by": a.actor, "reason": data["reason"],
                                              "for_therapist": data["for_therapist"]},
                  [a.actor, "therapist"])
