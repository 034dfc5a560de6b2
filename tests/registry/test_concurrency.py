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
    callers = [await make_caller(app, client, f"BANK{i}", "bank") for i in range(4)]
    callers.append(await make_caller(app, client, "C06", "police"))

    async def report(i: int) -> httpx.Response:
        caller = callers[i % len(callers)]
        return await client.post(
            "/v1/flags", json=flag_body(description=f"report {i}"), headers=caller.headers
        )

    responses = await asyncio.gather(*(report(i) for i in range(50)))
    assert [r.status_code for r in responses] == [201] * 50
    # Then half of the banks' reports are withdrawn concurrently with new ones.
    own = [(r.json()["id"], callers[i % 5]) for i, r in enumerate(responses) if i % 5 != 4]
    withdrawals = [
        client.post(f"/v1/flags/{fid}/withdraw", headers=c.headers | {"If-Match": '"1"'})
        for fid, c in own[:20]
    ]
    results = await asyncio.gather(*withdrawals)
    assert [r.status_code for r in results] == [200] * 20

    async with app.state.runtime.db.read_session() as session:
        seqs = list(
            (await session.execute(select(ChangeEvent.seq).order_by(ChangeEvent.seq))).scalars()
        )
        subject = (await session.execute(select(Subject).where(Subject.key == KEY))).scalar_one()
        flags = list((await session.execute(select(Flag))).scalars())
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(flags) == 50
    assert sum(f.status == "withdrawn" for f in flags) == 20
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
