"""SPEC §8 "Recovery ledger": the holding institution or police record; money is held per
case; phones hold no money; a ledger read reveals nothing about existence."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import ChangeEvent, RecoveryEntry
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY

PHONE = {"kind": "phone", "institution": None, "identifier": "0912 345 678"}


async def _entry(
    client: httpx.AsyncClient,
    caller: Caller,
    action: str,
    amount: int,
    case: str | None = None,
    subject: dict[str, object] | None = None,
) -> httpx.Response:
    body = {"subject": subject or ACCOUNT, "action": action, "amount_vnd": amount}
    if case is not None:
        body["case_reference"] = case
    return await client.post("/v1/recoveries", json=body, headers=caller.headers)


async def _ledger(client: httpx.AsyncClient, caller: Caller, key: str = KEY) -> httpx.Response:
    return await client.get(
        f"/v1/subjects/{quote(key, safe='')}/recoveries", headers=caller.headers
    )


async def _entries(app: FastAPI) -> tuple[int, int]:
    async with app.state.runtime.db.read_session() as session:
        entries = (await session.execute(select(func.count()).select_from(RecoveryEntry))).scalar()
        events = (await session.execute(select(func.count()).select_from(ChangeEvent))).scalar()
    return int(entries or 0), int(events or 0)


async def test_another_bank_can_neither_move_nor_see_money_held_elsewhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")  # ACCOUNT is held at VCB
    rogue = await make_caller(app, client, "ACB", "bank", "ACB")
    wallet = await make_caller(app, client, "MOMO", "ewallet")
    assert (await _entry(client, holder, "freeze", 10_000_000)).status_code == 201
    before = await _entries(app)

    for caller in (rogue, wallet):
        for action in ("freeze", "release", "return"):
            refused = await _entry(client, caller, action, 1)
            assert refused.status_code == 404, (caller.org, action)
            assert refused.json()["title"] == "Subject not found"
        assert (await _ledger(client, caller)).status_code == 404

    assert await _entries(app) == before
    assert (await _ledger(client, holder)).json()["totals"]["held_vnd"] == 10_000_000


async def test_police_record_for_any_institution(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    assert (await _entry(client, police, "freeze", 5, "PC02-1")).status_code == 201
    assert (await _ledger(client, police)).json()["totals"]["held_vnd"] == 5


async def test_money_is_held_per_case(app: FastAPI, client: httpx.AsyncClient) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    assert (await _entry(client, holder, "freeze", 10_000_000, "CASE-A")).status_code == 201
    assert (await _entry(client, holder, "freeze", 1_000_000)).status_code == 201

    # Case B never froze anything: it cannot release case A's money.
    assert (await _entry(client, holder, "release", 1, "CASE-B")).status_code == 422
    # The no-case bucket holds 1,000,000, not the subject's 11,000,000.
    over = await _entry(client, holder, "return", 1_000_001)
    assert over.status_code == 422 and over.json()["errors"][0]["loc"] == ["body", "amount_vnd"]
    ok = await _entry(client, holder, "return", 10_000_000, "CASE-A")
    assert ok.status_code == 201
    assert ok.json()["case_totals"]["held_vnd"] == 0
    assert ok.json()["totals"]["held_vnd"] == 1_000_000

    ledger = (await _ledger(client, holder)).json()
    cases = {c["case_reference"]: c["totals"]["held_vnd"] for c in ledger["by_case"]}
    assert cases == {None: 1_000_000, "CASE-A": 0}
    assert all(value >= 0 for value in cases.values())


async def test_phone_subjects_hold_no_money(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    refused = await _entry(client, police, "freeze", 5, subject=PHONE)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "subject"]


async def test_a_ledger_read_is_no_existence_oracle(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    rogue = await make_caller(app, client, "ACB", "bank", "ACB")
    auditor = await make_caller(app, client, "KTNN", "auditor")
    unknown = "bank_account:970436:999999999999"
    for caller in (holder, auditor):
        empty = await _ledger(client, caller, unknown)
        assert empty.status_code == 200
        assert empty.json()["totals"] == {
            "frozen_vnd": 0,
            "released_vnd": 0,
            "returned_vnd": 0,
            "held_vnd": 0,
        }
        assert empty.json()["entries"] == [] and empty.json()["by_case"] == []
    # Another bank learns the same (nothing) about a known and an unknown account.
    assert (await _entry(client, holder, "freeze", 7)).status_code == 201
    known, never = await _ledger(client, rogue, KEY), await _ledger(client, rogue, unknown)
    assert (known.status_code, never.status_code) == (404, 404)
    assert known.json()["detail"].replace(KEY, "?") == never.json()["detail"].replace(unknown, "?")
