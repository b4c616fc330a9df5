"""JSON API for practice sessions and transcripts (routes on the /api/v1 blueprint)."""
from .api import bp  # noqa: F401
