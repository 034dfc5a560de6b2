"""Disputes and the recovery ledger over HTTP (in process)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.db.types import utcnow
from app.models import Dispute
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body, lookup


async def test_dispute_upheld_clears_flags_and_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder_bank = await make_caller(app, client, "VCB", "bank")  # ACCOUNT is held at VCB
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    assert (await lookup(client, holder_bank, ACCOUNT))["action"] == "hold"

    opened = await client.post(
        "/v1/disputes", json={"subject": ACCOUNT, "reason": "salary"}, headers=holder_bank.headers
    )
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert dispute["status"] == "open" and dispute["subject_key"] == KEY
    assert dispute["due_at"] > dispute["created_at"]
    answer = await lookup(client, holder_bank, ACCOUNT)
    assert answer["under_dispute"] is True and answer["action"] == "hold"

    url = f"/v1/disputes/{dispute['id']}/resolve"
    body = {"outcome": "upheld", "note": "account belongs to a teacher"}
    assert (await client.post(url, json=body, headers=police.headers)).status_code == 428
    resolved = await client.post(url, json=body, headers=police.headers | {"If-Match": '"1"'})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "upheld"
    answer = await lookup(client, holder_bank, ACCOUNT)
    assert (answer["action"], answer["under_dispute"]) == ("allow", False)
    again = await client.post(url, json=body, headers=police.headers | {"If-Match": '"2"'})
    assert again.status_code == 409
    record = (
        await client.get(f"/v1/subjects/{quote(KEY, safe='')}", headers=police.headers)
    ).json()
    assert {f["status"] for f in record["flags"]} == {"cleared"}
    assert record["disputes"][0]["status"] == "upheld"


async def test_rejected_dispute_keeps_flags(app: FastAPI, client: httpx.AsyncClient) -> None:
    holder_bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    dispute = (
        await client.post(
            "/v1/disputes", json={"subject": ACCOUNT, "reason": "x"}, headers=holder_bank.headers
        )
    ).json()
    resolved = await client.post(
        f"/v1/disputes/{dispute['id']}/resolve",
        json={"outcome": "rejected"},
        headers=police.headers | {"If-Match": '"1"'},
    )
    assert resolved.json()["status"] == "rejected"
    answer = await lookup(client, holder_bank, ACCOUNT)
    assert (answer["action"], answer["under_dispute"]) == ("hold", False)


async def test_disputes_only_for_own_institution(app: FastAPI, client: httpx.AsyncClient) -> None:
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    phone = {"kind": "phone", "identifier": "0912345678"}
    await client.post("/v1/flags", json=flag_body(phone), headers=police.headers)
    other_bank = await make_caller(app, client, "ACB", "bank", "ACB")
    telecom = await make_caller(app, client, "VIETTEL", "telecom")
    foreign = await client.post(
        "/v1/disputes", json={"subject": ACCOUNT, "reason": "x"}, headers=other_bank.headers
    )
    assert foreign.status_code == 403
    assert foreign.json()["type"].endswith("not-own-institution")
    assert (
        await client.post(
            "/v1/disputes", json={"subject": ACCOUNT, "reason": "x"}, headers=telecom.headers
        )
    ).status_code == 403
    ok = await client.post(
        "/v1/disputes", json={"subject": phone, "reason": "x"}, headers=telecom.headers
    )
    assert ok.status_code == 201
    unlisted = {"kind": "phone", "identifier": "0911111111"}
    nothing = await client.post(
        "/v1/disputes", json={"subject": unlisted, "reason": "x"}, headers=telecom.headers
    )
    assert nothing.status_code == 409


async def test_dispute_visibility_and_overdue_list(app: FastAPI, client: httpx.AsyncClient) -> None:
    holder_bank = await make_caller(app, client, "VCB", "bank")
    other_bank = await make_caller(app, client, "ACB", "bank", "ACB")
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    dispute = (
        await client.post(
            "/v1/disputes", json={"subject": ACCOUNT, "reason": "x"}, headers=holder_bank.headers
        )
    ).json()
    url = f"/v1/disputes/{dispute['id']}"
    assert (await client.get(url, headers=holder_bank.headers)).status_code == 200
    assert (await client.get(url, headers=police.headers)).status_code == 200
    assert (await client.get(url, headers=other_bank.headers)).status_code == 404
    assert (await client.get("/v1/disputes", headers=other_bank.headers)).json()["items"] == []
    overdue = await client.get("/v1/disputes", params={"overdue": "true"}, headers=police.headers)
    assert overdue.json()["items"] == []
    async with app.state.runtime.db.write_session() as session:
        await session.execute(update(Dispute).values(due_at=utcnow() - timedelta(days=1)))
        await session.commit()
    overdue = await client.get("/v1/disputes", params={"overdue": "true"}, headers=police.headers)
    assert [d["id"] for d in overdue.json()["items"]] == [dispute["id"]]
    assert overdue.json()["items"][0]["overdue"] is True


async def test_recovery_ledger_never_releases_more_than_held(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")

    async def entry(action: str, amount: int, caller: object = bank) -> httpx.Response:
        return await client.post(
            "/v1/recoveries",
            headers=caller.headers,
            json={  # type: ignore[attr-defined]
                "subject": ACCOUNT,
                "action": action,
                "amount_vnd": amount,
                "case_reference": "PC02-7",
            },
        )

    assert (await entry("release", 1)).status_code == 422
    assert (await entry("freeze", 10_000_000)).status_code == 201
    returned = await entry("return", 6_000_000, police)
    assert returned.status_code == 201
    assert returned.json()["totals"] == {
        "frozen_vnd": 10_000_000,
        "released_vnd": 0,
        "returned_vnd": 6_000_000,
        "held_vnd": 4_000_000,
    }
    assert (await entry("release", 4_000_001)).status_code == 422
    assert (await entry("release", 4_000_000)).status_code == 201
    refused = await entry("return", 1)
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"][-1] == "amount_vnd"
    for bad in (0, -5, 1.5, 10**16, "100"):
        assert (await entry("freeze", bad)).status_code == 422, bad  # type: ignore[arg-type]
    ledger = (
        await client.get(f"/v1/subjects/{quote(KEY, safe='')}/recoveries", headers=police.headers)
    ).json()
    assert [e["action"] for e in ledger["entries"]] == ["freeze", "return", "release"]
    assert ledger["totals"]["held_vnd"] == 0
    assert ledger["by_case"][0]["case_reference"] == "PC02-7"
    record = (
        await client.get(f"/v1/subjects/{quote(KEY, safe='')}", headers=police.headers)
    ).json()
    assert record["recovery"]["returned_vnd"] == 6_000_000
