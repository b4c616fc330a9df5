"""What an exercise is declared with: who acts, Step, Exercise, transition targets, the steps
added around every exercise, the registry, and Ctx (all that a definition's callables may read).
Definitions are data; nothing here runs them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .inputs import choice, describe, feeling, rating, schema, share

PARTNERS = ("a", "b")
EVERYONE = ["a", "b", "therapist"]

# Who acts at a step.
A, B = "A", "B"
SPEAKER, LISTENER = "SPEAKER", "LISTENER"
BOTH, EITHER = "BOTH", "EITHER"
CALLER, OTHER = "CALLER", "OTHER"
NOBODY = "NOBODY"  # only the timer moves this step on (partners may still log, see Step.log)

FINISH = "__finish__"  # a transition target: the declared steps are done (SUDS-after follows)
DONE = "__done__"  # internal: the exercise is over

# A distress rating at or above this privately suggests a time-out and gates demanding exercises.
FLOODED = 7


def other(seat):
    return "b" if seat == "a" else "a"


@dataclass(frozen=True)
class Swap:
    """A transition target: swap speaker and listener, start the next round at step `to`."""

    to: str


@dataclass(frozen=True)
class End:
    """A transition target: end the session now with `reason` (no check-out: nobody may be there)."""

    reason: str


@dataclass(frozen=True)
class Step:
    """One step of an exercise.

    actor:   A, B, SPEAKER, LISTENER, BOTH, EITHER, CALLER, OTHER, NOBODY, or run -> [seats]
             (everyone it lists answers, as for BOTH).
    prompt:  text (or ctx -> text) for whoever acts; `wait` for whoever waits.
    schema:  marshmallow schema class for the input (None: an empty payload).
    next:    a step name, FINISH, Swap(step), End(reason), or ctx -> one of those; None: the next
             declared step.
    timer:   ctx -> minutes: on entering the step a deadline is set; `on_timer` (a target, or
             ctx -> target) is where it leads. A BOTH step's partial answers are kept in
             ctx.data[step] when its timer fires.
    timer_emit: ctx -> [(event_type, data, audience)]: events when the timer fires.
    log:     for NOBODY steps: a schema partners may submit any number of times. Each partner's
             latest values are kept (ctx.logs(step)); a timer is recomputed from them.
    log_emit: ctx -> [(event_type, data)]: events after a log entry (ctx.input, ctx.actor set).
    check:   ctx, data -> {field: message}: rules that need `now` or earlier answers.
    emit:    ctx -> [(event_type, data)]: extra events after the step completes (ctx.input set).
    responds_to: earlier steps of this round whose words the step answers: the room shows the
             other partner's latest written words from those (default: their entries since the
             responder's own last one).
    """

    name: str
    actor: str
    prompt: Any
    title: str = ""
    wait: Any = "Your partner is answering. Take a slow breath while you wait."
    schema: Any = None
    next: Any = None
    timer: Callable | None = None
    on_timer: Any = None
    timer_emit: Callable | None = None
    log: Any = None
    log_emit: Callable | None = None
    check: Callable | None = None
    emit: Callable | None = None
    suggestions: tuple = ()
    responds_to: tuple = ()


@dataclass(frozen=True)
class Exercise:
    """An exercise: the engine wraps `steps` in SUDS-before (+ choose-speaker) and SUDS-after.

    summary:      what it is for; `minutes`: about how long it takes; `not_when`: when not to use
                  it (the catalogue on the practice page and in the room shows all three).
    check_fields: extra fields asked with SUDS before and after (greeting: how connected).
    starter_role: "caller" makes whoever starts the exercise its caller (timeout).
    interrupts:   the exercise can be called with action kind "timeout" from any step.
    after:        ctx -> None | {"start": key} | {"end": reason}: what follows completion
                  (default: back to the interrupted exercise, or phase "ready").
    demanding:    a partner whose last distress rating was FLOODED or more must say
                  "start anyway" (option `start_anyway`) to start it.
    calm_at_most: for a talk only calm partners should have (after a fight): it starts only
                  when both partners' most recent distress rating is at most this (refused
                  `calm_gate`, whoever starts it; "start anyway" does not apply), and when its
                  own check-in rates either higher it is set aside (`exercise_abandoned`,
                  reason `not_calm`). None: no such gate.
    checkin_optional: the check-in's distress rating may be left out (a light exercise); when
                  given it is kept, and flags at FLOODED or more, as everywhere.
    solo_steps:   steps that go on while a therapist holds joint practice (hold.py): what a
                  partner does for themselves (a time-out's break); every other step is joint.
    """

    key: str
    title: str
    summary: str
    steps: tuple
    minutes: int = 0
    not_when: str = ""
    options: Any = None
    suds_before: bool = True
    choose_speaker: bool = True
    check_fields: dict = field(default_factory=dict)
    starter_role: str | None = None
    interrupts: bool = False
    after: Callable | None = None
    demanding: bool = False
    calm_at_most: int | None = None
    checkin_optional: bool = False
    solo_steps: tuple = ()

    def __post_init__(self):
        built = []
        if self.suds_before:
            built.append(_suds_step("suds_before", self.check_fields, before=True,
                                    optional=self.checkin_optional))
        if self.choose_speaker:
            built.append(CHOOSE_SPEAKER)
        built.extend(self.steps)
        built.append(_suds_step("suds_after", self.check_fields, before=False))
        names = [s.name for s in built]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: duplicate step names")
        object.__setattr__(self, "_steps", {s.name: s for s in built})
        object.__setattr__(self, "_order", names)

    def step(self, name) -> Step:
        return self._steps[name]

    @property
    def first(self) -> str:
        return self._order[0]

    @property
    def order(self) -> tuple:
        """Every step's name in declared order, the check-in and check-out included."""
        return tuple(self._order)

    def default_next(self, name) -> str:
        if name == "suds_after":
            return DONE
        i = self._order.index(name)
        nxt = self._order[i + 1]
        return nxt


# --------------------------------------------------------------------------- added steps


def _suds_step(name, extra, before, optional=False):
    label = "Distress right now, 0 (calm) to 10 (the worst imaginable)"
    fields_ = {"suds": rating(label + (" (optional)" if optional else ""), distress=True,
                              required=not optional),
               "feeling": feeling("One feeling word (optional)", required=False)}
    fields_.update(extra)
    # A check-in is shared in a session (the protocol's joint check-in); each partner may keep it.
    fields_["share"] = share(True, "Show my answers to my partner")
    if before and optional:
        prompt = ("Before we begin: if you like, rate how much distress you feel right now, from 0 "
                  "(calm) to 10, and add one word for the feeling.")
    elif before:
        prompt = ("Before we begin: how much distress do you feel right now, from 0 (calm) to 10? "
                  "You can add one word for the feeling if you like.")
    else:
        prompt = ("Well done for taking part. How much distress do you feel now, from 0 to 10? "
                  "You can add one feeling word.")
    return Step(name, BOTH, prompt, title="Check-in" if before else "Check-out",
                schema=schema(f"{name}_schema", **fields_),
                next=None if before else DONE,
                wait="Thank you. Waiting for your partner's check-in.")


# One shared instance: completing it (compared by identity) is what sets the speaker.
CHOOSE_SPEAKER = Step(
    "choose_speaker", EITHER,
    "Who would like to go first? Decide together; either of you can enter it.",
    title="Who goes first",
    schema=schema("choose_speaker_schema",
                  first=choice(["me", "partner"], "Who goes first",
                               labels={"me": "I'll go first", "partner": "My partner goes first"})),
)


# --------------------------------------------------------------------------- registry


EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.key in EXERCISES:
        raise ValueError(f"exercise {exercise.key!r} registered twice")
    EXERCISES[exercise.key] = exercise
    return exercise


def exercise_list() -> list:
    """The exercises a couple can start, with the choices (if any) to make when starting one."""
    return [{"key": e.key, "title": e.title, "summary": e.summary, "minutes": e.minutes,
             "not_when": e.not_when, "options": describe(e.options),
             "demanding": e.demanding, "calm_at_most": e.calm_at_most,
             "interrupts": e.interrupts} for e in EXERCISES.values()]


# --------------------------------------------------------------------------- context


def answered_by(run, name):
    """The seat that completed the one-actor step `name` this round (runs.complete keeps it), or
    None: what a callable actor reads, e.g. "the partner who did not write it"."""
    return run["data"].get(f"{name}:by")


class Ctx:
    """What prompts, transitions, timers and checks may read. Read-only by convention."""

    def __init__(self, run, now, viewer=None, input=None, actor=None):
        self.run, self.now, self.viewer, self.input, self.actor = run, now, viewer, input, actor

    speaker = property(lambda self: self.run.get("speaker"))
    listener = property(lambda self: other(self.run["speaker"]) if self.run.get("speaker")
                        else None)
    caller = property(lambda self: self.run.get("caller"))
    round = property(lambda self: self.run["round"])
    data = property(lambda self: self.run["data"])
    options = property(lambda self: self.run["options"])

    def visits(self, name):
        return self.run["visits"].get(name, 0)

    def by(self, name):
        """The seat that completed the one-actor step `name` (this round), or None."""
        return answered_by(self.run, name)

    def logs(self, name) -> dict:
        """seat -> the latest values each partner logged at step `name` (this round)."""
        return self.run["data"].get(f"{name}:log", {})

    def role(self, seat=None):
        """"speaker"/"listener"/"caller"/"other" of `seat` (default: the viewer), or None."""
        seat = seat or self.viewer
        if seat not in PARTNERS:
            return None
        if self.caller:
            return "caller" if seat == self.caller else "other"
        if self.speaker:
            return "speaker" if seat == self.speaker else "listener"
        return None
