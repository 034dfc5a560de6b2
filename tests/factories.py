"""Small async factories that build state through the real services."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from app.auth.actor import Actor
from app.auth.scopes import scopes_for_kind
from app.db.unit_of_work import unit_of_work
from app.organisations.service import create_client, create_organisation

DEFAULT_INSTITUTION = {"bank": "970436", "ewallet": "MOMO"}


@dataclass
class Caller:
    org: str
    kind: str
    client_id: str
    secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_org(app: FastAPI, code: str, kind: str, institution: str | None = None) -> None:
    runtime = app.state.runtime
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        await create_organisation(
            uow,
            code=code,
            name=f"{code} org",
            kind=kind,
            institution=institution,
        )
    await runtime.mirror.refresh()


async def make_client(app: FastAPI, org: str, scopes: str) -> tuple[str, str]:
    runtime = app.state.runtime
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        client, secret = await create_client(uow, org_code=org, scopes=scopes)
    await runtime.mirror.refresh()
    return client.client_id, secret


async def get_token(
    http: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> str:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        data["scope"] = scope
    response = await http.post("/v1/oauth/token", data=data)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def make_caller(
    app: FastAPI,
    http: httpx.AsyncClient,
    code: str,
    kind: str,
    institution: str | None = None,
    scopes: str | None = None,
) -> Caller:
    """An organisation with one client holding ``scopes`` (default: all its kind allows)."""
    if institution is None:
        institution = DEFAULT_INSTITUTION.get(kind)
    await make_org(app, code, kind, institution)
    scopes = scopes or " ".join(sorted(scopes_for_kind(kind)))
    client_id, secret = await make_client(app, code, scopes)
    token = await get_token(http, client_id, secret)
    return Caller(code, kind, client_id, secret, token)
