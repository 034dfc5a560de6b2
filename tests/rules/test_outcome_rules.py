"""SPEC §8 "Warnings" (the outcome side): capped amounts, one outcome per warning, by the
organisation that received it, and every outcome a chained change event."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.models import ChangeEvent
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, flag_body, lookup

MAX = 100_000_000_000


async def _warning_id(app: FastAPI, client: httpx.AsyncClient) -> tuple[Caller, str]:
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)
    bank = await make_caller(app, client, "VCB", "bank")
    answer = await lookup(client, bank, ACCOUNT)
    assert answer["warning_id"], answer
    return bank, answer["warning_id"]


async def _outcome(
    client: httpx.AsyncClient,
    caller: Caller,
    warning_id: str,
    amount: int,
    outcome: str = "cancelled",
) -> httpx.Response:
    return await client.post(
        f"/v1/warnings/{warning_id}/outcome",
        json={"outcome": outcome, "amount_vnd": amount},
        headers=caller.headers,
    )


async def test_an_outcome_cannot_claim_more_than_the_cap(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank, warning_id = await _warning_id(app, client)
    for amount in (MAX + 1, 10**15):
        refused = await _outcome(client, bank, warning_id, amount)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "amount_vnd"]
    assert (await _outcome(client, bank, warning_id, MAX)).status_code == 200


async def test_the_cap_is_a_setting(settings: Settings, key_file: object) -> None:
    assert settings.max_outcome_vnd == MAX
    assert Settings(max_outcome_vnd=5).max_outcome_vnd == 5


async def test_every_outcome_is_a_chained_change_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank, warning_id = await _warning_id(app, client)
    assert (await _outcome(client, bank, warning_id, 12_000_000)).status_code == 200
    # A retry of the same answer writes nothing more; a different answer is refused.
    assert (await _outcome(client, bank, warning_id, 12_000_000)).status_code == 200
    assert (await _outcome(client, bank, warning_id, 1, "proceeded")).status_code == 409
    async with app.state.runtime.db.read_session() as session:
        stmt = select(ChangeEvent).where(ChangeEvent.entity_type == "warning")
        [event] = (await session.execute(stmt)).scalars().all()
    assert (event.entity_id, event.action, event.actor_org) == (
        warning_id,
        "outcome_recorded",
        "VCB",
    )
    assert (event.state["outcome"], event.state["amount_vnd"]) == ("cancelled", 12_000_000)
    verify = await client.get(
        "/v1/audit/verify",
        headers=(await make_caller(app, client, "KTNN", "auditor")).headers,
    )
    assert verify.json()["ok"] is True


async def test_only_the_warned_organisation_records_the_outcome(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, warning_id = await _warning_id(app, client)
    rogue = await make_caller(app, client, "TCB", "bank", "TCB")
    assert (await _outcome(client, rogue, warning_id, 1)).status_code == 404
