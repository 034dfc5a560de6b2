"""Attacks on holds first (SPEC §10, §2, §5, §8): who may not see or move a hold, money
that must not appear or vanish, replays, races, hostile text and forged rows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.auth.actor import Actor
from app.db.types import utcnow
from app.db.unit_of_work import unit_of_work
from app.holds.lapse import lapse_holds
from app.models import ChangeEvent
from tests.audit.test_chain import tamper
from tests.audit.test_state import cli_verify
from tests.factories import make_caller
from tests.holds.support import (
    ACCOUNT,
    KEY,
    act,
    build_world,
    held,
    hold_body,
    request_hold,
    step,
)


async def test_a_bank_that_is_not_the_holder_cannot_see_answer_or_release(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(app, client)
    hold = await request_hold(client, world.requester)
    url = f"/v1/holds/{hold['id']}"
    assert (await client.get(url, headers=world.other.headers)).status_code == 404
    listed = await client.get("/v1/holds", headers=world.other.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    answer = {"outcome": "held", "held_vnd": 1}
    for caller in (world.other, world.requester):  # the requester is no holder either
        refused = await act(client, caller, hold, "respond", answer)
        assert refused.status_code == 404, refused.text
        assert refused.json()["type"].endswith("/not-found")
    now_held = await step(client, world.holder, hold, "respond", answer | {"held_vnd": 10})
    for caller in (world.other, world.requester):
        for verb in ("release", "return"):
            refused = await act(client, caller, now_held, verb, {"amount_vnd": 1})
            assert refused.status_code == 404, (verb, refused.text)
    unchanged = (await client.get(url, headers=world.holder.headers)).json()
    assert (unchanged["version"], unchanged["remaining_vnd"]) == (2, 10)


async def test_a_bank_cannot_release_another_banks_hold(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(app, client)
    # TCB holds this account; VCB (a holder elsewhere, with holds:respond) must not touch it.
    tcb_account = {"kind": "bank_account", "institution": "TCB", "identifier": "19033344455"}
    hold = await request_hold(client, world.requester, subject=tcb_account)
    assert hold["holder"] == "TCB"
    hold = await step(client, world.other, hold, "respond", {"outcome": "held", "held_vnd": 5})
    refused = await act(client, world.holder, hold, "release", {"amount_vnd": 5})
    assert refused.status_code == 404
    assert (
        await client.get(f"/v1/holds/{hold['id']}", headers=world.holder.headers)
    ).status_code == 404


async def test_a_requester_cannot_confirm_nor_a_holder_cancel(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(app, client)
    hold = await held(client, world)
    confirm = await act(client, world.requester, hold, "confirm", {"case_reference": "HCM-1"})
    assert confirm.status_code == 403  # banks never hold holds:confirm
    assert 'error="insufficient_scope"' in confirm.headers["WWW-Authenticate"]
    fresh = await request_hold(client, world.requester)
    assert (await act(client, world.holder, fresh, "cancel")).status_code == 404
    assert (await act(client, world.police, fresh, "cancel")).status_code == 404
    cancelled = await step(client, world.requester, fresh, "cancel")
    assert cancelled["status"] == "cancelled"


@pytest.mark.parametrize("held_vnd", [45_000_001, 0, -1, 2**63, 2**64, 1.5, "45000000", None, True])
async def test_held_vnd_outside_one_to_the_amount_is_422(
    app: FastAPI, client: httpx.AsyncClient, held_vnd: object
) -> None:
    world = await build_world(app, client)
    hold = await request_hold(client, world.requester)
    refused = await act(
        client, world.holder, hold, "respond", {"outcome": "held", "held_vnd": held_vnd}
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    again = (await client.get(f"/v1/holds/{hold['id']}", headers=world.holder.headers)).json()
    assert (again["status"], again["version"], again["held_vnd"]) == ("requested", 1, 0)
    ledger = await client.get(
        f"/v1/subjects/{KEY.replace(':', '%3A')}/recoveries", headers=world.holder.headers
    )
    assert ledger.json()["totals"]["frozen_vnd"] == 0


@pytest.mark.parametrize("amount", [0, -5, 2**63, 10**15 + 1, 2.0, "5"])
async def test_amounts_requested_outside_the_range_are_422(
    app: FastAPI, client: httpx.AsyncClient, amount: object
) -> None:
    world = await build_world(app, client)
    refused = await client.post(
        "/v1/holds", json=hold_body(amount_vnd=amount), headers=world.requester.headers
    )
    assert refused.status_code == 422, refused.text
    assert any(e["loc"][-1] == "amount_vnd" for e in refused.json()["errors"])


async def test_release_or_return_more_than_held_and_return_before_confirmed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(app, client)
    hold = await held(client, world, amount=1_000)
    early = await act(client, world.holder, hold, "return", {"amount_vnd": 1})
    assert early.status_code == 409 and early.json()["type"].endswith("/hold-state")
    too_much = await act(client, world.holder, hold, "release", {"amount_vnd": 1_001})
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["loc"] == ["body", "amount_vnd"]
    hold = await step(client, world.holder, hold, "release", {"amount_vnd": 400})
    hold = await step(client, world.police, hold, "confirm", {"case_reference": "HCM-9"})
    over = await act(client, world.holder, hold, "return", {"amount_vnd": 601})
    assert over.status_code == 422
    hold = await step(client, world.holder, hold, "return", {"amount_vnd": 600})
    assert (hold["status"], hold["remaining_vnd"]) == ("closed", 0)
    after = await act(client, world.police, hold, "release", {"amount_vnd": 1})
    assert after.status_code == 409


async def test_a_hold_never_takes_out_money_its_case_no_longer_holds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The ledger rule of SPEC §8 stands: money released behind the hold's back (straight
    through /v1/recoveries) cannot be released again through the hold."""
    world = await build_world(app, client)
    hold = await held(client, world, amount=1_000, case_reference="HCM-7")
    behind = await client.post(
        "/v1/recoveries",
        json={
            "subject": ACCOUNT,
            "action": "release",
            "amount_vnd": 900,
            "case_reference": "HCM-7",
        },
        headers=world.holder.headers,
    )
    assert behind.status_code == 201, behind.text
    refused = await act(client, world.holder, hold, "release", {"amount_vnd": 500})
    assert refused.status_code == 422
    again = (await client.get(f"/v1/holds/{hold['id']}", headers=world.holder.headers)).json()
    assert again["version"] == hold["version"] and again["released_vnd"] == 0


async def test_double_answers_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    hold = await request_hold(client, world.requester)
    answer = {"outcome": "held", "held_vnd": 10}
    assert (
        await act(client, world.holder, hold, "respond", answer, version=None)
    ).status_code == 200
    stale = await act(client, world.holder, hold, "respond", {"outcome": "no_funds"})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
    second = await act(client, world.holder, hold, "respond", {"outcome": "no_funds"}, version=2)
    assert second.status_code == 409 and second.json()["type"].endswith("/hold-state")
    missing = await client.post(
        f"/v1/holds/{hold['id']}/respond", json=answer, headers=world.holder.headers
    )
    assert missing.status_code == 428
    freezes = await client.get(
        f"/v1/subjects/{KEY.replace(':', '%3A')}/recoveries", headers=world.holder.headers
    )
    assert freezes.json()["totals"]["frozen_vnd"] == 10  # one freeze only


async def test_one_idempotency_key_makes_one_hold(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    headers = world.requester.headers | {"Idempotency-Key": "victim-42"}
    first = await client.post("/v1/holds", json=hold_body(), headers=headers)
    replay = await client.post("/v1/holds", json=hold_body(), headers=headers)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/v1/holds", json=hold_body(amount_vnd=7), headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    items = (await client.get("/v1/holds", headers=world.requester.headers)).json()["items"]
    assert [h["id"] for h in items] == [first.json()["id"]]


async def test_two_lapsers_at_once_lapse_and_chain_each_hold_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(app, client)
    holds = [await held(client, world, amount=5) for _ in range(3)]
    later = utcnow() + timedelta(days=30)
    db = app.state.runtime.db

    async def lapser(name: str) -> int:
        async with unit_of_work(db, Actor.command_line(name)) as uow:
            return await lapse_holds(uow, later)

    counts = await asyncio.gather(lapser("one"), lapser("two"))
    assert sorted(counts) == [0, 3]
    async with db.read_session() as session:
        events = (
            await session.execute(
                ChangeEvent.__table__.select().where(ChangeEvent.action == "lapsed")
            )
        ).all()
    assert sorted(e.entity_id for e in events) == sorted(h["id"] for h in holds)
    for hold in holds:
        now = (await client.get(f"/v1/holds/{hold['id']}", headers=world.police.headers)).json()
        assert (now["status"], now["version"]) == ("lapsed", 3)


@pytest.mark.parametrize(
    ("field", "value"),
    [("transferred_at", 0), ("transferred_at", "2026-12-04T08:15:00"), ("reason", ""), ("nope", 1)],
)
async def test_malformed_fields_are_422(
    app: FastAPI, client: httpx.AsyncClient, field: str, value: object
) -> None:
    world = await build_world(app, client)
    refused = await client.post(
        "/v1/holds", json=hold_body(**{field: value}), headers=world.requester.headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"][:2] == ["body", field]


@pytest.mark.parametrize("field", ["reason", "case_reference", "transfer_reference"])
async def test_a_nul_byte_in_text_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, field: str
) -> None:
    world = await build_world(app, client)
    refused = await client.post(
        "/v1/holds", json=hold_body(**{field: "bad\x00text"}), headers=world.requester.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", field]
    hold = await held(client, world)
    confirm = await act(client, world.police, hold, "confirm", {"case_reference": "A\x00"})
    assert confirm.status_code == 422


@pytest.mark.parametrize(
    ("subject", "field"),
    [
        ({"kind": "phone", "identifier": "0912345678"}, "subject"),
        (
            {"kind": "bank_account", "institution": "NOSUCHBANK", "identifier": "123456789"},
            "institution",
        ),
        # a real bank with no organisation in the registry: nobody could answer
        ({"kind": "bank_account", "institution": "BIDV", "identifier": "123456789"}, "subject"),
        ({"kind": "ewallet", "institution": "ZALOPAY", "identifier": "0912345678"}, "subject"),
    ],
)
async def test_subjects_that_cannot_be_held_are_422(
    app: FastAPI, client: httpx.AsyncClient, subject: dict[str, str], field: str
) -> None:
    world = await build_world(app, client)
    refused = await client.post(
        "/v1/holds", json=hold_body(subject=subject), headers=world.requester.headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"][-1] == field


async def test_kinds_without_the_scope_get_403(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    telecom = await make_caller(app, client, "VIETTEL", "telecom")
    for caller in (telecom, world.auditor):
        refused = await client.post("/v1/holds", json=hold_body(), headers=caller.headers)
        assert refused.status_code == 403
    assert (await client.get("/v1/holds", headers=telecom.headers)).status_code == 403
    assert (await client.post("/v1/holds", json=hold_body())).status_code == 401


async def test_a_hold_row_edited_behind_the_chain_fails_verification(
    app: FastAPI, client: httpx.AsyncClient, registry_env: None
) -> None:
    world = await build_world(app, client)
    hold = await held(client, world, amount=1_000)
    clean = (await client.get("/v1/audit/verify", headers=world.auditor.headers)).json()
    assert clean["ok"] and clean["state_ok"], clean
    assert await cli_verify() == 0
    await tamper(app, f"UPDATE hold SET held_vnd = 45000000 WHERE id = '{hold['id']}'")
    result = (await client.get("/v1/audit/verify", headers=world.auditor.headers)).json()
    assert result["state_ok"] is False and result["first_bad_seq"] is None
    mismatch = result["first_state_mismatch"]
    assert (mismatch["entity_type"], mismatch["entity_id"]) == ("hold", hold["id"])
    assert await cli_verify() == 1  # `registry audit verify` reports it too
