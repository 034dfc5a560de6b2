"""SPEC §8 "Disputes": one open dispute per subject, under_dispute exactly while it is open,
and a dispute needs an active flag."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.models import Dispute
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, flag_body, lookup


async def _open(client: httpx.AsyncClient, caller: Caller, **fields: object) -> httpx.Response:
    body = {"subject": ACCOUNT, "reason": "salary account", **fields}
    return await client.post("/v1/disputes", json=body, headers=caller.headers)


async def test_a_subject_has_at_most_one_open_dispute(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    first = await _open(client, holder)
    assert first.status_code == 201, first.text

    second = await _open(client, holder, reason="again")

    assert second.status_code == 409
    assert second.json()["dispute_id"] == first.json()["id"]
    # Once the first is decided, a new dispute may be opened.
    url = f"/v1/disputes/{first.json()['id']}/resolve"
    decided = await client.post(
        url, json={"outcome": "rejected"}, headers=police.headers | {"If-Match": '"1"'}
    )
    assert decided.status_code == 200
    assert (await _open(client, holder)).status_code == 201


async def test_under_dispute_is_true_exactly_while_a_dispute_is_open(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    police = await make_caller(app, client, "C06", "police")
    flag = (await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)).json()
    assert (await lookup(client, holder, ACCOUNT))["under_dispute"] is False
    dispute = (await _open(client, holder)).json()
    assert (await lookup(client, holder, ACCOUNT))["under_dispute"] is True
    # The contested flag goes away while the dispute stays open: still under dispute.
    withdrawn = await client.post(
        f"/v1/flags/{flag['id']}/withdraw", headers=reporter.headers | {"If-Match": '"1"'}
    )
    assert withdrawn.status_code == 200
    answer = await lookup(client, holder, ACCOUNT)
    assert (answer["action"], answer["under_dispute"]) == ("allow", True)
    resolved = await client.post(
        f"/v1/disputes/{dispute['id']}/resolve",
        json={"outcome": "upheld"},
        headers=police.headers | {"If-Match": '"1"'},
    )
    assert resolved.status_code == 200
    answer = await lookup(client, holder, ACCOUNT)
    assert (answer["action"], answer["under_dispute"]) == ("allow", False)


async def test_a_dispute_needs_an_active_flag(app: FastAPI, client: httpx.AsyncClient) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    assert (await _open(client, holder)).status_code == 409  # never flagged
    flag = (await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)).json()
    await client.post(
        f"/v1/flags/{flag['id']}/withdraw", headers=reporter.headers | {"If-Match": '"1"'}
    )
    assert (await _open(client, holder)).status_code == 409  # no active flag any more
    again = (await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)).json()
    stale = await _open(client, holder, flag_id=flag["id"])  # names the withdrawn one
    assert stale.status_code == 409
    assert (await _open(client, holder, flag_id=again["id"])).status_code == 201


async def test_only_the_holding_institution_opens_a_dispute(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    telecom = await make_caller(app, client, "VTL", "telecom")
    await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)
    assert (await _open(client, reporter)).status_code == 403  # ACCOUNT is held at VCB
    assert (await _open(client, telecom)).status_code == 403


async def test_a_direct_insert_of_a_second_open_dispute_is_refused_by_the_database(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder = await make_caller(app, client, "VCB", "bank")
    police = await make_caller(app, client, "C06", "police")
    await client.post("/v1/flags", json=flag_body(), headers=police.headers)
    dispute = (await _open(client, holder)).json()
    async with app.state.runtime.db.write_session() as session:
        stmt = select(Dispute).where(Dispute.id == dispute["id"])
        row = (await session.execute(stmt)).scalar_one()
        values = {c.name: getattr(row, c.name) for c in Dispute.__table__.columns}
        values["id"] = "00000000-0000-0000-0000-000000000002"
        with pytest.raises(IntegrityError):
            await session.execute(insert(Dispute).values(**values))
        await session.rollback()
