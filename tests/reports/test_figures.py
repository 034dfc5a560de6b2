"""Every report figure against hand-computed numbers, for H1, H2 and the whole year."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.models import ChangeEvent
from app.reference.catalogue import typology_codes
from app.reports.schemas import Report
from app.reports.service import build_report
from tests.reports.expected import (
    HEADLINES,
    PERIOD_MONTHS,
    expected_month,
    expected_totals,
    flatten,
)
from tests.reports.history import VN, History, vn

LATER = vn(2027, 3, 1)  # every 2026 period has ended


async def report(app: FastAPI, period: str, now: datetime = LATER) -> Report:
    async with app.state.runtime.db.read_session() as session:
        return await build_report(session, period, now)


async def test_history_was_written_at_the_chosen_moments(app: FastAPI, history: History) -> None:
    """Guards the test itself: a clock that did not take effect would make it meaningless."""
    async with app.state.runtime.db.read_session() as session:
        stmt = select(ChangeEvent.occurred_at).where(ChangeEvent.entity_type == "dispute")
        moments = sorted(t.astimezone(VN) for t in (await session.execute(stmt)).scalars())
    assert moments == [
        vn(2026, 5, 20, 10, 0),
        vn(2026, 6, 30, 23, 59, 59),
        vn(2026, 7, 1, 0, 0),
        vn(2026, 7, 3, 11, 59, 59),
    ]


@pytest.mark.parametrize("period", ["2026-H1", "2026-H2", "2026"])
async def test_every_figure_matches_the_hand_computed_numbers(
    app: FastAPI, history: History, period: str
) -> None:
    result = await report(app, period)
    months = list(PERIOD_MONTHS[period])
    assert result.complete is True
    assert [m.month for m in result.months] == [f"2026-{m:02d}" for m in months]
    assert all(m.complete for m in result.months)
    totals = flatten(result.totals.model_dump())
    assert set(result.totals.flags.by_category) == typology_codes()
    assert {k: v for k, v in totals.items() if not k.endswith("snapshot_at")} == expected_totals(
        period, totals
    )
    for path, value in HEADLINES[period].items():
        assert totals[path] == value, path
    assert result.totals.risk.snapshot_at == result.end
    assert result.totals.disputes.snapshot_at == result.end
    for month_number, month in zip(months, result.months, strict=True):
        figures = flatten(month.figures.model_dump())
        actual = {k: v for k, v in figures.items() if not k.endswith("snapshot_at")}
        assert actual == expected_month(month_number, figures), month.month
        assert month.figures.risk.snapshot_at == month.end


async def test_period_bounds_are_exact_vietnam_time(app: FastAPI, history: History) -> None:
    h1, h2 = await report(app, "2026-H1"), await report(app, "2026-H2")
    assert h1.start.isoformat() == "2026-01-01T00:00:00+07:00"
    assert h1.end.isoformat() == h2.start.isoformat() == "2026-07-01T00:00:00+07:00"
    assert h2.end.isoformat() == "2027-01-01T00:00:00+07:00"
    assert [m.start.isoformat() for m in h2.months][1] == "2026-08-01T00:00:00+07:00"


async def test_a_period_not_yet_ended_is_partial(app: FastAPI, history: History) -> None:
    now = vn(2026, 8, 15, 12, 0)
    result = await report(app, "2026-H2", now)
    assert result.complete is False
    assert [m.complete for m in result.months] == [True] + [False] * 5
    assert result.totals.risk.snapshot_at == now
    assert result.months[0].figures.risk.snapshot_at == vn(2026, 8, 1)
    assert result.months[1].figures.disputes.snapshot_at == now
    # As of mid-August, F was still listed (withdrawn on the 31st).
    assert result.totals.risk.by_level == {"none": 3, "low": 1, "medium": 1, "high": 2}


async def test_a_future_period_can_be_computed(app: FastAPI, history: History) -> None:
    result = await report(app, "2027", vn(2027, 1, 1, 0, 0, 1))
    assert result.complete is False
    assert result.totals.flags.new == 1  # H at 2027-01-01 00:00:00
    assert result.totals.flags.by_identifier_kind["phone"] == 1
    assert result.totals.lookups.lookups == 11
    assert [m.complete for m in result.months] == [False] * 12


async def test_empty_registry_gives_zeros(app: FastAPI) -> None:
    result = await report(app, "2026-H1")
    totals = flatten(result.totals.model_dump())
    numbers = {k: v for k, v in totals.items() if not k.endswith("snapshot_at")}
    for median in ("disputes.median_days_to_resolve", "holds.median_hours_to_respond"):
        assert numbers.pop(median) is None
    assert set(numbers.values()) == {0}
