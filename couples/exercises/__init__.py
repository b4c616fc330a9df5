"""Structured exercises: one pure engine (public API in engine.py) and declarative definitions,
one per module (greeting.py, timeout.py, needs.py).

Importing this package registers the built-in exercises in engine.EXERCISES.
"""
from . import engine  # noqa: F401
from . import greeting, timeout, needs  # noqa: F401  (each registers itself)
from . import floor  # noqa: F401
from . import dialogue  # noqa: F401
from . import stress  # noqa: F401
from . import after_fight  # noqa: F401
from . import cycle  # noqa: F401

__all__ = ["engine"]
