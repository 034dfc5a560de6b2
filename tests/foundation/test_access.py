"""Token issuance and the 401/403 rules of SPEC §2, over HTTP."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.actor import Actor
from app.db.unit_of_work import unit_of_work
from app.models import Client
from app.organisations.service import deactivate_organisation, revoke_client
from tests.factories import get_token, make_caller, make_client, make_org

PROTECTED = "/v1/test/protected"


@pytest.fixture
def app_with_probe(app: FastAPI) -> FastAPI:
    """A route guarded by the real scope dependency, so access rules are tested in isolation."""
    from app.auth.dependencies import require
    from app.auth.scopes import Scope

    @app.get(PROTECTED, dependencies=[require(Scope.LOOKUP)])
    async def probe() -> dict[str, bool]:
        return {"ok": True}

    return app


async def test_form_and_basic_credentials_both_work(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "ACB", "bank", "ACB")
    client_id, secret = await make_client(app, "ACB", "lookup sync")
    form = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    via_basic = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    for response in (form, via_basic):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["scope"] == "lookup sync"
        assert 0 < body["expires_in"] <= 900
        assert response.headers["cache-control"] == "no-store"


async def test_wrong_secret_and_unknown_client_are_401_invalid_client(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "ACB", "bank", "ACB")
    client_id, _ = await make_client(app, "ACB", "lookup")
    for cid, secret in ((client_id, "wrong"), ("cli_nobody", "x")):
        response = await client.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"] == "invalid_client"
        assert response.headers["cache-control"] == "no-store"


async def test_unsupported_grant_and_unheld_scope_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "ACB", "bank", "ACB")
    client_id, secret = await make_client(app, "ACB", "lookup")
    grant = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "password", "client_id": client_id, "client_secret": secret},
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = await client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "lookup admin",
        },
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"


async def test_requested_scope_narrows_the_token(
    app_with_probe: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app_with_probe, "ACB", "bank", "ACB")
    client_id, secret = await make_client(app_with_probe, "ACB", "lookup sync")
    token = await get_token(client, client_id, secret, scope="sync")
    response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_missing_and_bad_token_get_401_invalid_token(
    app_with_probe: FastAPI, client: httpx.AsyncClient
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic eDp5"},
        {"Authorization": "Bearer a.b.c"},
    ):
        response = await client.get(PROTECTED, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert response.headers["content-type"] == "application/problem+json"


async def test_valid_token_without_scope_gets_403_insufficient_scope(
    app_with_probe: FastAPI, client: httpx.AsyncClient
) -> None:
    auditor = await make_caller(app_with_probe, client, "AUD", "auditor")
    response = await client.get(PROTECTED, headers=auditor.headers)
    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    ok = await make_caller(app_with_probe, client, "VCB", "bank", scopes="lookup")
    assert (await client.get(PROTECTED, headers=ok.headers)).status_code == 200


async def test_scopes_are_limited_by_organisation_kind(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from app.errors import InvalidInput

    await make_org(app, "AUD", "auditor")
    with pytest.raises(InvalidInput):
        await make_client(app, "AUD", "lookup")
    with pytest.raises(InvalidInput):
        await make_client(app, "AUD", "audit:read nonsense")


async def test_revoked_client_and_deactivated_org_stop_at_once(
    app_with_probe: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await make_caller(app_with_probe, client, "VCB", "bank", scopes="lookup")
    second = await make_caller(app_with_probe, client, "ACB", "bank", "ACB", scopes="lookup")
    for caller in (first, second):
        assert (await client.get(PROTECTED, headers=caller.headers)).status_code == 200
    runtime = app_with_probe.state.runtime
    async with unit_of_work(runtime.db, Actor.command_line()) as uow:
        await revoke_client(uow, first.client_id)
        await deactivate_organisation(uow, "ACB")
    await runtime.mirror.refresh()
    for caller in (first, second):
        response = await client.get(PROTECTED, headers=caller.headers)
        assert response.status_code == 401
    refused = await client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": first.client_id,
            "client_secret": first.secret,
        },
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


async def test_secret_is_stored_only_as_a_slow_hash(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "ACB", "bank", "ACB")
    client_id, secret = await make_client(app, "ACB", "lookup")
    async with app.state.runtime.db.read_session() as session:
        stored = (
            await session.execute(select(Client).where(Client.client_id == client_id))
        ).scalar_one()
    assert secret not in stored.secret_hash
    assert stored.secret_hash.startswith("scrypt$16384$")


async def test_bank_institution_is_checked_and_normalised(app: FastAPI) -> None:
    from app.errors import InvalidInput

    await make_org(app, "VCB", "bank", "Vietcombank")
    async with app.state.runtime.db.read_session() as session:
        from app.organisations.repository import OrganisationRepository

        org = await OrganisationRepository(session).by_code("VCB")
    assert org is not None and org.institution == "970436"
    with pytest.raises(InvalidInput):
        await make_org(app, "XX", "bank", "NOPE")
    with pytest.raises(InvalidInput):
        await make_org(app, "POL", "police", "970436")
    with pytest.raises(InvalidInput):
        await make_org(app, "WAL", "ewallet", "NOTAWALLET")
