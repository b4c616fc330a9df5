"""A therapist's hold on a couple's joint practice (after a disclosure, say): what stops while it
is on, what goes on, and the words the partners read. The hold itself is two system actions,
"hold" and "release" (actor None, applied by the room service as the timer is; actions.py).

While held, no joint exercise starts and a running one is set aside at once: stopping joint work
now is the point of a hold. What a partner does for themselves goes on: a time-out's break and
coming back from it, a pause, ending the session, the safety question. Nobody is told why: the
events carry no reason, and nothing says which answer led to it."""
from __future__ import annotations

from .acting import EngineError, load
from .declarations import EXERCISES
from .runs import abandon_stack, add_event, exercise_of
from .state import iso

PROMPT = ("Your therapist has paused joint practice for now. You can still take a time-out, pause "
          "or end the session.")
REFUSED = ("Your therapist has paused joint practice for now. You can still take a time-out, pause "
           "or end.")
THERAPIST_PROMPT = ("You have paused this couple's joint practice. They can still take a "
                    "time-out, pause or end the session.")


def held(s) -> bool:
    return bool(s.get("held"))


def goes_on(run) -> bool:
    """Whether the running exercise may go on under a hold: only its solo steps (a time-out's
    break and coming back); every other step is joint practice."""
    return run["step"] in exercise_of(run).solo_steps


def refuses_start(s, payload) -> bool:
    """A start_exercise refused by the hold: anything but the time-out, which is always in reach."""
    key = payload.get("exercise") if isinstance(payload, dict) else None
    ex = EXERCISES.get(key) if isinstance(key, str) else None
    return held(s) and not (ex is not None and ex.interrupts)


def need_system(a):
    if a.actor is not None:
        raise EngineError("not_your_turn", "Only a linked therapist can do this, from their own page.")
    load(None, a.payload)


def h_hold(s, a, ev):
    """A therapist puts joint practice on hold: a running joint exercise, and one a time-out
    interrupted, is set aside at once; a time-out's break goes on (goes_on). No reason is given."""
    need_system(a)
    if held(s):
        raise EngineError("bad_action", "Joint practice is already on hold.")
    s["held"] = {"at": iso(a.now)}
    add_event(ev, "practice_held", None, {})
    run = s["run"]
    if run and not goes_on(run):
        add_event(ev, "exercise_abandoned", None, {"exercise": run["exercise"], "step": run["step"],
                                                   "reason": "held"})
        s["run"], s["phase"] = None, "ready"
        abandon_stack(s, ev)


def h_release(s, a, ev):
    """The therapist lifts the hold: the partners may start joint exercises again."""
    need_system(a)
    if not held(s):
        raise EngineError("bad_action", "Joint practice is not on hold.")
    del s["held"]
    add_event(ev, "practice_released", None, {})
