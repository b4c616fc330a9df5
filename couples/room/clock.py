"""The practice clock: real UTC time, or (tests only) a clock a test can move."""
import os
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from ..models import utcnow


def now() -> datetime:
    """app.config["CLOCK"] when set (tests), else real UTC time."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def install_test_clock(app) -> None:
    """Let a test shift a served process's clock through COUPLES_CLOCK_FILE (seconds of offset).

    Only with COUPLES_ENV=test; refused outright in production."""
    path = os.environ.get("COUPLES_CLOCK_FILE")
    if not path:
        return
    env = app.config.get("ENV_NAME")
    if env == "production":
        raise RuntimeError("COUPLES_CLOCK_FILE may not be set in production")
    if env != "test":
        return

    def file_clock():
        try:
            offset = float(Path(path).read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return utcnow() + timedelta(seconds=offset)

    app.config["CLOCK"] = file_clock
