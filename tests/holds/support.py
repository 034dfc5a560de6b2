"""The organisations of the hold tests, and small helpers over the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import Caller, make_caller

# Held at VCB (BIN 970436), the holder; ACB's customer was the victim.
ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011 0023-45678"}
KEY = "bank_account:970436:0011002345678"
WALLET = {"kind": "ewallet", "institution": "MOMO", "identifier": "0987 654 321"}


@dataclass
class World:
    holder: Caller  # VCB: holds the account
    requester: Caller  # ACB: the victim's bank
    other: Caller  # TCB: a member bank with every hold scope, nothing to do with it
    wallet: Caller  # MOMO: holds the e-wallets
    police: Caller
    regulator: Caller
    auditor: Caller


async def build_world(app: FastAPI, client: httpx.AsyncClient) -> World:
    return World(
        holder=await make_caller(app, client, "VCB", "bank"),
        requester=await make_caller(app, client, "ACB", "bank", "ACB"),
        other=await make_caller(app, client, "TCB", "bank", "TCB"),
        wallet=await make_caller(app, client, "MOMO", "ewallet"),
        police=await make_caller(app, client, "C06", "police"),
        regulator=await make_caller(app, client, "SBV", "regulator"),
        auditor=await make_caller(app, client, "AUD", "auditor"),
    )


def hold_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": ACCOUNT,
        "amount_vnd": 45_000_000,
        "reason": "victim transferred to a fake police officer",
        "transfer_reference": "FT26338000123",
        "transferred_at": "2026-12-04T08:15:00Z",
    }
    body.update(changes)
    return body


async def request_hold(client: httpx.AsyncClient, caller: Caller, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/holds", json=hold_body(**changes), headers=caller.headers)
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    return hold


async def act(
    client: httpx.AsyncClient,
    caller: Caller,
    hold: dict[str, Any] | str,
    verb: str,
    body: dict[str, Any] | None = None,
    version: int | None = None,
) -> httpx.Response:
    """POST /v1/holds/{id}/{verb} with If-Match (the hold's version unless named)."""
    hold_id = hold if isinstance(hold, str) else hold["id"]
    if version is None:
        version = 1 if isinstance(hold, str) else int(hold["version"])
    headers = caller.headers | {"If-Match": f'"{version}"'}
    return await client.post(f"/v1/holds/{hold_id}/{verb}", json=body, headers=headers)


async def step(
    client: httpx.AsyncClient,
    caller: Caller,
    hold: dict[str, Any],
    verb: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await act(client, caller, hold, verb, body)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    result: dict[str, Any] = response.json()
    return result


async def held(
    client: httpx.AsyncClient, world: World, amount: int = 45_000_000, **changes: Any
) -> dict[str, Any]:
    """A hold requested by ACB and held by VCB."""
    hold = await request_hold(client, world.requester, **changes)
    return await step(
        client, world.holder, hold, "respond", {"outcome": "held", "held_vnd": amount}
    )
