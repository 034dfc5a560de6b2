"""Period parsing and Vietnam-time bounds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.errors import InvalidInput
from app.reports.periods import PERIOD_PATTERN, parse_period


def test_half_years_and_years_have_exact_bounds() -> None:
    h1, h2, year = parse_period("2026-H1"), parse_period("2026-H2"), parse_period("2026")
    assert h1.window.start == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
    assert h1.window.end == h2.window.start == datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
    assert h2.window.end == year.window.end == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert (h1.kind, h2.kind, year.kind) == ("half-year", "half-year", "year")
    assert [m.label for m in h2.months] == [f"2026-{m:02d}" for m in range(7, 13)]
    assert len(year.months) == 12


def test_months_tile_the_period_without_gaps() -> None:
    period = parse_period("2028")  # a leap year
    starts = [m.start for m in period.months]
    ends = [m.end for m in period.months]
    assert starts[1:] == ends[:-1]
    assert period.months[1].end.isoformat() == "2028-03-01T00:00:00+07:00"
    assert period.months[-1].end_day.isoformat() == "2029-01-01"


def test_a_moment_belongs_to_exactly_one_half() -> None:
    h1, h2 = parse_period("2026-H1").window, parse_period("2026-H2").window
    last_h1 = datetime(2026, 6, 30, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Vietnam
    first_h2 = datetime(2026, 6, 30, 17, 0, 0, tzinfo=UTC)  # 00:00:00 in Vietnam
    assert h1.start <= last_h1 < h1.end and not h2.start <= last_h1 < h2.end
    assert h2.start <= first_h2 < h2.end and not h1.start <= first_h2 < h1.end


@pytest.mark.parametrize(
    "text",
    [
        "2026-H3",
        "2026-h1",
        "26",
        "2026-Q1",
        "2026-01",
        "2026-H1 ",
        "2026\n",
        "1999",
        "２０２６",
        "",
    ],
)
def test_invalid_period_names_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(text)
    assert caught.value.errors is not None
    assert caught.value.errors[0]["loc"] == ["path", "period"]


@pytest.mark.parametrize(
    "text", ["2000", "2100-H2", "2026-H1", "1999", "2101", "2026-H3", "0000", "2026-H1\n", "20260"]
)
def test_openapi_pattern_accepts_exactly_the_parsed_periods(text: str) -> None:
    try:
        parse_period(text)
        parsed = True
    except InvalidInput:
        parsed = False
    assert bool(re.fullmatch(PERIOD_PATTERN, text)) == parsed
