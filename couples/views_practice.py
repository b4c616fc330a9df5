"""HTML pages for the practice room, transcripts and progress (routes on the views blueprint)."""
from .views import bp  # noqa: F401
