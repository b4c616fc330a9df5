"""How a moment is shown on a page: a `<time>` in UTC that says so, which static/js/local-time.js
rewrites to the reader's own time zone when JavaScript runs."""
from __future__ import annotations

from datetime import date, datetime, timezone

from markupsafe import Markup

# English month names regardless of the server's locale (the pages are in English).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STYLES = ("datetime", "time", "date")


def _moment(value) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO string (naive ones are stored UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def day_text(d: date) -> str:
    """`27 Nov 2026`."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def utc_text(at, style: str = "datetime") -> str:
    """`27 Nov 2026, 14:05 UTC`, `14:05 UTC` or `27 Nov 2026`: readable, and saying its zone."""
    at = _moment(at)
    clock = f"{at:%H:%M} UTC"
    return {"datetime": f"{day_text(at)}, {clock}", "time": clock, "date": day_text(at)}[style]


def iso_utc(at) -> str:
    """`2026-11-27T14:05:00Z`: a valid HTML datetime (whole seconds) that every browser parses."""
    return _moment(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(value, style: str = "datetime") -> Markup:
    """A moment as `<time datetime="...Z">` in UTC, marked for local-time.js; a calendar day
    (a week's Monday) as a `<time>` with no zone to convert, which local-time.js writes in the
    reader's own date format."""
    if style not in STYLES:
        raise ValueError(f"unknown time style {style!r}")
    day = _calendar_day(value)
    if day is not None:
        return Markup('<time datetime="{}" data-local-time="day">{}</time>').format(day.isoformat(), day_text(day))
    at = _moment(value)
    if at is None:
        return Markup("{}").format(value if value is not None else "")
    return Markup('<time class="local-time" datetime="{}" data-local-time="{}">{}</time>').format(
        iso_utc(at), style, utc_text(at, style))


def _calendar_day(value) -> date | None:
    """A date, or a `YYYY-MM-DD` string, as a date; None for moments and anything else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def register_time_filters(app) -> None:
    """`{{ session.created_at | when }}`, `{{ event.at | when("time") }}` in every template."""
    app.jinja_env.filters["when"] = when
