"""Delivery to a real HTTP receiver on 127.0.0.1 (allowed by the setting), with the worker
of the app's lifespan: signatures, order, retries through failures, 410, rotation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from standardwebhooks import Webhook

from app.db.types import utcnow
from app.models import WebhookSubscription
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body
from tests.webhooks.receiver import Receiver

SECOND = {"kind": "bank_account", "institution": "VCB", "identifier": "0071000999888"}


async def eventually(predicate: Any, timeout: float = 20.0, what: str = "it") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate() if asyncio.iscoroutinefunction(predicate) else predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def subscribe(
    client: httpx.AsyncClient, caller: Caller, url: str, events: list[str]
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks", json={"url": url, "events": events}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(client: httpx.AsyncClient, caller: Caller, hook: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhooks/{hook}/deliveries", headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_confirmed_flag_notifies_the_holder_bank(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")  # ACCOUNT is held at VCB
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    police = await make_caller(app, client, "C06", "police")
    mine = await subscribe(client, holder, receiver.url, ["customer.listed"])
    other_url = receiver.url.replace("/hook", "/acb")
    await subscribe(client, reporter, other_url, ["customer.listed"])
    flag = (await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)).json()
    confirmed = await client.post(
        f"/v1/flags/{flag['id']}/confirm", headers=police.headers | {"If-Match": '"1"'}
    )
    assert confirmed.status_code == 200, confirmed.text
    await eventually(lambda: len(receiver.unique()) >= 2, what="two customer.listed")
    messages = receiver.verified(mine["secret"])
    assert [m["type"] for m in messages] == ["customer.listed", "customer.listed"]
    assert [(m["data"]["key"], m["data"]["risk_level"]) for m in messages] == [(KEY, 1), (KEY, 3)]
    confirmed_data = messages[1]["data"]
    assert confirmed_data["action"] == "hold" and confirmed_data["previous_risk_level"] == 1
    assert {"seq", "risk", "categories", "under_dispute", "last_changed_at"} <= set(
        messages[1]["data"]
    )
    assert receiver.unique("/acb") == []  # not ACB's customer
    first = receiver.unique()[0].headers
    assert first["webhook-id"].startswith("msg_") and first["webhook-signature"].startswith("v1,")
    log = await deliveries(client, holder, mine["id"])
    assert [d["status"] for d in log] == ["delivered", "delivered"]
    inbox = (await client.get("/v1/notifications", headers=holder.headers)).json()["items"]
    assert [m["webhook_id"] for m in inbox] == [r.webhook_id for r in receiver.unique()]
    assert [m["data"] for m in inbox] == [m["data"] for m in messages]


async def test_every_message_arrives_once_in_order_through_failures(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    hook = await subscribe(client, holder, receiver.url, ["customer.listed", "dispute.updated"])
    receiver.mode = "500"
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    await eventually(lambda: "500" in receiver.answered, what="a 500")
    opened = await client.post(
        "/v1/disputes", json={"subject": ACCOUNT, "reason": "salary"}, headers=holder.headers
    )
    assert opened.status_code == 201, opened.text
    receiver.mode = "hang"  # longer than the read timeout
    await eventually(lambda: "hang" in receiver.answered, what="a timeout")
    await client.post("/v1/flags", json=flag_body(SECOND), headers=police.headers)
    port = receiver.port
    receiver.stop()  # connection refused from now on

    async def refused() -> bool:
        return any(
            d["status_code"] is None and "Connect" in (d["error"] or "")
            for d in await deliveries(client, holder, hook["id"])
        )

    await eventually(refused, what="a refused connection")
    receiver.port, receiver.mode = port, "ok"
    receiver.start()
    await eventually(lambda: len(receiver.unique()) >= 3, what="every message")
    await asyncio.sleep(0.3)  # nothing more may arrive
    messages = receiver.verified(hook["secret"])
    types = [m["type"] for m in messages]
    assert types == ["customer.listed", "dispute.updated", "customer.listed"]
    assert messages[1]["data"]["action"] == "opened"
    assert messages[1]["data"]["dispute"]["id"] == opened.json()["id"]
    ids = [int(r.webhook_id.removeprefix("msg_")) for r in receiver.unique()]
    assert ids == sorted(ids)
    log = await deliveries(client, holder, hook["id"])
    statuses = {d["status"] for d in log}
    assert statuses == {"delivered", "retrying"}
    codes = {d["status_code"] for d in log}
    assert 500 in codes and any("Timeout" in (d["error"] or "") for d in log)
    first_id = receiver.unique()[0].webhook_id
    assert all(d["webhook_id"] == first_id for d in log if d["attempt"] > 1)


async def test_gone_disables_the_webhook(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    hook = await subscribe(client, bank, receiver.url, ["ping"])
    receiver.mode = "410"
    await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bank.headers)

    async def disabled() -> bool:
        listed = (await client.get("/v1/webhooks", headers=bank.headers)).json()["items"]
        return bool(listed[0]["status"] == "disabled")

    await eventually(disabled, what="the webhook disabled")
    assert (await deliveries(client, bank, hook["id"]))[0]["status"] == "disabled"
    again = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bank.headers)
    assert again.status_code == 409
    auditor = await make_caller(app, client, "AUD", "auditor")
    verify = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert verify["state_ok"], verify


async def test_both_secrets_sign_after_rotation(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    hook = await subscribe(client, bank, receiver.url, ["ping"])
    rotated = await client.post(
        f"/v1/webhooks/{hook['id']}/rotate-secret", headers=bank.headers | {"If-Match": '"1"'}
    )
    new_secret = rotated.json()["secret"]
    await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bank.headers)
    await eventually(lambda: len(receiver.unique()) == 1, what="the ping")
    item = receiver.unique()[0]
    assert len(item.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], new_secret):
        assert Webhook(secret).verify(item.body, item.headers)["type"] == "ping"


async def test_redirect_is_a_failed_attempt(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    target = Receiver().start()
    try:
        receiver.mode, receiver.redirect_to = "redirect", target.url
        bank = await make_caller(app, client, "VCB", "bank")
        hook = await subscribe(client, bank, receiver.url, ["ping"])
        await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bank.headers)

        async def attempted() -> bool:
            return len(await deliveries(client, bank, hook["id"])) >= 2

        await eventually(attempted, what="two attempts")
        log = await deliveries(client, bank, hook["id"])
        assert {(d["status"], d["status_code"]) for d in log} == {("retrying", 302)}
        assert target.answered == []  # the redirect was never followed
    finally:
        target.stop()


async def test_a_message_is_failed_after_the_retry_window(
    app: FastAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    runtime = app.state.runtime
    bank = await make_caller(app, client, "VCB", "bank")
    hook = await subscribe(client, bank, receiver.url, ["ping"])
    receiver.mode = "503"
    await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bank.headers)
    await eventually(lambda: "503" in receiver.answered, what="a first attempt")

    async def failed() -> bool:
        # As if the first attempt were 25 h ago (repeated: the worker may be storing its
        # own view of the attempts at this very moment).
        async with runtime.db.write_session() as session:
            await session.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == hook["id"], WebhookSubscription.attempts > 0)
                .values(first_attempt_at=utcnow() - timedelta(hours=25))
            )
            await session.commit()
        return any(d["status"] == "failed" for d in await deliveries(client, bank, hook["id"]))

    await eventually(failed, what="the delivery failed")
    receiver.mode = "ok"
    await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bank.headers)
    await eventually(lambda: len(receiver.unique()) == 1, what="the next message")
    assert receiver.verified(hook["secret"])[0]["type"] == "ping"
