"""Concurrent writers: gap-free seq, no lost update, consistent risk, racing confirms."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.models import ChangeEvent, Flag, Subject
from app.subjects.risk import FlagFacts, derive_risk
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body, lookup


async def test_fifty_parallel_writers_on_one_subject(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Fifty racing reports from five organisations: one active flag each (SPEC §8), the
    other 45 a 409 naming it; then withdrawals race new reports. The chain stays gap-free
    and the subject's answer matches its flags."""
    callers = [await make_caller(app, client, f"BANK{i}", "bank") for i in range(4)]
    callers.append(await make_caller(app, client, "C06", "police"))

    async def report(i: int) -> httpx.Response:
        caller = callers[i % len(callers)]
        return await client.post(
            "/v1/flags", json=flag_body(description=f"report {i}"), headers=caller.headers
        )

    responses = await asyncio.gather(*(report(i) for i in range(50)))
    created = {i % 5: r.json()["id"] for i, r in enumerate(responses) if r.status_code == 201}
    assert sorted(created) == [0, 1, 2, 3, 4]
    for i, r in enumerate(responses):
        if r.status_code != 201:
            assert r.status_code == 409 and r.json()["flag_id"] == created[i % 5]
    # The banks' flags are withdrawn while the same banks report again.
    racing = [
        client.post(
            f"/v1/flags/{created[i]}/withdraw", headers=callers[i].headers | {"If-Match": '"1"'}
        )
        for i in range(4)
    ] + [report(i) for i in range(4) for _ in range(3)]
    results = await asyncio.gather(*racing)
    assert [r.status_code for r in results[:4]] == [200] * 4
    assert {r.status_code for r in results[4:]} <= {201, 409}

    async with app.state.runtime.db.read_session() as session:
        seqs = list(
            (await session.execute(select(ChangeEvent.seq).order_by(ChangeEvent.seq))).scalars()
        )
        subject = (await session.execute(select(Subject).where(Subject.key == KEY))).scalar_one()
        flags = list((await session.execute(select(Flag))).scalars())
    assert seqs == list(range(1, len(seqs) + 1))
    active = [f.organisation_id for f in flags if f.status in ("reported", "confirmed")]
    assert len(active) == len(set(active))
    assert sum(f.status == "withdrawn" for f in flags) == 4
    expected = derive_risk(FlagFacts(f.status, f.organisation_id, f.category) for f in flags)
    assert (subject.risk_level, tuple(subject.categories)) == (expected.level, expected.categories)
    answer = await lookup(client, callers[0], ACCOUNT)
    assert answer["risk_level"] == expected.level == 3


async def test_two_racing_confirms_one_wins_one_gets_412(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    flag_id = (await client.post("/v1/flags", json=flag_body(), headers=bank.headers)).json()["id"]
    url = f"/v1/flags/{flag_id}/confirm"
    first, second = await asyncio.gather(
        client.post(url, headers=police.headers | {"If-Match": '"1"'}),
        client.post(url, headers=police.headers | {"If-Match": '"1"'}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412]


async def test_concurrent_retries_of_one_idempotency_key_create_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    headers = bank.headers | {"Idempotency-Key": "retry-storm"}
    responses = await asyncio.gather(
        *(client.post("/v1/flags", json=flag_body(), headers=headers) for _ in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
