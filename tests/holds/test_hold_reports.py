"""Report figures of holds (SPEC §10): requested, held, returned VND, median time to respond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.models import ChangeEvent
from app.reports.holds import hold_figures
from app.reports.periods import parse_period
from app.reports.repository import HoldEvent
from app.reports.service import build_report
from tests.holds.support import build_world, held, request_hold, step


async def test_reports_count_holds(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    first = await held(client, world, amount=1_000)
    first = await step(client, world.police, first, "confirm", {"case_reference": "HCM-1"})
    first = await step(client, world.holder, first, "return", {"amount_vnd": 300})
    await step(client, world.holder, first, "return", {"amount_vnd": 200})
    second = await request_hold(client, world.requester)
    await step(client, world.holder, second, "respond", {"outcome": "no_funds"})
    await request_hold(client, world.requester)  # not answered: no time to respond
    async with app.state.runtime.db.read_session() as session:
        now = (await session.execute(ChangeEvent.__table__.select())).all()[-1].occurred_at
        period = next(p for p in (f"{now.year}-H1", f"{now.year}-H2") if _within(p, now))
        report = await build_report(session, period, now=now + timedelta(seconds=1))
    holds = report.totals.holds
    assert (holds.requested, holds.held, holds.declined, holds.confirmed, holds.lapsed) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert (holds.held_vnd, holds.returned_vnd) == (1_000, 500)
    assert holds.median_hours_to_respond is not None and holds.median_hours_to_respond < 1
    csv = await client.get(
        f"/v1/reports/{period}", params={"format": "csv"}, headers=world.police.headers
    )
    assert csv.status_code == 200 and "Holds requested" in csv.text


def test_the_figures_of_a_window_from_its_events() -> None:
    """Returns count by their step over the hold's earlier returns, also across windows;
    the median is over answers in the window, in hours."""
    window = parse_period("2026-H2").window
    before, inside = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)

    def event(hold: str, at: datetime, action: str, **state: Any) -> HoldEvent:
        created = state.pop("created", at)
        return HoldEvent(
            hold,
            at,
            action,
            state.get("held", 0),
            state.get("returned", 0),
            created,
            state.get("responded"),
        )

    events = [
        event("a", before, "requested"),
        event("a", before, "held", held=900, responded=before),
        event("a", before, "return", held=900, returned=100),
        event("a", inside, "return", held=900, returned=400),
        event("b", inside, "requested"),
        event("b", inside, "held", held=50, created=inside, responded=inside + timedelta(hours=10)),
        event("c", inside, "declined", created=inside, responded=inside + timedelta(hours=2)),
        event("b", inside, "lapsed", held=50),
    ]
    figures = hold_figures(events, window)
    assert (figures.requested, figures.held, figures.declined, figures.lapsed) == (1, 1, 1, 1)
    assert (figures.held_vnd, figures.returned_vnd) == (50, 300)
    assert figures.median_hours_to_respond == 6.0
    assert hold_figures([], window).median_hours_to_respond is None


def _within(period: str, moment: object) -> bool:
    window = parse_period(period).window
    return bool(window.start <= moment < window.end)  # type: ignore[operator]
