"""Dates and times as people in Vietnam read them: Asia/Ho_Chi_Minh, dd/mm/yyyy.

The store keeps moments in UTC, most without a zone; a page that printed them as
they are showed 22:29 for what was 05:29 the next morning in Hồ Chí Minh City.
Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is
exact for every moment the store holds and needs no time-zone database.
"""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
DASH = "–"


def in_vietnam(moment: dt.datetime) -> dt.datetime:
    """A moment on Vietnam's clock; one without a zone is UTC, as the store writes it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(VIETNAM)


def _parsed(value: dt.date | dt.datetime | str) -> dt.date | dt.datetime:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if len(text) <= 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def day(value: dt.date | dt.datetime | str | None) -> str:
    """15/09/2026: a calendar day as it is, a moment by its day in Vietnam."""
    if value is None or value == "":
        return DASH
    found = _parsed(value)
    if isinstance(found, dt.datetime):
        found = in_vietnam(found).date()
    return f"{found:%d/%m/%Y}"


def moment(value: dt.datetime | str | None) -> str:
    """15/09/2026 05:29, on Vietnam's clock."""
    if value is None or value == "":
        return DASH
    found = _parsed(value)
    if not isinstance(found, dt.datetime):
        return day(found)
    return f"{in_vietnam(found):%d/%m/%Y %H:%M}"


def clock(value: dt.datetime | dt.time | str | None) -> str:
    """05:29: the time of day of a moment in Vietnam (a time of day is shown as it is)."""
    if value is None or value == "":
        return DASH
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    found = _parsed(value)
    if not isinstance(found, dt.datetime):
        return DASH
    return f"{in_vietnam(found):%H:%M}"
