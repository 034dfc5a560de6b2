"""The outbox is written in the transaction of the change: by every writer (the bulk
import too), for exactly the audience SPEC §11 names, and never by a failed change."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.models import Notification
from tests.factories import make_caller
from tests.imports.test_import import (
    ACCOUNT_KEY,
    PHONE_KEY,
    ROWS,
    WALLET_KEY,
    run_import,
    write_csv,
)
from tests.registry.test_flags_and_lookup import flag_body


async def messages(app: FastAPI) -> list[Notification]:
    async with app.state.runtime.db.read_session() as session:
        return list(
            (await session.execute(select(Notification).order_by(Notification.id))).scalars()
        )


async def test_import_writes_the_messages_in_bulk(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    vcb = await make_caller(app, client, "VCB", "bank")  # holds the account
    momo = await make_caller(app, client, "MOMO", "ewallet")  # holds the wallet
    viettel = await make_caller(app, client, "VIETTEL", "telecom")  # phones
    acb = await make_caller(app, client, "ACB", "bank", "ACB")  # holds none of them
    await run_import(app, "ACB", write_csv(tmp_path / "rows.csv", ROWS))
    rows = await messages(app)
    listing = [m for m in rows if m.type == "listing.changed"]
    assert sorted(m.subject_key for m in listing) == sorted([ACCOUNT_KEY, PHONE_KEY, WALLET_KEY])
    assert all(m.organisation_id is None for m in listing)
    customers = {(m.subject_key, m.holder) for m in rows if m.type == "customer.listed"}
    org_ids = {}
    for caller in (vcb, momo, viettel):
        page = (await client.get("/v1/notifications", headers=caller.headers)).json()
        assert [m["type"] for m in page["items"]] == ["customer.listed"]
        assert page["items"][0]["data"]["risk_level"] == 1
        org_ids[caller.org] = page["items"][0]["data"]["key"]
    assert org_ids == {"VCB": ACCOUNT_KEY, "MOMO": WALLET_KEY, "VIETTEL": PHONE_KEY}
    assert (await client.get("/v1/notifications", headers=acb.headers)).json()["items"] == []
    assert customers == {
        (ACCOUNT_KEY, "bank_account:970436"),
        (WALLET_KEY, "ewallet:MOMO"),
        (PHONE_KEY, "phone"),
    }
    # The data is the change feed's entry at that seq, built by the same builder.
    feed = (await client.get("/v1/changes", headers=vcb.headers)).json()["items"]
    by_key = {m.subject_key: m.data for m in listing}
    assert {e["key"]: e for e in feed} == by_key


async def test_a_refused_change_writes_no_message(app: FastAPI, client: httpx.AsyncClient) -> None:
    await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    assert (
        await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    ).status_code == 201
    count = len(await messages(app))
    again = await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    assert again.status_code == 409  # one active flag per organisation: rolled back
    assert len(await messages(app)) == count
