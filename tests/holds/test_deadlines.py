"""Working days in Vietnam time, holidays skipped (SPEC §10 confirm_by)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.holds.deadlines import add_working_days, respond_by


def vn(text: str) -> datetime:
    """A Vietnam wall-clock time (UTC+7, no daylight saving) as UTC."""
    return datetime.fromisoformat(text + "+07:00").astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2026-12-07T10:00", 3, "2026-12-10T10:00"),  # Monday -> Thursday
        ("2026-12-04T16:00", 3, "2026-12-09T16:00"),  # Friday -> Wednesday
        ("2026-12-05T09:00", 3, "2026-12-09T09:00"),  # Saturday -> Wednesday
        ("2026-12-06T23:30", 1, "2026-12-07T23:30"),  # Sunday -> Monday
        ("2026-12-11T10:00", 1, "2026-12-14T10:00"),  # Friday -> Monday
    ],
)
def test_working_days_are_monday_to_friday_in_vietnam(start: str, days: int, due: str) -> None:
    assert add_working_days(vn(start), days) == vn(due)


def test_the_vietnamese_day_counts_not_the_utc_one() -> None:
    # Friday 01:00 in Hanoi is still Thursday 18:00 in UTC: the Vietnamese Friday counts.
    assert add_working_days(vn("2026-12-04T01:00"), 1) == vn("2026-12-07T01:00")


def test_holidays_are_skipped() -> None:
    holidays = {date(2026, 12, 8), date(2026, 12, 9)}
    assert add_working_days(vn("2026-12-07T10:00"), 3, holidays) == vn("2026-12-14T10:00")


def test_respond_by_is_plain_hours() -> None:
    assert respond_by(vn("2026-12-05T09:00"), 24) == vn("2026-12-06T09:00")


def test_the_holiday_setting_is_comma_separated_iso_dates() -> None:
    settings = Settings(hold_holidays="2027-01-01, 2027-02-05,,")
    assert settings.hold_holiday_dates == {date(2027, 1, 1), date(2027, 2, 5)}
    assert Settings().hold_holiday_dates == frozenset()
    assert (Settings().hold_respond_hours, Settings().hold_confirm_working_days) == (24, 3)
    with pytest.raises(ValidationError):
        Settings(hold_holidays="2027-13-01")
