"""Warnings on warn/hold answers, their outcomes, and lookup counts."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.models import LookupCount, Warning
from tests import databases
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, flag_body, lookup


async def test_warnings_only_for_warn_and_hold_and_outcome_by_receiver(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    bank = await make_caller(app, client, "VCB", "bank")
    other = await make_caller(app, client, "ACB", "bank", "ACB")
    clean = await lookup(client, bank, {"kind": "phone", "identifier": "0911000111"})
    assert clean["action"] == "allow" and clean["warning_id"] is None
    held = await lookup(client, bank, ACCOUNT)
    assert held["action"] == "hold" and held["warning_id"]
    url = f"/v1/warnings/{held['warning_id']}/outcome"
    body = {"outcome": "cancelled", "amount_vnd": 5_000_000}
    assert (await client.post(url, json=body, headers=other.headers)).status_code == 404
    first = await client.post(url, json=body, headers=bank.headers)
    assert first.status_code == 200 and first.json()["outcome"] == "cancelled"
    assert (await client.post(url, json=body, headers=bank.headers)).status_code == 200
    changed = await client.post(
        url, json={"outcome": "proceeded", "amount_vnd": 1}, headers=bank.headers
    )
    assert changed.status_code == 409
    batch = await client.post(
        "/v1/lookup/batch", json={"items": [ACCOUNT, ACCOUNT]}, headers=bank.headers
    )
    ids = [item["result"]["warning_id"] for item in batch.json()["items"]]
    assert all(ids) and len(set(ids)) == 1  # one subject, one warning

    runtime = app.state.runtime
    await runtime.counter.flush(runtime.db)
    async with runtime.db.read_session() as session:
        warnings = (await session.execute(select(func.count()).select_from(Warning))).scalar_one()
        counts = (await session.execute(select(LookupCount))).scalars().all()
        stored_keys = set((await session.execute(select(Warning.subject_key))).scalars())
    assert warnings == 2
    assert stored_keys == {held["key"]}  # the clean payee is never stored
    assert [(c.lookups, c.warned) for c in counts] == [(4, 2)]


@pytest.mark.skipif(databases.ENGINE != "postgresql", reason="server-side connection kill")
async def test_warning_survives_a_killed_connection(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The warning writer's connections are not pinged before use: a dead one is retried."""
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    bank = await make_caller(app, client, "VCB", "bank")
    first = await lookup(client, bank, ACCOUNT)
    assert first["warning_id"]
    runtime = app.state.runtime
    async with runtime.db.write_session() as session:
        killed = await session.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE 'INSERT INTO warning%'"
            )
        )
        assert killed.scalar_one() >= 1
    second = await lookup(client, bank, ACCOUNT)
    assert second["warning_id"] and second["warning_id"] != first["warning_id"]
    async with runtime.db.read_session() as session:
        ids = set((await session.execute(select(Warning.id))).scalars())
    assert {first["warning_id"], second["warning_id"]} <= ids


async def test_lookup_does_not_hang_on_a_stalled_warning_commit(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    bank = await make_caller(app, client, "VCB", "bank")
    runtime = app.state.runtime

    async def stalled(rows: object) -> None:
        await asyncio.sleep(2)  # longer than the wait allowed below

    monkeypatch.setattr(runtime.warnings, "_insert", stalled)
    monkeypatch.setattr(runtime.settings, "warning_commit_timeout_seconds", 0.3)
    started = time.monotonic()
    held = await lookup(client, bank, ACCOUNT)
    assert time.monotonic() - started < 1.5  # answered before the commit ended
    assert held["action"] == "hold" and held["warning_id"] is None
