"""Report and ledger sums past 2**63 stay exact on both databases (SPEC §8 "Warnings").

The rows are written past the API's limits on purpose: the test plays a hostile or buggy
writer, and the sums must still answer, exactly, instead of an "integer overflow" 503.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.auth.actor import Actor
from app.db.sums import SPLIT, combine, sum_parts
from app.db.unit_of_work import unit_of_work
from app.models import Organisation, RecoveryEntry, Subject, Warning
from app.recovery.repository import RecoveryRepository
from app.recovery.schemas import RecoveryCreate
from app.recovery.service import record_entry
from app.subjects.schemas import SubjectIn
from tests.factories import make_org
from tests.reports.history import B, History, start_history, vn

HUGE = 10**18  # one row: inside BIGINT; ten of them: past 2**63 - 1
ROWS = 10
BIGINT = st.integers(-(2**63), 2**63 - 1)


@pytest.fixture
async def h(app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> History:
    return await start_history(app, client, monkeypatch)


async def _freeze_past_the_limit(h: History, subject: dict[str, str], amount: int) -> None:
    """A freeze through the real service (chained event), skipping the schema's limit."""
    actor = Actor(await h.org_id("C06"), "C06", "police", None, "test", None, "test")
    data = RecoveryCreate.model_construct(
        subject=SubjectIn(**subject), action="freeze", amount_vnd=amount
    )
    async with unit_of_work(h.app.state.runtime.db, actor) as uow:
        await record_entry(uow, data)


async def test_report_totals_past_int64_are_exact(h: History) -> None:
    assert ROWS * HUGE > 2**63
    for i in range(ROWS):
        outcome = ("cancelled", HUGE, vn(2026, 2, 10, 9, i))
        await h.warning("VCB", vn(2026, 2, 10, 8, i), "hold", outcome)
        await h.lookups("VCB", date(2026, 3, 1 + i), HUGE, HUGE)
        await h.lookups("MOMO", date(2026, 3, 1 + i), HUGE, 1)
        h.at(vn(2026, 4, 10, 9, i))
        await _freeze_past_the_limit(h, B, HUGE)

    response = await h.client.get("/v1/reports/2026-H1", headers=h.callers["AUD"].headers)
    assert response.status_code == 200, response.text
    body = response.json()  # Python's json keeps integers exact, however large
    totals, months = body["totals"], [m["figures"] for m in body["months"]]
    assert totals["warnings"]["cancelled"] == ROWS
    assert totals["warnings"]["protected_vnd"] == ROWS * HUGE
    assert months[1]["warnings"]["protected_vnd"] == ROWS * HUGE  # February
    assert totals["lookups"]["lookups"] == 2 * ROWS * HUGE
    assert totals["lookups"]["warned"] == ROWS * HUGE + ROWS
    assert totals["lookups"]["by_organisation_kind"]["bank"] == ROWS * HUGE
    assert months[2]["lookups"]["lookups"] == 2 * ROWS * HUGE  # March
    assert totals["recovery"]["entries"] == ROWS
    assert totals["recovery"]["frozen_vnd"] == ROWS * HUGE
    assert months[3]["recovery"]["frozen_vnd"] == ROWS * HUGE  # April
    for fmt in ("csv", "xlsx", "html"):
        other = await h.client.get(
            "/v1/reports/2026", params={"format": fmt}, headers=h.callers["AUD"].headers
        )
        assert other.status_code == 200, (fmt, other.text)
    csv = await h.client.get(
        "/v1/reports/2026-H1", params={"format": "csv"}, headers=h.callers["AUD"].headers
    )
    assert str(ROWS * HUGE) in csv.text


async def test_subject_recovery_sums_past_int64_are_exact(h: History) -> None:
    police = h.callers["C06"]
    created = await h.client.post(
        "/v1/recoveries",
        json={"subject": B, "action": "freeze", "amount_vnd": 50_000_000},
        headers=police.headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()["subject_key"]
    app = h.app
    async with app.state.runtime.db.write_session() as session:
        stmt = select(Subject.id).where(Subject.key == key)
        subject_id = (await session.execute(stmt)).scalar_one()
        for i in range(ROWS):
            session.add(
                RecoveryEntry(
                    id=str(uuid.uuid4()),
                    subject_id=subject_id,
                    organisation_id=await h.org_id("C06"),
                    action="freeze",
                    amount_vnd=HUGE,
                    case_reference="HUGE",
                    created_at=datetime(2026, 3, 1, i, tzinfo=UTC),
                )
            )
        await session.commit()

    async with app.state.runtime.db.read_session() as session:
        sums = await RecoveryRepository(session).sums(subject_id)
    assert sums == {(None, "freeze"): 50_000_000, ("HUGE", "freeze"): ROWS * HUGE}
    assert all(type(total) is int for total in sums.values())

    url = f"/v1/subjects/{quote(key, safe='')}/recoveries"
    read = await h.client.get(url, headers=police.headers)
    assert read.status_code == 200, read.text
    ledger = read.json()
    assert ledger["totals"]["frozen_vnd"] == ROWS * HUGE + 50_000_000
    assert ledger["totals"]["held_vnd"] == ROWS * HUGE + 50_000_000
    by_case = {c["case_reference"]: c["totals"]["frozen_vnd"] for c in ledger["by_case"]}
    assert by_case == {None: 50_000_000, "HUGE": ROWS * HUGE}

    # Recording an entry reads the same sums: a release of what is held still works.
    released = await h.client.post(
        "/v1/recoveries",
        json={"subject": B, "action": "release", "amount_vnd": 10**15, "case_reference": "HUGE"},
        headers=police.headers,
    )
    assert released.status_code == 201, released.text
    assert released.json()["totals"]["held_vnd"] == ROWS * HUGE + 50_000_000 - 10**15


@pytest.fixture
async def org_id(app: FastAPI) -> int:
    await make_org(app, "SUMS", "bank", "970436")
    async with app.state.runtime.db.read_session() as session:
        stmt = select(Organisation.id).where(Organisation.code == "SUMS")
        found: int = (await session.execute(stmt)).scalar_one()
        return found


async def _database_sum(app: FastAPI, org_id: int, values: Sequence[int | None]) -> int:
    """``SUM(warning.amount_vnd)`` through the helper over ``values``, rolled back after."""
    async with app.state.runtime.db.write_session() as session:
        for value in values:
            session.add(
                Warning(
                    id=str(uuid.uuid4()),
                    organisation_id=org_id,
                    subject_key="bank_account:970436:0011002345678",
                    risk_level=1,
                    action="warn",
                    registry_version=1,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    outcome="cancelled",
                    amount_vnd=value,
                )
            )
        await session.flush()
        high, low = (await session.execute(select(*sum_parts(Warning.amount_vnd)))).one()
        await session.rollback()
    return combine(high, low)


_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.anyio
@_SETTINGS
@given(st.lists(st.integers(0, HUGE), max_size=40))
async def test_sum_parts_equal_pythons_sum(app: FastAPI, org_id: int, values: list[int]) -> None:
    assert await _database_sum(app, org_id, values) == sum(values)


@pytest.mark.anyio
@_SETTINGS
@given(st.lists(st.one_of(BIGINT, st.none(), st.sampled_from([-(2**63), 2**63 - 1])), max_size=40))
@example([2**63 - 1] * 40)
@example([-(2**63)] * 40)
@example([-(2**63), 2**63 - 1, -1, 1, -SPLIT, SPLIT - 1, -SPLIT - 1])
@example([None])
async def test_sum_parts_exact_over_all_bigints_and_nulls(
    app: FastAPI, org_id: int, values: list[int | None]
) -> None:
    """No constraint stops a negative amount: the split is exact for every BIGINT."""
    expected = sum(v for v in values if v is not None)
    assert await _database_sum(app, org_id, values) == expected
