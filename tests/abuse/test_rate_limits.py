"""Per-organisation rate limits (in process and shared through Redis) and the
enumeration guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import ChangeEvent
from tests.factories import get_token, make_caller, make_client

REDIS_URL = "redis://127.0.0.1:6379/15"


async def at_start_of_a_second() -> None:
    """Fixed one-second windows: start a burst early in a window so it stays inside it."""
    await asyncio.sleep(1 - time.time() % 1 + 0.01)


def phone(i: int) -> dict[str, str]:
    return {"kind": "phone", "identifier": f"09120{i:05d}"}


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit_per_second": 5, "distinct_identifiers_per_hour": 4}
    )


@pytest.fixture
async def limited_app(limited: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(limited)
    async with LifespanManager(application):
        yield application


async def test_requests_over_the_limit_get_429_with_retry_after(limited_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        bank = await make_caller(limited_app, client, "VCB", "bank")
        other = await make_caller(limited_app, client, "ACB", "bank", "ACB")
        await at_start_of_a_second()
        statuses = [
            (await client.post("/v1/lookup", json=phone(1), headers=bank.headers)).status_code
            for _ in range(7)
        ]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        refused = await client.post("/v1/lookup", json=phone(1), headers=bank.headers)
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        # Limits are per organisation: another bank is not affected.
        ok = await client.post("/v1/lookup", json=phone(1), headers=other.headers)
        assert ok.status_code == 200


async def test_enumeration_guard_blocks_and_audits(limited_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        bank = await make_caller(limited_app, client, "VCB", "bank")
        for i in range(4):
            await at_start_of_a_second() if i == 2 else None
            response = await client.post("/v1/lookup", json=phone(i), headers=bank.headers)
            assert response.status_code == 200
        again = await client.post("/v1/lookup", json=phone(0), headers=bank.headers)
        assert again.status_code == 200  # the same identifier again is not enumeration
        await at_start_of_a_second()
        blocked = await client.post("/v1/lookup", json=phone(99), headers=bank.headers)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        batch = await client.post(
            "/v1/lookup/batch", headers=bank.headers, json={"items": [phone(100), phone(101)]}
        )
        assert batch.status_code == 429
    async with limited_app.state.runtime.db.read_session() as session:
        events = (
            (
                await session.execute(
                    select(ChangeEvent).where(ChangeEvent.entity_type == "security")
                )
            )
            .scalars()
            .all()
        )
    assert [(e.action, e.actor_org) for e in events] == [("enumeration_blocked", "VCB")]


async def test_redis_limits_are_shared_between_processes(limited: Settings) -> None:
    """Two app instances stand for two workers; with Redis they share one budget."""
    shared = limited.model_copy(update={"redis_url": REDIS_URL, "rate_limit_per_second": 6})
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()  # database 15 belongs to these tests
    await redis.aclose()
    first, second = create_app(shared), create_app(shared)
    async with LifespanManager(first), LifespanManager(second):
        t1 = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a")
        t2 = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b")
        code = "VCB"
        bank = await make_caller(first, t1, code, "bank")
        await second.state.runtime.mirror.refresh()
        client_id, secret = await make_client(first, code, "lookup")
        await second.state.runtime.mirror.refresh()
        token = await get_token(t2, client_id, secret)
        headers2 = {"Authorization": f"Bearer {token}"}
        await at_start_of_a_second()
        statuses = []
        for i in range(8):
            client, headers = (t1, bank.headers) if i % 2 == 0 else (t2, headers2)
            statuses.append(
                (await client.post("/v1/lookup", json=phone(1), headers=headers)).status_code
            )
        await t1.aclose()
        await t2.aclose()
    assert statuses.count(200) == 6 and statuses[6:] == [429, 429]
