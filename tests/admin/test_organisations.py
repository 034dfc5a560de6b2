"""Organisations over HTTP (SPEC §9): create, read, list, deactivate, reactivate."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.admin.support import ORGS, change, create_org, event_count, events, operator

PROBLEM = "application/problem+json"


async def test_create_read_and_the_cli_rules(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await operator(app, client)
    response = await client.post(
        ORGS,
        json={"code": "TCB", "name": "Techcombank", "kind": "bank", "institution": "TCB"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    # The institution is normalised to the BIN as the CLI does it (same service).
    assert body["institution"] == "970407" and body["active"] is True and body["version"] == 1
    assert response.headers["location"] == "/v1/admin/organisations/TCB"
    assert response.headers["etag"] == '"1"'
    read = await client.get(f"{ORGS}/TCB", headers=admin.headers)
    assert read.status_code == 200 and read.json() == body and read.headers["etag"] == '"1"'
    again = await client.post(
        ORGS, json={"code": "TCB", "name": "x", "kind": "police"}, headers=admin.headers
    )
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["type"].endswith("/organisation-exists")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "tcb", "name": "n", "kind": "police"}, "code"),
        ({"code": "T", "name": "n", "kind": "police"}, "code"),
        ({"code": "T" * 33, "name": "n", "kind": "police"}, "code"),
        ({"code": "T B", "name": "n", "kind": "police"}, "code"),
        ({"code": "TCB", "name": "n", "kind": "bakery"}, "kind"),
        ({"code": "TCB", "name": "", "kind": "police"}, "name"),
        ({"code": "TCB", "name": "n\x00x", "kind": "police"}, "name"),
        ({"code": "TCB", "name": "n" * 201, "kind": "police"}, "name"),
        ({"code": "TCB", "name": "n", "kind": "bank"}, "institution"),
        ({"code": "TCB", "name": "n", "kind": "bank", "institution": "NOPE"}, "institution"),
        ({"code": "TCB", "name": "n", "kind": "police", "institution": "970407"}, "institution"),
        ({"code": "TCB", "name": "n", "kind": "bank", "institution": "9704\x0007"}, "institution"),
        ({"code": "TCB", "name": "n", "kind": "police", "active": False}, "active"),
    ],
)
async def test_invalid_organisations_are_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    admin = await operator(app, client)
    before = await event_count(app)
    response = await client.post(ORGS, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert any(error["loc"][-1] == field for error in response.json()["errors"]), response.text
    assert await event_count(app) == before
    assert (await client.get(f"{ORGS}/TCB", headers=admin.headers)).status_code == 404


async def test_list_is_cursor_paginated_in_code_order(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    for code in ("PB", "PA", "PD", "PC"):
        await create_org(client, admin, code, "police")
    seen: list[str] = []
    url = f"{ORGS}?limit=2"
    while True:
        page = await client.get(url, headers=admin.headers)
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 2
        seen += [org["code"] for org in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        url = f"{ORGS}?limit=2&cursor={cursor}"
    assert seen == ["OPS", "PA", "PB", "PC", "PD"]
    unknown = await client.get(f"{ORGS}?kind=police", headers=admin.headers)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["query", "kind"]
    for bad in ("limit=0", "limit=501", "cursor=bm90LWEtY3Vyc29y", "cursor=%00"):
        assert (await client.get(f"{ORGS}?{bad}", headers=admin.headers)).status_code == 422, bad


async def test_unknown_organisation_is_404_problem(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await operator(app, client)
    for method, path in (
        ("GET", f"{ORGS}/NOPE"),
        ("POST", f"{ORGS}/NOPE/deactivate"),
        ("POST", f"{ORGS}/NOPE/reactivate"),
        ("GET", f"{ORGS}/nope%20lower"),
    ):
        headers = {**admin.headers, "If-Match": '"1"'}
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["title"] == "Organisation not found"
    nul = await client.get(f"{ORGS}/AB%00", headers=admin.headers)
    assert nul.status_code == 422 and nul.json()["errors"][0]["loc"] == ["path", "code"]


async def test_deactivate_and_reactivate_need_if_match_and_are_idempotent(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    await create_org(client, admin, "PC02", "police")
    path = f"{ORGS}/PC02"
    missing = await client.post(f"{path}/deactivate", headers=admin.headers)
    assert missing.status_code == 428
    stale = await client.post(f"{path}/deactivate", headers={**admin.headers, "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.headers["etag"] == '"1"'
    assert (await client.get(path, headers=admin.headers)).json()["active"] is True

    done = await client.post(f"{path}/deactivate", headers={**admin.headers, "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.json()["active"] is False and done.json()["version"] == 2
    assert done.headers["etag"] == '"2"'
    # The same request again (its If-Match now stale): the state asked for, no new event.
    before = await event_count(app)
    retry = await client.post(f"{path}/deactivate", headers={**admin.headers, "If-Match": '"1"'})
    assert retry.status_code == 200 and retry.json() == done.json()
    assert await event_count(app) == before

    back = await change(client, admin, path, "reactivate")
    assert back.status_code == 200 and back.json()["active"] is True
    assert back.json()["version"] == 3
    again = await change(client, admin, path, "reactivate")
    assert again.status_code == 200 and again.json()["version"] == 3
    actions = [e.action for e in await events(app, "organisation", "PC02")]
    assert actions == ["created", "deactivated", "reactivated"]


async def test_an_admin_cannot_deactivate_its_own_organisation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await operator(app, client)
    other = await operator(app, client, "OPS2")
    refused = await change(client, admin, f"{ORGS}/OPS", "deactivate")
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"].endswith("/self-lockout")
    assert "OPS" in refused.json()["detail"]
    assert (await client.get(f"{ORGS}/OPS", headers=admin.headers)).json()["active"] is True
    # Another operator organisation may deactivate it, and the first one is then locked out.
    assert (await change(client, other, f"{ORGS}/OPS", "deactivate")).status_code == 200
    assert (await client.get(ORGS, headers=admin.headers)).status_code == 401
