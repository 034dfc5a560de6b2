from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import make_caller


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"


async def test_token_round_trip(app: FastAPI, client: httpx.AsyncClient) -> None:
    caller = await make_caller(app, client, "VCB", "bank")
    assert caller.token.count(".") == 2
