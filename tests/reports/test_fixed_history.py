"""A past period's report does not change when the registry changes afterwards."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import Warning
from app.warnings.counter import vietnam_day
from tests.reports.history import VN, first_half, second_half, start_history


async def _formats(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for fmt in ("json", "csv", "html", "xlsx"):
        response = await client.get("/v1/reports/2026-H1", params={"format": fmt}, headers=headers)
        assert response.status_code == 200
        if fmt == "xlsx":  # zip entries carry their write time: compare the cells
            book = load_workbook(io.BytesIO(response.content))
            out[fmt] = [list(s.iter_rows(values_only=True)) for s in book.worksheets]
        else:
            out[fmt] = response.content
    return out


async def test_h1_report_is_unchanged_by_later_changes(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = await start_history(app, client, monkeypatch)
    await first_half(history)
    auditor = history.callers["AUD"].headers
    before = await _formats(client, auditor)

    # Later: disputes decided, flags cleared and withdrawn, money returned, new flags, and
    # the outcome of a warning issued in H1 reported now (it counts when reported).
    await second_half(history)
    async with app.state.runtime.db.read_session() as session:
        stmt = select(Warning.id).where(Warning.outcome.is_(None), Warning.action == "warn")
        unanswered = (await session.execute(stmt)).scalar_one()
    outcome = await client.post(
        f"/v1/warnings/{unanswered}/outcome",
        json={"outcome": "cancelled", "amount_vnd": 9_000_000},
        headers=history.callers["VCB"].headers,
    )
    assert outcome.status_code == 200, outcome.text
    await history.lookups("VCB", vietnam_day(), 5, 5)

    after = await _formats(client, auditor)
    assert after == before
    # The late outcome did count: in the year it was reported.
    reported = datetime.fromisoformat(outcome.json()["outcome_at"]).astimezone(VN).year
    year = await client.get(f"/v1/reports/{reported}", headers=auditor)
    protected = 9_000_000 + (14_000_000 if reported == 2026 else 0)
    assert year.json()["totals"]["warnings"]["protected_vnd"] == protected
