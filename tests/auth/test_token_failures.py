"""Failed client authentication at the token endpoint is limited (SPEC §8 "Token endpoint"):
per source address and per client_id, 429 with Retry-After, checked before scrypt runs, and
never locking out the real client presenting its secret from another address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.organisations import service as org_service
from tests.factories import make_client, make_org

WINDOW = 600


@pytest.fixture
async def limited_app(settings: Settings) -> AsyncIterator[FastAPI]:
    configured = settings.model_copy(
        update={
            "token_failure_window_seconds": WINDOW,
            "token_failures_per_address": 8,
            "token_failures_per_client_address": 3,
            "token_failures_per_client": 6,
        }
    )
    application = create_app(configured)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = org_service.verify_secret

    def counting(secret: str, stored: str) -> bool:
        calls.append(secret)
        return real(secret, stored)

    monkeypatch.setattr(org_service, "verify_secret", counting)
    return calls


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://registry.test")


async def token_request(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def bank_client(app: FastAPI) -> tuple[str, str]:
    await make_org(app, "VCB", "bank", "970436")
    return await make_client(app, "VCB", "lookup")


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW


async def test_per_pair_limit_then_429_without_scrypt(
    limited_app: FastAPI, scrypt_calls: list[str]
) -> None:
    client_id, secret = await bank_client(limited_app)
    async with from_address(limited_app, "203.0.113.9") as attacker:
        for _ in range(3):
            assert (await token_request(attacker, client_id, "wrong")).status_code == 401
        assert len(scrypt_calls) == 3
        for _ in range(20):
            assert_limited(await token_request(attacker, client_id, "wrong"))
        # Refused before the secret is looked at: the flood ran no scrypt at all.
        assert len(scrypt_calls) == 3
        # From the flooding address even the right secret waits for the window.
        assert_limited(await token_request(attacker, client_id, secret))
    async with from_address(limited_app, "198.51.100.7") as real:
        answer = await token_request(real, client_id, secret)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Cache-Control"] == "no-store"


async def test_per_address_limit_covers_unknown_client_ids(
    limited_app: FastAPI, scrypt_calls: list[str]
) -> None:
    client_id, secret = await bank_client(limited_app)
    async with from_address(limited_app, "203.0.113.10") as attacker:
        for i in range(8):
            assert (await token_request(attacker, f"cli_guess{i}", "x")).status_code == 401
        for i in range(10):
            assert_limited(await token_request(attacker, f"cli_other{i}", "x"))
    assert len(scrypt_calls) == 8
    async with from_address(limited_app, "198.51.100.8") as real:
        assert (await token_request(real, client_id, secret)).status_code == 200


async def test_distributed_flood_cannot_lock_out_the_real_client(
    limited_app: FastAPI, scrypt_calls: list[str]
) -> None:
    client_id, secret = await bank_client(limited_app)
    # Many addresses, each failing a little: the client's total passes its limit ...
    for n in range(3):
        async with from_address(limited_app, f"203.0.113.{20 + n}") as attacker:
            for _ in range(2):
                assert (await token_request(attacker, client_id, "wrong")).status_code == 401
    checked = len(scrypt_calls)
    # ... so the addresses that failed are refused for this client before scrypt ...
    async with from_address(limited_app, "203.0.113.20") as attacker:
        assert_limited(await token_request(attacker, client_id, "wrong"))
    assert len(scrypt_calls) == checked
    # ... while the real client, from an address of its own, still gets its token.
    async with from_address(limited_app, "198.51.100.9") as real:
        for _ in range(3):
            assert (await token_request(real, client_id, secret)).status_code == 200


async def test_concurrent_flood_cannot_slip_under_the_limit(
    limited_app: FastAPI, scrypt_calls: list[str]
) -> None:
    client_id, _ = await bank_client(limited_app)
    async with from_address(limited_app, "203.0.113.30") as attacker:
        answers = await asyncio.gather(
            *(token_request(attacker, client_id, "wrong") for _ in range(30))
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 3 + [429] * 27
    assert len(scrypt_calls) == 3


async def test_success_is_not_counted(limited_app: FastAPI) -> None:
    client_id, secret = await bank_client(limited_app)
    async with from_address(limited_app, "198.51.100.10") as real:
        for _ in range(12):
            assert (await token_request(real, client_id, secret)).status_code == 200


async def test_store_outage_fails_open(
    limited_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id, secret = await bank_client(limited_app)

    async def broken(*args: Any, **kwargs: Any) -> list[int]:
        raise ConnectionError("store down")

    monkeypatch.setattr(limited_app.state.runtime.limiter.store, "add_counts", broken)
    async with from_address(limited_app, "198.51.100.11") as real:
        assert (await token_request(real, client_id, "wrong")).status_code == 401
        assert (await token_request(real, client_id, secret)).status_code == 200
