"""Every date and time on the pages is Vietnam's (UTC+7, no daylight saving), dd/mm/yyyy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from allocator.report import environment, vietnam_time

TEMPLATE_FOLDERS = [Path("api/pages/templates"), Path("allocator/report/templates")]


def test_a_stored_utc_moment_shows_on_vietnam_s_clock() -> None:
    late = dt.datetime(2026, 9, 14, 22, 29)  # the store's UTC, without a zone
    assert vietnam_time.moment(late) == "15/09/2026 05:29"
    assert vietnam_time.clock(late) == "05:29"
    assert vietnam_time.day(late) == "15/09/2026"  # the day in Vietnam, not in UTC
    assert vietnam_time.moment(late.replace(tzinfo=dt.UTC)) == "15/09/2026 05:29"
    assert vietnam_time.moment("2026-09-14T22:29:00+00:00") == "15/09/2026 05:29"
    assert vietnam_time.moment("2026-09-14T22:29:00Z") == "15/09/2026 05:29"
    assert vietnam_time.day("2026-09-14T22:29:00") == "15/09/2026"


def test_a_calendar_day_and_a_time_of_day_are_shown_as_they_are() -> None:
    assert vietnam_time.day(dt.date(2026, 9, 14)) == "14/09/2026"
    assert vietnam_time.day("2026-09-14") == "14/09/2026"
    assert vietnam_time.clock(dt.time(8, 0)) == "08:00"
    assert vietnam_time.day(None) == vietnam_time.moment("") == "–"


@given(st.datetimes(min_value=dt.datetime(1976, 1, 1), max_value=dt.datetime(2200, 1, 1)))
def test_vietnam_is_seven_hours_ahead_all_year(moment: dt.datetime) -> None:
    shown = dt.datetime.strptime(vietnam_time.moment(moment), "%d/%m/%Y %H:%M")
    assert shown == (moment + dt.timedelta(hours=7)).replace(second=0, microsecond=0)


def test_the_templates_filter_every_date_through_one_function() -> None:
    """No template formats a date or time itself (strftime, isoformat slices): a stored
    moment would show in UTC."""
    env = environment()
    assert {"day", "moment", "clock"} <= set(env.filters)
    for folder in TEMPLATE_FOLDERS:
        for path in sorted(folder.glob("*.html")):
            text = path.read_text(encoding="utf-8")
            for marker in ("strftime(", "[8:10]", "%Y-%m-%d"):
                assert marker not in text, (path.name, marker)
