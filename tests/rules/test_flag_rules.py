"""SPEC §8 "Flags": each rule, and the attack it answers, over HTTP (both databases)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.models import ChangeEvent, Flag
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body, lookup


async def _flag(client: httpx.AsyncClient, caller: Caller, **fields: object) -> dict:  # type: ignore[type-arg]
    response = await client.post("/v1/flags", json=flag_body(**fields), headers=caller.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _act(
    client: httpx.AsyncClient,
    caller: Caller,
    flag: dict,  # type: ignore[type-arg]
    action: str,
    version: int,
    reason: str | None = None,
) -> httpx.Response:
    body = None if reason is None else {"reason": reason}
    return await client.post(
        f"/v1/flags/{flag['id']}/{action}",
        json=body,
        headers=caller.headers | {"If-Match": f'"{version}"'},
    )


async def test_a_bank_cannot_undo_a_police_confirmation_by_withdrawing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    flag = await _flag(client, bank)
    assert (await _act(client, police, flag, "confirm", 1)).status_code == 200
    assert (await lookup(client, bank, ACCOUNT))["action"] == "hold"

    refused = await _act(client, bank, flag, "withdraw", 2)

    assert refused.status_code == 409
    assert "flags:review" in refused.json()["detail"]
    assert (await lookup(client, bank, ACCOUNT))["action"] == "hold"
    # Police, who hold flags:review, may still undo it by rejecting.
    rejected = await _act(client, police, flag, "reject", 2, reason="wrong account")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert (await lookup(client, bank, ACCOUNT))["action"] == "allow"


async def test_a_reported_flag_is_withdrawn_by_its_reporter_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    other = await make_caller(app, client, "ACB", "bank", "ACB")
    flag = await _flag(client, bank)
    assert (await _act(client, other, flag, "withdraw", 1)).status_code == 404
    withdrawn = await _act(client, bank, flag, "withdraw", 1, reason="reported in error")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


async def test_police_withdraw_their_own_confirmed_flag_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    police = await make_caller(app, client, "C06", "police")
    other_police = await make_caller(app, client, "PC02", "police")
    flag = await _flag(client, police)
    assert flag["status"] == "confirmed"
    assert (await _act(client, other_police, flag, "withdraw", 1)).status_code == 404
    assert (await _act(client, police, flag, "withdraw", 1)).status_code == 200


async def test_one_active_flag_per_organisation_and_subject(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    other = await make_caller(app, client, "ACB", "bank", "ACB")
    first = await _flag(client, bank)
    # The same account typed another way is the same subject.
    typed = {**ACCOUNT, "identifier": "001100234 5678", "institution": "Vietcombank"}
    second = await client.post(
        "/v1/flags", json=flag_body(typed, category="FAKE_LOAN"), headers=bank.headers
    )
    assert second.status_code == 409
    assert second.json()["flag_id"] == first["id"]
    assert first["id"] in second.json()["detail"]
    # Another organisation may report it; and once withdrawn, the first may report again.
    assert (
        await client.post("/v1/flags", json=flag_body(), headers=other.headers)
    ).status_code == 201
    assert (await _act(client, bank, first, "withdraw", 1)).status_code == 200
    assert (
        await client.post("/v1/flags", json=flag_body(), headers=bank.headers)
    ).status_code == 201


async def test_an_idempotent_replay_still_answers_201_with_the_first_response(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    headers = bank.headers | {"Idempotency-Key": "k-1"}
    first = await client.post("/v1/flags", json=flag_body(), headers=headers)
    replay = await client.post("/v1/flags", json=flag_body(), headers=headers)
    other_key = await client.post(
        "/v1/flags", json=flag_body(), headers=bank.headers | {"Idempotency-Key": "k-2"}
    )
    assert (first.status_code, replay.status_code, other_key.status_code) == (201, 201, 409)
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"


async def test_a_direct_insert_of_a_second_active_flag_is_refused_by_the_database(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    flag = await _flag(client, bank)
    async with app.state.runtime.db.write_session() as session:
        row = (await session.execute(select(Flag).where(Flag.id == flag["id"]))).scalar_one()
        values = {c.name: getattr(row, c.name) for c in Flag.__table__.columns}
        values["id"] = "00000000-0000-0000-0000-000000000001"
        values["import_fingerprint"] = None
        with pytest.raises(IntegrityError):
            await session.execute(insert(Flag).values(**values))
        await session.rollback()


@pytest.mark.parametrize("action", ["confirm", "reject", "withdraw"])
async def test_the_reason_is_kept_on_the_flag_and_in_its_history(
    app: FastAPI, client: httpx.AsyncClient, action: str
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    flag = await _flag(client, bank)
    actor = bank if action == "withdraw" else police
    reason = f"{action}: số tài khoản của nạn nhân"

    response = await _act(client, actor, flag, action, 1, reason=reason)

    assert response.status_code == 200, response.text
    assert response.json()["reason"] == reason
    read = await client.get(f"/v1/flags/{flag['id']}", headers=police.headers)
    assert read.json()["reason"] == reason
    history = await client.get(
        f"/v1/subjects/{quote(KEY, safe='')}/history", headers=police.headers
    )
    states = [e["state"] for e in history.json()["items"] if e["entity_type"] == "flag"]
    assert states[-1]["reason"] == reason and states[0]["reason"] is None
    async with app.state.runtime.db.read_session() as session:
        stmt = select(ChangeEvent.state).where(ChangeEvent.entity_id == flag["id"])
        assert [s["reason"] for s in (await session.execute(stmt)).scalars()] == [None, reason]


async def test_a_reason_is_optional_and_bounded(app: FastAPI, client: httpx.AsyncClient) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    flag = await _flag(client, bank)
    too_long = await _act(client, police, flag, "confirm", 1, reason="x" * 2001)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["loc"] == ["body", "reason"]
    extra = await client.post(
        f"/v1/flags/{flag['id']}/confirm",
        json={"reason": "ok", "status": "cleared"},
        headers=police.headers | {"If-Match": '"1"'},
    )
    assert extra.status_code == 422
    plain = await _act(client, police, flag, "confirm", 1)
    assert plain.status_code == 200 and plain.json()["reason"] is None
