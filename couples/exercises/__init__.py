"""Structured exercises: one engine (engine.py) and declarative definitions, one per module.

Importing this package registers the built-in exercises in engine.EXERCISES.
"""
from . import engine  # noqa: F401
from . import greeting, timeout, needs  # noqa: F401  (each registers itself)

__all__ = ["engine"]
