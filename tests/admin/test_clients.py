"""API clients over HTTP (SPEC §9): create, read, list, revoke, rotate the secret."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import Client
from tests.admin.support import (
    CLIENTS,
    ORGS,
    change,
    create_client,
    create_org,
    event_count,
    events,
    operator,
    token_status,
)

PROBLEM = "application/problem+json"


async def _secret_hash(app: FastAPI, client_id: str) -> str:
    async with app.state.runtime.db.read_session() as session:
        stmt = select(Client.secret_hash).where(Client.client_id == client_id)
        return str((await session.execute(stmt)).scalar_one())


async def test_create_shows_the_secret_once_and_it_works(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "VCB", "bank", "VCB")
    response = await client.post(
        CLIENTS, json={"org": "VCB", "scopes": "lookup sync lookup"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["org"] == "VCB" and created["scopes"] == "lookup sync"
    assert created["active"] is True and created["version"] == 1
    assert response.headers["location"] == f"/v1/admin/clients/{created['client_id']}"
    assert await token_status(client, created["client_id"], created["client_secret"]) == 200

    stored = await _secret_hash(app, created["client_id"])
    assert created["client_secret"] not in stored
    read = await client.get(f"{CLIENTS}/{created['client_id']}", headers=admin.headers)
    listed = await client.get(CLIENTS, headers=admin.headers)
    for answer in (read, listed):
        assert answer.status_code == 200
        assert created["client_secret"] not in answer.text and stored not in answer.text
        assert "secret" not in answer.text and "hash" not in answer.text
    assert read.headers["etag"] == '"1"'
    assert read.json() == {k: v for k, v in created.items() if k != "client_secret"}


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [
        ("bank", "admin"),
        ("bank", "lookup flags:review"),
        ("police", "sync"),
        ("auditor", "lookup"),
        ("operator", "lookup"),
        ("bank", "lookup nonsense"),
        ("bank", "   "),
    ],
)
async def test_scopes_must_be_allowed_for_the_kind(
    app: FastAPI, client: httpx.AsyncClient, kind: str, scopes: str
) -> None:
    admin = await operator(app, client)
    code = "ORG1"
    await create_org(client, admin, code, kind, "VCB" if kind == "bank" else None)
    before = await event_count(app)
    response = await client.post(
        CLIENTS, json={"org": code, "scopes": scopes}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][-1] == "scopes"
    assert await event_count(app) == before


async def test_client_create_refusals(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "C06", "police")
    cases = [
        ({"org": "NOPE", "scopes": "lookup"}, 404),
        ({"org": "C06", "scopes": "lookup\x00"}, 422),
        ({"org": "C0\x006", "scopes": "lookup"}, 422),
        ({"org": "C06", "scopes": "lookup", "secret": "mine"}, 422),
        ({"org": "C06"}, 422),
        ({"org": "C06", "scopes": "x" * 401}, 422),
    ]
    for body, status in cases:
        response = await client.post(CLIENTS, json=body, headers=admin.headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert (await change(client, admin, f"{ORGS}/C06", "deactivate")).status_code == 200
    inactive = await client.post(
        CLIENTS, json={"org": "C06", "scopes": "lookup"}, headers=admin.headers
    )
    assert inactive.status_code == 409
    assert inactive.json()["type"].endswith("/organisation-inactive")


async def test_list_filters_by_organisation_and_paginates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "C06", "police")
    await create_org(client, admin, "AUD", "auditor")
    ids = [(await create_client(client, admin, "C06", "lookup"))["client_id"] for _ in range(3)]
    audit = (await create_client(client, admin, "AUD", "audit:read"))["client_id"]
    seen: list[str] = []
    url = f"{CLIENTS}?org=C06&limit=2"
    while url:
        page = await client.get(url, headers=admin.headers)
        assert page.status_code == 200, page.text
        seen += [c["client_id"] for c in page.json()["items"]]
        assert {c["org"] for c in page.json()["items"]} == {"C06"}
        cursor = page.json()["next_cursor"]
        url = f"{CLIENTS}?org=C06&limit=2&cursor={cursor}" if cursor else ""
    assert seen == ids
    everyone = await client.get(f"{CLIENTS}?limit=500", headers=admin.headers)
    assert [c["client_id"] for c in everyone.json()["items"]] == [admin.client_id, *ids, audit]
    assert (await client.get(f"{CLIENTS}?org=NOPE", headers=admin.headers)).status_code == 404
    for bad in ("org=C0%006", "organisation=C06", "cursor=bm9wZQ", "limit=1000"):
        response = await client.get(f"{CLIENTS}?{bad}", headers=admin.headers)
        assert response.status_code == 422, (bad, response.text)


async def test_unknown_client_is_404_problem(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await operator(app, client)
    headers = {**admin.headers, "If-Match": '"1"'}
    for method, path in (
        ("GET", f"{CLIENTS}/cli_nobody"),
        ("POST", f"{CLIENTS}/cli_nobody/revoke"),
        ("POST", f"{CLIENTS}/cli_nobody/rotate-secret"),
    ):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["title"] == "Client not found"
    nul = await client.get(f"{CLIENTS}/cli_%00", headers=admin.headers)
    assert nul.status_code == 422 and nul.json()["errors"][0]["loc"] == ["path", "client_id"]


async def test_revoke_needs_if_match_is_idempotent_and_ends_tokens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "C06", "police")
    created = await create_client(client, admin, "C06", "history:read")
    cid, secret = created["client_id"], created["client_secret"]
    token = (
        await client.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
        )
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/v1/flags", headers=bearer)).status_code == 200
    path = f"{CLIENTS}/{cid}"
    assert (await client.post(f"{path}/revoke", headers=admin.headers)).status_code == 428
    stale = await client.post(f"{path}/revoke", headers={**admin.headers, "If-Match": '"2"'})
    assert stale.status_code == 412
    revoked = await client.post(f"{path}/revoke", headers={**admin.headers, "If-Match": '"1"'})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False and revoked.json()["version"] == 2
    assert (await client.get("/v1/flags", headers=bearer)).status_code == 401
    assert await token_status(client, cid, secret) == 401
    before = await event_count(app)
    retry = await client.post(f"{path}/revoke", headers={**admin.headers, "If-Match": '"1"'})
    assert retry.status_code == 200 and retry.json() == revoked.json()
    assert await event_count(app) == before
    rotate = await change(client, admin, path, "rotate-secret")
    assert rotate.status_code == 409 and rotate.json()["type"].endswith("/client-revoked")


async def test_rotate_secret_refuses_the_old_one_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "MOMO", "ewallet", "MOMO")
    created = await create_client(client, admin, "MOMO", "lookup")
    cid, old = created["client_id"], created["client_secret"]
    old_hash = await _secret_hash(app, cid)
    path = f"{CLIENTS}/{cid}"
    assert (await client.post(f"{path}/rotate-secret", headers=admin.headers)).status_code == 428
    rotated = await client.post(
        f"{path}/rotate-secret", headers={**admin.headers, "If-Match": '"1"'}
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    body = rotated.json()
    new = body["client_secret"]
    assert new != old and body["version"] == 2 and body["active"] is True
    assert await _secret_hash(app, cid) != old_hash
    assert await token_status(client, cid, old) == 401
    assert await token_status(client, cid, new) == 200
    # The same request again is a 412, never a second rotation that would lose `new`.
    again = await client.post(f"{path}/rotate-secret", headers={**admin.headers, "If-Match": '"1"'})
    assert again.status_code == 412
    assert await token_status(client, cid, new) == 200
    read = await client.get(path, headers=admin.headers)
    assert new not in read.text and "secret" not in read.text
    actions = [e.action for e in await events(app, "client", cid)]
    assert actions == ["created", "secret_rotated"]
    assert new not in str([e.state for e in await events(app, "client", cid)])


async def test_an_admin_cannot_revoke_the_client_it_calls_with(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    spare = await create_client(client, admin, "OPS", "admin")
    refused = await change(client, admin, f"{CLIENTS}/{admin.client_id}", "revoke")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/self-lockout")
    assert (await client.get(CLIENTS, headers=admin.headers)).status_code == 200
    # Its organisation's other client may be revoked; and may revoke the first one.
    assert (await change(client, admin, f"{CLIENTS}/{spare['client_id']}", "revoke")).is_success
    # The caller may rotate its own secret: it gets the new one, so it is not locked out.
    rotated = await change(client, admin, f"{CLIENTS}/{admin.client_id}", "rotate-secret")
    assert rotated.status_code == 200
    assert await token_status(client, admin.client_id, rotated.json()["client_secret"]) == 200
    assert (await client.get(CLIENTS, headers=admin.headers)).status_code == 200


async def test_client_count_is_one_after_an_idempotent_replay(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "C06", "police")
    headers = {**admin.headers, "Idempotency-Key": "create-c06-reader"}
    body = {"org": "C06", "scopes": "history:read"}
    first = await client.post(CLIENTS, json=body, headers=headers)
    assert first.status_code == 201
    replay = await client.post(CLIENTS, json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["cache-control"] == "no-store"
    # Same client; the secret is shown once only, so the replay answers null.
    assert replay.json() == {**first.json(), "client_secret": None}
    assert first.json()["client_secret"] not in replay.text
    other = await client.post(CLIENTS, json={"org": "C06", "scopes": "lookup"}, headers=headers)
    assert other.status_code == 422
    async with app.state.runtime.db.read_session() as session:
        stmt = select(func.count()).select_from(Client).where(Client.scopes == "history:read")
        assert (await session.execute(stmt)).scalar_one() == 1
    # Nowhere in the database is the secret kept.
    async with app.state.runtime.db.read_session() as session:
        from sqlalchemy import text

        rows = (await session.execute(text("SELECT response_body FROM idempotency_record"))).all()
        assert rows and all(first.json()["client_secret"] not in row[0] for row in rows)
