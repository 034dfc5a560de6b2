"""Helpers of the admin tests: an operator caller, and requests that read then change."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import ChangeEvent
from tests.factories import Caller, make_caller

ORGS = "/v1/admin/organisations"
CLIENTS = "/v1/admin/clients"


async def operator(app: FastAPI, http: httpx.AsyncClient, code: str = "OPS") -> Caller:
    return await make_caller(app, http, code, "operator")


async def create_org(
    http: httpx.AsyncClient, admin: Caller, code: str, kind: str, institution: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "name": f"{code} org", "kind": kind}
    if institution is not None:
        body["institution"] = institution
    response = await http.post(ORGS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_client(
    http: httpx.AsyncClient, admin: Caller, org: str, scopes: str
) -> dict[str, Any]:
    response = await http.post(CLIENTS, json={"org": org, "scopes": scopes}, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def change(http: httpx.AsyncClient, admin: Caller, path: str, action: str) -> httpx.Response:
    """POST ``path/action`` with the If-Match of a fresh read of ``path``."""
    read = await http.get(path, headers=admin.headers)
    assert read.status_code == 200, read.text
    headers = {**admin.headers, "If-Match": read.headers["etag"]}
    return await http.post(f"{path}/{action}", headers=headers)


async def token_status(http: httpx.AsyncClient, client_id: str, secret: str) -> int:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return (await http.post("/v1/oauth/token", data=data)).status_code


async def events(app: FastAPI, entity_type: str, entity_id: str) -> list[ChangeEvent]:
    async with app.state.runtime.db.read_session() as session:
        stmt = (
            select(ChangeEvent)
            .where(ChangeEvent.entity_type == entity_type, ChangeEvent.entity_id == entity_id)
            .order_by(ChangeEvent.seq)
        )
        return list((await session.execute(stmt)).scalars())


async def event_count(app: FastAPI) -> int:
    async with app.state.runtime.db.read_session() as session:
        stmt = select(func.count()).select_from(ChangeEvent)
        return int((await session.execute(stmt)).scalar_one())
