"""An exhausted connection pool answers 503 fast instead of keeping a payment waiting."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from tests import databases
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import flag_body

pytestmark = pytest.mark.skipif(
    databases.ENGINE != "postgresql", reason="SQLite writers queue on purpose (busy timeout)"
)


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        gc_freeze_after_start=False,
        db_pool_size=1,
        db_pool_timeout_seconds=0.5,
    )


async def test_exhausted_pool_gives_fast_503_then_recovers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    engine = app.state.runtime.db.write_engine
    async with engine.connect():  # the pool's only connection, held
        started = time.monotonic()
        busy = await client.post("/v1/flags", json=flag_body(), headers=police.headers)
        elapsed = time.monotonic() - started
    assert busy.status_code == 503, busy.text
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"]
    assert elapsed < 3  # the pool timeout, not a 30-second hang
    created = await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    assert created.status_code == 201, created.text
