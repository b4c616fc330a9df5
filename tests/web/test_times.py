"""How pages show a moment without JavaScript: a <time> in UTC that says so (couples/times.py)."""
from datetime import date, datetime, timedelta, timezone

from couples.web.times import utc_text, when

AT = datetime(2026, 11, 27, 14, 5, 30, 123456, tzinfo=timezone.utc)


def test_a_moment_is_a_time_element_in_utc_with_a_readable_label():
    assert str(when(AT)) == ('<time class="local-time" datetime="2026-11-27T14:05:30Z" data-local-time="datetime">'
                             '27 Nov 2026, 14:05 UTC</time>')
    assert str(when(AT, "time")).endswith('data-local-time="time">14:05 UTC</time>')
    assert str(when(AT, "date")).endswith('data-local-time="date">27 Nov 2026</time>')


def test_iso_strings_naive_and_other_zones_all_end_up_in_utc():
    assert 'datetime="2026-11-27T14:05:30Z"' in when(AT.isoformat())  # the event log's strings
    assert "27 Nov 2026, 14:05 UTC" in when(AT.replace(tzinfo=None))  # stored naive means UTC
    evening = datetime(2026, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert 'datetime="2026-01-02T04:30:00Z"' in when(evening) and "2 Jan 2026, 04:30 UTC" in when(evening)
    assert utc_text(evening) == "2 Jan 2026, 04:30 UTC"


def test_a_calendar_day_has_no_zone_to_convert():
    assert str(when("2026-02-23")) == '<time datetime="2026-02-23" data-local-time="day">23 Feb 2026</time>'
    assert str(when(date(2026, 3, 2))) == '<time datetime="2026-03-02" data-local-time="day">2 Mar 2026</time>'


def test_anything_else_is_shown_as_escaped_text_not_markup():
    assert str(when('<img src=x onerror="alert(1)">')) == "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    assert str(when("2026-13-45")) == "2026-13-45"
    assert str(when(None)) == ""
