"""Webhook subscriptions over HTTP: the attacks first (another organisation, SSRF, bad
input, replays), then the life of a subscription and the inbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Caller, make_caller

PUBLIC = "https://8.8.8.8/registry-hook"  # an address literal: no DNS needed


def no_allowed_hosts(app: FastAPI) -> None:
    runtime = app.state.runtime
    runtime.settings = runtime.settings.model_copy(update={"webhook_allowed_hosts": ""})


async def subscribe(
    client: httpx.AsyncClient,
    caller: Caller,
    url: str = PUBLIC,
    events: list[str] | None = None,
    **headers: str,
) -> httpx.Response:
    body = {"url": url, "events": events or ["customer.listed", "dispute.updated"]}
    return await client.post("/v1/webhooks", json=body, headers=caller.headers | headers)


async def test_another_organisations_webhook_is_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_caller(app, client, "VCB", "bank")
    other = await make_caller(app, client, "ACB", "bank", "ACB")
    created = (await subscribe(client, owner)).json()
    base = f"/v1/webhooks/{created['id']}"
    assert (await client.get(f"{base}/deliveries", headers=other.headers)).status_code == 404
    assert (await client.post(f"{base}/test", headers=other.headers)).status_code == 404
    rotate = await client.post(f"{base}/rotate-secret", headers=other.headers | {"If-Match": '"1"'})
    assert rotate.status_code == 404
    delete = await client.delete(base, headers=other.headers | {"If-Match": '"1"'})
    assert delete.status_code == 404
    assert (await client.get("/v1/webhooks", headers=other.headers)).json()["items"] == []
    mine = (await client.get("/v1/webhooks", headers=owner.headers)).json()["items"]
    assert [w["id"] for w in mine] == [created["id"]] and "secret" not in mine[0]
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await client.post(f"/v1/webhooks/{missing}/test", headers=owner.headers)).json()[
        "status"
    ] == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.1.2.3:8443/hook",
        "https://10.0.0.7/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[2002:7f00:1::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://localhost/hook",  # a name that resolves to loopback
        "http://8.8.8.8/hook",  # plain http to a host nobody allowed
        "https://user:pw@8.8.8.8/hook",
        "ftp://8.8.8.8/hook",
        "https:///hook",
        "https://8.8.8.8:99999/hook",
    ],
)
async def test_unsafe_targets_are_refused(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    no_allowed_hosts(app)
    bank = await make_caller(app, client, "VCB", "bank")
    response = await subscribe(client, bank, url)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "url"]
    assert problem["detail"]
    assert (await client.get("/v1/webhooks", headers=bank.headers)).json()["items"] == []


async def test_allowed_host_may_use_http_and_private_addresses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    runtime.settings = runtime.settings.model_copy(
        update={"webhook_allowed_hosts": "10.1.0.0/16, localhost"}
    )
    bank = await make_caller(app, client, "VCB", "bank")
    assert (await subscribe(client, bank, "http://10.1.2.3:8080/h")).status_code == 201
    assert (await subscribe(client, bank, "http://localhost:8080/h")).status_code == 201
    assert (await subscribe(client, bank, "http://10.2.0.1/h")).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://exa\u0000mple.com/hook", "events": ["ping"]},
        {"url": PUBLIC, "events": ["ping"] * 10_000},
        {"url": PUBLIC, "events": []},
        {"url": PUBLIC, "events": ["flag.created"]},
        {"url": PUBLIC, "events": ["ping"], "secret": "whsec_mine"},
        {"url": "x" * 5000, "events": ["ping"]},
    ],
)
async def test_invalid_bodies_are_422(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    response = await client.post("/v1/webhooks", json=body, headers=bank.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_idempotent_create_makes_one_subscription(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    first = await subscribe(client, bank, **{"Idempotency-Key": "hook-1"})
    again = await subscribe(client, bank, **{"Idempotency-Key": "hook-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["secret"].startswith("whsec_")
    assert again.json()["id"] == first.json()["id"] and again.json()["secret"] is None
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await subscribe(client, bank, PUBLIC + "2", **{"Idempotency-Key": "hook-1"})
    assert other.status_code == 422
    assert len((await client.get("/v1/webhooks", headers=bank.headers)).json()["items"]) == 1


async def test_listing_changed_needs_sync(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")  # police never hold sync
    refused = await subscribe(client, police, events=["listing.changed"])
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/sync-required"
    bank = await make_caller(app, client, "VCB", "bank", scopes="webhooks:manage")
    assert (await subscribe(client, bank, events=["listing.changed"])).status_code == 403
    syncing = await make_caller(app, client, "ACB", "bank", "ACB", "webhooks:manage sync")
    assert (await subscribe(client, syncing, events=["listing.changed"])).status_code == 201


async def test_scope_and_kinds(app: FastAPI, client: httpx.AsyncClient) -> None:
    lookup_only = await make_caller(app, client, "VCB", "bank", scopes="lookup")
    assert (await subscribe(client, lookup_only)).status_code == 403
    auditor = await make_caller(app, client, "AUD", "auditor")
    assert (await subscribe(client, auditor)).status_code == 403
    # Any token of the organisation reads its inbox.
    assert (await client.get("/v1/notifications", headers=lookup_only.headers)).status_code == 200


async def test_rotate_delete_and_chain(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    created = (await subscribe(client, bank)).json()
    base = f"/v1/webhooks/{created['id']}"
    assert (await client.post(f"{base}/rotate-secret", headers=bank.headers)).status_code == 428
    rotated = await client.post(f"{base}/rotate-secret", headers=bank.headers | {"If-Match": '"1"'})
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"] != created["secret"] and body["previous_secret_expires_at"]
    assert rotated.headers["ETag"] == '"2"'
    stale = await client.delete(base, headers=bank.headers | {"If-Match": '"1"'})
    assert stale.status_code == 412
    deleted = await client.delete(base, headers=bank.headers | {"If-Match": '"2"'})
    assert deleted.status_code == 204
    assert (await client.get("/v1/webhooks", headers=bank.headers)).json()["items"] == []
    assert (await client.post(f"{base}/test", headers=bank.headers)).status_code == 404
    auditor = await make_caller(app, client, "AUD", "auditor")
    events = (await client.get("/v1/audit/events", headers=auditor.headers)).json()["items"]
    hooks = [e for e in events if e["entity_type"] == "webhook"]
    assert [e["action"] for e in hooks] == ["created", "secret_rotated", "deleted"]
    text = str(hooks)
    assert created["secret"] not in text and body["secret"] not in text
    verify = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert verify["ok"] and verify["state_ok"], verify


async def test_inbox_cursor(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    created = (await subscribe(client, bank)).json()
    ping = await client.post(f"/v1/webhooks/{created['id']}/test", headers=bank.headers)
    assert ping.status_code == 202 and ping.json()["webhook_id"].startswith("msg_")
    page = (await client.get("/v1/notifications", headers=bank.headers)).json()
    assert [m["type"] for m in page["items"]] == ["ping"]
    assert page["items"][0]["webhook_id"] == ping.json()["webhook_id"]
    assert page["next_after"] == page["last_id"] == page["items"][0]["id"]
    after = page["next_after"]
    empty = await client.get(f"/v1/notifications?after={after}", headers=bank.headers)
    assert empty.json()["items"] == []
    ahead = await client.get(f"/v1/notifications?after={after + 1}", headers=bank.headers)
    assert ahead.status_code == 409 and ahead.json()["last_id"] == after
    other = await make_caller(app, client, "ACB", "bank", "ACB")
    assert (await client.get("/v1/notifications", headers=other.headers)).json()["items"] == []


async def test_too_many_webhooks(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    for n in range(10):
        assert (await subscribe(client, bank, f"{PUBLIC}/{n}")).status_code == 201
    assert (await subscribe(client, bank, f"{PUBLIC}/x")).status_code == 409
