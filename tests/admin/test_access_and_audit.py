"""Who may administer; what a change does at the token endpoint; the chain it leaves."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from app.admin.policy import check_administrator
from app.auth.actor import Actor
from app.errors import InsufficientScope
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
from tests.factories import get_token, make_caller

OPERATIONS = [
    ("GET", ORGS, None),
    ("POST", ORGS, {"code": "NEWORG", "name": "n", "kind": "police"}),
    ("GET", f"{ORGS}/VCB", None),
    ("POST", f"{ORGS}/VCB/deactivate", None),
    ("POST", f"{ORGS}/VCB/reactivate", None),
    ("GET", CLIENTS, None),
    ("POST", CLIENTS, {"org": "VCB", "scopes": "lookup"}),
    ("GET", f"{CLIENTS}/{{cid}}", None),
    ("POST", f"{CLIENTS}/{{cid}}/revoke", None),
    ("POST", f"{CLIENTS}/{{cid}}/rotate-secret", None),
]


async def test_only_operators_holding_admin_get_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    others = [
        bank,
        await make_caller(app, client, "C06", "police"),
        await make_caller(app, client, "SBV", "regulator"),
        await make_caller(app, client, "AUD", "auditor"),
    ]
    before = await event_count(app)
    for method, template, body in OPERATIONS:
        path = template.format(cid=bank.client_id)
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        for caller in others:
            headers = {**caller.headers, "If-Match": '"1"'}
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (caller.org, method, path, response.text)
            assert (
                'error="insufficient_scope", scope="admin"' in response.headers["www-authenticate"]
            )
    assert await event_count(app) == before


def test_admin_needs_an_operator_organisation_as_well_as_the_scope() -> None:
    """Defence in depth: a client row that held `admin` for another kind (written behind
    the service) would still administer nothing."""
    for kind, scopes, allowed in (
        ("operator", {"admin"}, True),
        ("bank", {"admin", "lookup"}, False),
        ("operator", {"lookup"}, False),
        (None, {"admin"}, False),
    ):
        actor = Actor(1, "X", kind, None, "cli_x", "jti", "req", frozenset(scopes))
        if allowed:
            check_administrator(actor)
        else:
            with pytest.raises(InsufficientScope):
                check_administrator(actor)


async def test_a_deactivated_organisation_is_refused_tokens_and_its_tokens_stop(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    bank = await make_caller(app, client, "VCB", "bank")
    lookup = {"kind": "phone", "identifier": "0912345678"}
    assert (await client.post("/v1/lookup", json=lookup, headers=bank.headers)).is_success
    assert (await change(client, admin, f"{ORGS}/VCB", "deactivate")).status_code == 200
    assert await token_status(client, bank.client_id, bank.secret) == 401
    assert (await client.post("/v1/lookup", json=lookup, headers=bank.headers)).status_code == 401
    await asyncio.sleep(1.1)  # `iat` counts whole seconds: be a second past the token
    assert (await change(client, admin, f"{ORGS}/VCB", "reactivate")).status_code == 200
    # The token that was live at the deactivation does not come back with the reactivation.
    assert (await client.post("/v1/lookup", json=lookup, headers=bank.headers)).status_code == 401
    assert await token_status(client, bank.client_id, bank.secret) == 200
    fresh = await get_token(client, bank.client_id, bank.secret)
    bearer = {"Authorization": f"Bearer {fresh}"}
    assert (await client.post("/v1/lookup", json=lookup, headers=bearer)).status_code == 200


async def test_idempotent_organisation_create(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await operator(app, client)
    body = {"code": "C06", "name": "Cục C06", "kind": "police"}
    headers = {**admin.headers, "Idempotency-Key": "c06-once"}
    first = await client.post(ORGS, json=body, headers=headers)
    count = await event_count(app)
    replay = await client.post(ORGS, json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == first.headers["etag"]
    assert await event_count(app) == count
    other = await client.post(ORGS, json={**body, "name": "other"}, headers=headers)
    assert other.status_code == 422
    # Without the key, a repeat is the 409 of an existing code.
    assert (await client.post(ORGS, json=body, headers=admin.headers)).status_code == 409
    bad_key = {**admin.headers, "Idempotency-Key": "a\x01b"}
    assert (await client.post(ORGS, json=body, headers=bad_key)).status_code == 422


async def test_admin_changes_are_chained_events_by_the_caller_and_verify(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    auditor = await make_caller(app, client, "AUD", "auditor")
    await create_org(client, admin, "VCB", "bank", "970436")
    created = await create_client(client, admin, "VCB", "lookup sync")
    cid = created["client_id"]
    steps = [
        (f"{CLIENTS}/{cid}", "rotate-secret"),
        (f"{ORGS}/VCB", "deactivate"),
        (f"{ORGS}/VCB", "reactivate"),
        (f"{CLIENTS}/{cid}", "revoke"),
    ]
    for path, action in steps:
        assert (await change(client, admin, path, action)).status_code == 200, (path, action)
    org_events = await events(app, "organisation", "VCB")
    client_events = await events(app, "client", cid)
    assert [e.action for e in org_events] == ["created", "deactivated", "reactivated"]
    assert [e.action for e in client_events] == ["created", "secret_rotated", "revoked"]
    for event in org_events + client_events:
        assert event.actor_org == "OPS" and event.actor_client == admin.client_id
        assert event.token_jti and event.request_id
    assert [e.entity_version for e in client_events] == [1, 2, 3]
    # The rotation changed what the client's state records of its secret.
    digests = [e.state["secret_digest"] for e in client_events]
    assert digests[0] != digests[1] == digests[2]
    assert client_events[-1].state["active"] is False

    verify = await client.get("/v1/audit/verify", headers=auditor.headers)
    assert verify.status_code == 200, verify.text
    result = verify.json()
    assert result["ok"] is True and result["state_ok"] is True, result
    assert result["first_bad_seq"] is None
    feed = await client.get("/v1/audit/events?after=0&limit=500", headers=auditor.headers)
    mine = [e for e in feed.json()["items"] if e["entity_id"] in ("VCB", cid)]
    assert len(mine) == 6
    assert created["client_secret"] not in feed.text
