"""Report periods (``2026-H1``, ``2026-H2``, ``2026``) and their exact Vietnam-time bounds.

Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact and
needs no tz database. Every window is half-open, ``[start, end)``: an event at
``2026-07-01T00:00:00+07:00`` belongs to H2, one a second earlier to H1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

from app.errors import InvalidInput

VIETNAM = timezone(timedelta(hours=7))
FIRST_YEAR = 2000
LAST_YEAR = 2100
_PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-H(?P<half>[12]))?")
# The same rule for OpenAPI, so a client's schema already knows which periods exist.
PERIOD_PATTERN = r"^(?:20[0-9]{2}|2100)(?:-H[12])?$"

PeriodKind = Literal["half-year", "year"]


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open span of Vietnam time; ``label`` is ``2026-01`` for a month."""

    label: str
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        """The first Vietnam calendar day inside the window."""
        return self.start.date()

    @property
    def end_day(self) -> date:
        """The first Vietnam calendar day after the window."""
        return self.end.date()

    def complete(self, now: datetime) -> bool:
        return now >= self.end

    def snapshot_at(self, now: datetime) -> datetime:
        """The instant "at the end" figures are read at: the end, or now while it is open."""
        return min(self.end, now.astimezone(VIETNAM))


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    kind: PeriodKind
    window: Window
    months: tuple[Window, ...]


def _month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=VIETNAM)


def month_windows(year: int, first_month: int, count: int) -> tuple[Window, ...]:
    """``count`` consecutive calendar months of Vietnam time from ``year-first_month``."""
    months = []
    for offset in range(count):
        start = _month_start(year, first_month + offset)
        end = _month_start(year, first_month + offset + 1)
        months.append(Window(f"{start.year:04d}-{start.month:02d}", start, end))
    return tuple(months)


def invalid_period(message: str, loc: tuple[str, ...]) -> InvalidInput:
    return InvalidInput(
        message, errors=[{"loc": [*loc, "period"], "msg": message, "type": "value_error"}]
    )


def parse_period(text: str, loc: tuple[str, ...] = ("path",)) -> Period:
    """``YYYY-H1``, ``YYYY-H2`` or ``YYYY``; anything else is a 422 naming ``period``."""
    match = _PERIOD.fullmatch(text)
    if match is None:
        raise invalid_period("period must be YYYY-H1, YYYY-H2 or YYYY (e.g. 2026-H1)", loc)
    year = int(match["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise invalid_period(f"year must be between {FIRST_YEAR} and {LAST_YEAR}", loc)
    if match["half"] is None:
        months = month_windows(year, 1, 12)
        kind: PeriodKind = "year"
    else:
        months = month_windows(year, 1 if match["half"] == "1" else 7, 6)
        kind = "half-year"
    window = Window(text, months[0].start, months[-1].end)
    return Period(text, kind, window, months)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
