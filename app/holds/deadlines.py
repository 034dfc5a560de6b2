"""A hold's deadlines (SPEC §10): hours to answer, working days to confirm.

Working days are Monday to Friday in Vietnam time (Asia/Ho_Chi_Minh, UTC+7 all year), less
the holidays of ``REGISTRY_HOLD_HOLIDAYS``. ``confirm_by`` is the same wall-clock time in
Vietnam on the n-th working day after the request's own day: a request made on Friday at
16:00 with 3 working days is due on Wednesday at 16:00; one made on Saturday is due on
Wednesday too (Monday, Tuesday, Wednesday), and a holiday in between pushes it one day on.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_FRIDAY = 4


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() <= _FRIDAY and day not in holidays


def add_working_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """``start`` moved on by ``days`` working days in Vietnam time, returned in UTC."""
    local = start.astimezone(VIETNAM)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    moved = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=VIETNAM)
    return moved.astimezone(UTC)


def respond_by(requested_at: datetime, hours: float) -> datetime:
    return requested_at + timedelta(hours=hours)
