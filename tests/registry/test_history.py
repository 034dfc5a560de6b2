"""Versioned history, point-in-time reads, the change feed and expiry."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.db.types import utcnow
from app.flags.expiry import expire_due_flags
from app.models import Flag
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body, lookup

SUBJECT_URL = f"/v1/subjects/{quote(KEY, safe='')}"


async def test_history_as_of_and_version_reproduce_earlier_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    reported = await client.post("/v1/flags", json=flag_body(), headers=bank.headers)
    low = await lookup(client, bank, ACCOUNT)
    record_low = (await client.get(SUBJECT_URL, headers=police.headers)).json()
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    high = await lookup(client, bank, ACCOUNT)
    assert (low["risk"], high["risk"]) == ("low", "high")

    at_version = await client.get(
        SUBJECT_URL, params={"version": low["registry_version"]}, headers=police.headers
    )
    assert at_version.json()["risk"] == "low"
    assert at_version.json()["registry_version"] == low["registry_version"]
    as_of = await client.get(
        SUBJECT_URL, params={"as_of": record_low["last_changed_at"]}, headers=police.headers
    )
    assert as_of.json()["risk"] == "low" and len(as_of.json()["flags"]) == 1
    before = await client.get(SUBJECT_URL, params={"version": 0}, headers=police.headers)
    assert before.status_code == 404
    current = (await client.get(SUBJECT_URL, headers=police.headers)).json()
    assert current["risk"] == "high" and len(current["flags"]) == 2

    history = (await client.get(f"{SUBJECT_URL}/history", headers=police.headers)).json()
    kinds = [(e["entity_type"], e["action"]) for e in history["items"]]
    assert kinds == [
        ("flag", "reported"),
        ("subject", "answer_changed"),
        ("flag", "confirmed"),
        ("subject", "answer_changed"),
    ]
    first = history["items"][0]
    assert first["actor_org"] == "VCB" and first["entity_id"] == reported.json()["id"]
    assert first["token_jti"] and first["request_id"]
    seqs = [e["seq"] for e in history["items"]]
    assert seqs == sorted(seqs)


async def test_change_feed_replays_to_current_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    subjects = [
        {"kind": "bank_account", "institution": "VCB", "identifier": f"55500{i}11"}
        for i in range(4)
    ]
    ids = []
    for subject in subjects:
        ids.append(
            (await client.post("/v1/flags", json=flag_body(subject), headers=bank.headers)).json()[
                "id"
            ]
        )
    await client.post("/v1/flags", json=flag_body(subjects[1]), headers=police.headers)
    await client.post(f"/v1/flags/{ids[2]}/withdraw", headers=bank.headers | {"If-Match": '"1"'})

    replayed: dict[str, int] = {}
    after = 0
    while True:
        page = (
            await client.get(
                "/v1/changes", params={"after": after, "limit": 2}, headers=bank.headers
            )
        ).json()
        for item in page["items"]:
            assert item["seq"] > after
            replayed[item["key"]] = item["risk_level"]
        if not page["items"]:
            break
        after = page["next_after"]
    assert page["registry_version"] >= after
    for subject in subjects:
        current = await lookup(client, bank, subject)
        assert replayed[current["key"]] == current["risk_level"]
    assert sorted(replayed.values()) == [0, 1, 1, 3]


async def test_unconfirmed_reports_expire_after_ttl(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    flag = (await client.post("/v1/flags", json=flag_body(), headers=bank.headers)).json()
    other = {"kind": "phone", "identifier": "0987654321"}
    await client.post("/v1/flags", json=flag_body(other), headers=police.headers)
    created = flag["created_at"]
    assert flag["expires_at"] is not None and flag["expires_at"] > created
    runtime = app.state.runtime
    assert await expire_due_flags(runtime.db) == 0
    async with runtime.db.write_session() as session:
        await session.execute(
            update(Flag)
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .where(Flag.status == "reported")
        )
        await session.commit()
    assert await expire_due_flags(runtime.db) == 1
    await runtime.mirror.refresh()
    assert (await lookup(client, bank, ACCOUNT))["action"] == "allow"
    assert (await lookup(client, bank, other))["action"] == "hold"  # police: never expires
    read = (await client.get(f"/v1/flags/{flag['id']}", headers=bank.headers)).json()
    assert read["status"] == "expired"
