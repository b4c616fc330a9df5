"""The exercise engine's public API, what the rest of the app imports: the pure
`apply(state, action) -> Result(state, events)`, `view`, and the vocabulary exercises are declared
in. No Flask, database or socket; the code lives in the modules below, each named for what it holds.
"""
from couples.fields import StrictSchema

from .actions import USER_KINDS, Action, EngineError, Result, apply, replay, visible
from .declarations import (A, B, BOTH, CALLER, EITHER, EVERYONE, EXERCISES, FINISH, LISTENER,
                           NOBODY, OTHER, PARTNERS, SPEAKER, Ctx, Exercise, Step, Swap,
                           exercise_list, other, register)
from .inputs import (MAX_TEXT, IsoDate, StrictBool, boolean, choice, date, date_within, describe,
                     feeling, hints_for, minutes, need, rating, schema, text)
from .state import STATE_VERSION, deadline, new_state, upgrade
from .views import view

__all__ = [
    # running a session
    "Action", "EngineError", "Result", "apply", "replay", "visible", "USER_KINDS",
    "STATE_VERSION", "new_state", "upgrade", "deadline", "view",
    # declaring exercises
    "A", "B", "BOTH", "CALLER", "EITHER", "LISTENER", "NOBODY", "OTHER", "SPEAKER",
    "EVERYONE", "PARTNERS", "FINISH", "Swap", "Step", "Exercise", "Ctx", "other",
    "EXERCISES", "register", "exercise_list",
    # step input
    "StrictSchema", "MAX_TEXT", "IsoDate", "StrictBool", "boolean", "choice", "date",
    "date_within", "describe", "feeling", "hints_for", "minutes", "need", "rating", "schema",
    "text",
]
