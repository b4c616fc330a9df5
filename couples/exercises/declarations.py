"""What an exercise is declared with: who acts, Step, Exercise, transition targets, the steps
added around every exercise, the registry, and Ctx (all that a definition's callables may read).
Definitions are data; nothing here runs them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .inputs import choice, describe, feeling, rating, schema

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


def other(seat):
    return "b" if seat == "a" else "a"


@dataclass(frozen=True)
class Swap:
    """A transition target: swap speaker and listener, start the next round at step `to`."""

    to: str


@dataclass(frozen=True)
class Step:
    """One step of an exercise.

    actor:   A, B, SPEAKER, LISTENER, BOTH, EITHER, CALLER, OTHER or NOBODY.
    prompt:  text (or ctx -> text) for whoever acts; `wait` for whoever waits.
    schema:  marshmallow schema class for the input (None: an empty payload).
    next:    a step name, FINISH, Swap(step), or ctx -> one of those; None: the next declared step.
    timer:   ctx -> minutes: on entering the step a deadline is set; `on_timer` names the target.
    log:     for NOBODY steps: a schema partners may submit any number of times (recorded only).
    check:   ctx, data -> {field: message}: rules that need `now` or earlier answers.
    emit:    ctx -> [(event_type, data)]: extra events after the step completes (ctx.input set).
    """

    name: str
    actor: str
    prompt: Any
    title: str = ""
    wait: Any = "Your partner is answering. Take a slow breath while you wait."
    schema: Any = None
    next: Any = None
    timer: Callable | None = None
    on_timer: str | None = None
    log: Any = None
    check: Callable | None = None
    emit: Callable | None = None
    suggestions: tuple = ()


@dataclass(frozen=True)
class Exercise:
    """An exercise: the engine wraps `steps` in SUDS-before (+ choose-speaker) and SUDS-after.

    check_fields: extra fields asked with SUDS before and after (greeting: how connected).
    starter_role: "caller" makes whoever starts the exercise its caller (timeout).
    interrupts:   the exercise can be called with action kind "timeout" from any step.
    after:        ctx -> None | {"start": key} | {"end": reason}: what follows completion
                  (default: back to the interrupted exercise, or phase "ready").
    """

    key: str
    title: str
    summary: str
    steps: tuple
    options: Any = None
    suds_before: bool = True
    choose_speaker: bool = True
    check_fields: dict = field(default_factory=dict)
    starter_role: str | None = None
    interrupts: bool = False
    after: Callable | None = None

    def __post_init__(self):
        built = []
        if self.suds_before:
            built.append(_suds_step("suds_before", self.check_fields, before=True))
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

    def default_next(self, name) -> str:
        if name == "suds_after":
            return DONE
        i = self._order.index(name)
        nxt = self._order[i + 1]
        return nxt


# --------------------------------------------------------------------------- added steps


def _suds_step(name, extra, before):
    fields_ = {"suds": rating("Distress right now, 0 (calm) to 10 (the worst imaginable)"),
               "feeling": feeling("One feeling word (optional)", required=False)}
    fields_.update(extra)
    if before:
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
    return [{"key": e.key, "title": e.title, "summary": e.summary, "options": describe(e.options)}
            for e in EXERCISES.values()]


# --------------------------------------------------------------------------- context


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

    def role(self, seat=None):
        """"speaker"/"listener"/"caller"/"other" of `seat` (default: the viewer), or None."""
        seat = seat or self.viewer
        if self.caller:
            return "caller" if seat == self.caller else "other"
        if self.speaker:
            return "speaker" if seat == self.speaker else "listener"
        return None
