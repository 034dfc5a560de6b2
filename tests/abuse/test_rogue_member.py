"""A rogue member bank against every write endpoint: nothing it tries may change anything.

The registry is set up as in real life (a report by one bank, a police confirmation, a
freeze and an open dispute at the holding bank, a warning issued to it), then a bank with
every scope its kind may hold tries foreign objects, foreign institutions, duplicate and
replayed requests, extreme amounts and hostile text. After each attempt every table and the
chain head are exactly as before, and the chain still verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.models import (
    ChangeEvent,
    Client,
    Dispute,
    Flag,
    IdempotencyRecord,
    Organisation,
    RecoveryEntry,
    RegistryHead,
    Subject,
    Warning,
)
from tests.factories import Caller, make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, flag_body, lookup

TABLES = (
    RegistryHead,
    ChangeEvent,
    Subject,
    Flag,
    Dispute,
    RecoveryEntry,
    Warning,
    IdempotencyRecord,
    Organisation,
    Client,
)
OWN_ACCOUNT = {"kind": "bank_account", "institution": "TCB", "identifier": "19033334444"}
PHONE = {"kind": "phone", "institution": None, "identifier": "0912 345 678"}


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    holder: Caller  # VCB: ACCOUNT is held there
    police: Caller
    rogue: Caller  # TCB, every scope a bank may hold
    reported_flag: str  # ACB's report on ACCOUNT
    police_flag: str  # C06's confirmed flag on ACCOUNT
    dispute: str  # VCB's open dispute on ACCOUNT
    warning: str  # issued to VCB

    async def post(self, url: str, body: Any = None, **headers: str) -> httpx.Response:
        return await self.client.post(url, json=body, headers=self.rogue.headers | headers)

    async def raw(self, url: str, content: bytes, **headers: str) -> httpx.Response:
        headers = {"Content-Type": "application/json", **headers}
        return await self.client.post(url, content=content, headers=self.rogue.headers | headers)


async def snapshot(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with app.state.runtime.db.read_session() as session:
        for model in TABLES:
            columns = list(model.__table__.columns)  # type: ignore[attr-defined]
            rows = (await session.execute(select(*columns).order_by(*columns[:1]))).all()
            out[model.__tablename__] = [tuple(row) for row in rows]
    return out


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient) -> World:
    holder = await make_caller(app, client, "VCB", "bank")
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    police = await make_caller(app, client, "C06", "police")
    rogue = await make_caller(app, client, "TCB", "bank", "TCB")
    reported = (await client.post("/v1/flags", json=flag_body(), headers=reporter.headers)).json()
    confirmed = (await client.post("/v1/flags", json=flag_body(), headers=police.headers)).json()
    freeze = {"subject": ACCOUNT, "action": "freeze", "amount_vnd": 10_000_000}
    frozen = await client.post(
        "/v1/recoveries", json=freeze | {"case_reference": "PC02-1"}, headers=holder.headers
    )
    assert frozen.status_code == 201, frozen.text
    opened = await client.post(
        "/v1/disputes", json={"subject": ACCOUNT, "reason": "salary"}, headers=holder.headers
    )
    assert opened.status_code == 201, opened.text
    warning = (await lookup(client, holder, ACCOUNT))["warning_id"]
    assert warning
    own = await client.post("/v1/flags", json=flag_body(OWN_ACCOUNT), headers=rogue.headers)
    assert own.status_code == 201
    return World(
        app,
        client,
        holder,
        police,
        rogue,
        reported["id"],
        confirmed["id"],
        opened.json()["id"],
        warning,
    )


Attempt = Callable[[World], Coroutine[Any, Any, httpx.Response]]
NUL, SURROGATE = "\\u0000", "\\ud800"  # as JSON escapes in a raw body


def _text_attacks() -> dict[str, tuple[str, str]]:
    """(url, body template with {bad}) for every text field a bank can send."""
    subject = '{"kind":"bank_account","institution":"TCB","identifier":"19033335555"}'
    own = '{"kind":"bank_account","institution":"TCB","identifier":"1903 3334 444"}'
    return {
        "flag description": (
            "/v1/flags",
            '{"subject":' + subject + ',"category":"ROMANCE","description":"a{bad}b"}',
        ),
        "flag holder name": (
            "/v1/flags",
            '{"subject":' + subject + ',"category":"ROMANCE","holder_name":"A{bad}"}',
        ),
        "subject identifier": (
            "/v1/flags",
            '{"subject":{"kind":"phone","identifier":"0912{bad}345678"},"category":"ROMANCE"}',
        ),
        "dispute reason": ("/v1/disputes", '{"subject":' + own + ',"reason":"x{bad}"}'),
        "recovery note": (
            "/v1/recoveries",
            '{"subject":' + subject + ',"action":"freeze","amount_vnd":5,"note":"n{bad}"}',
        ),
        "recovery case": (
            "/v1/recoveries",
            '{"subject":'
            + subject
            + ',"action":"freeze","amount_vnd":5,"case_reference":"C{bad}"}',
        ),
    }


ATTEMPTS: dict[str, tuple[Attempt, int]] = {
    # Another organisation's flags: as if they did not exist.
    "withdraw another bank's report": (
        lambda w: w.post(f"/v1/flags/{w.reported_flag}/withdraw", None, **{"If-Match": '"1"'}),
        404,
    ),
    "withdraw the police's confirmed flag": (
        lambda w: w.post(f"/v1/flags/{w.police_flag}/withdraw", None, **{"If-Match": '"1"'}),
        404,
    ),
    "confirm a report without flags:review": (
        lambda w: w.post(f"/v1/flags/{w.reported_flag}/confirm", None, **{"If-Match": '"1"'}),
        403,
    ),
    "reject the police's flag": (
        lambda w: w.post(f"/v1/flags/{w.police_flag}/reject", None, **{"If-Match": '"1"'}),
        403,
    ),
    # Duplicates and replays.
    "a second active flag on its own report": (
        lambda w: w.post("/v1/flags", flag_body(OWN_ACCOUNT, category="FAKE_LOAN")),
        409,
    ),
    "a flag with registry-set fields": (
        lambda w: w.post("/v1/flags", flag_body(PHONE, status="confirmed", id="x")),
        422,
    ),
    "a case reference it may not set": (
        lambda w: w.post("/v1/flags", flag_body(PHONE, case_reference="C06-1")),
        422,
    ),
    # Another institution's customer and money.
    "dispute an account held at another bank": (
        lambda w: w.post("/v1/disputes", {"subject": ACCOUNT, "reason": "mine"}),
        403,
    ),
    "resolve the holder's dispute": (
        lambda w: w.post(
            f"/v1/disputes/{w.dispute}/resolve", {"outcome": "upheld"}, **{"If-Match": '"1"'}
        ),
        403,
    ),
    "release another bank's frozen money": (
        lambda w: w.post(
            "/v1/recoveries",
            {
                "subject": ACCOUNT,
                "action": "release",
                "amount_vnd": 10_000_000,
                "case_reference": "PC02-1",
            },
        ),
        404,
    ),
    "return another bank's frozen money": (
        lambda w: w.post(
            "/v1/recoveries", {"subject": ACCOUNT, "action": "return", "amount_vnd": 1}
        ),
        404,
    ),
    "freeze money at another bank": (
        lambda w: w.post(
            "/v1/recoveries", {"subject": ACCOUNT, "action": "freeze", "amount_vnd": 1}
        ),
        404,
    ),
    "release from its own account more than is held": (
        lambda w: w.post(
            "/v1/recoveries", {"subject": OWN_ACCOUNT, "action": "release", "amount_vnd": 1}
        ),
        422,
    ),
    "freeze money in a phone number": (
        lambda w: w.post("/v1/recoveries", {"subject": PHONE, "action": "freeze", "amount_vnd": 1}),
        404,  # a phone is at no bank: the rogue is not its holder
    ),
    # Someone else's warning, and the city's headline figure.
    "claim another bank's warning outcome": (
        lambda w: w.post(
            f"/v1/warnings/{w.warning}/outcome", {"outcome": "cancelled", "amount_vnd": 1}
        ),
        404,
    ),
}
for amount in (10**16, 10**15 + 1, -1, 0.5, "1000", 2**63, True):
    ATTEMPTS[f"freeze an extreme amount {amount!r}"] = (
        lambda w, a=amount: w.post(  # type: ignore[misc]
            "/v1/recoveries", {"subject": OWN_ACCOUNT, "action": "freeze", "amount_vnd": a}
        ),
        422,
    )
for name, (url, template) in _text_attacks().items():
    for label, bad in (("NUL", NUL), ("lone surrogate", SURROGATE)):
        ATTEMPTS[f"{label} in the {name}"] = (
            lambda w, u=url, t=template, b=bad: w.raw(u, t.replace("{bad}", b).encode()),  # type: ignore[misc]
            422,
        )


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
async def test_a_rogue_member_bank_changes_nothing(world: World, name: str) -> None:
    attempt, status = ATTEMPTS[name]
    before = await snapshot(world.app)

    response = await attempt(world)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await snapshot(world.app) == before
    assert (await lookup(world.client, world.holder, ACCOUNT))["action"] == "hold"


async def test_replays_and_repeats_change_nothing_after_the_first(world: World) -> None:
    body = flag_body(PHONE)
    first = await world.post("/v1/flags", body, **{"Idempotency-Key": "rogue-1"})
    assert first.status_code == 201
    before = await snapshot(world.app)
    for _ in range(20):
        replay = await world.post("/v1/flags", body, **{"Idempotency-Key": "rogue-1"})
        assert (replay.status_code, replay.json()) == (201, first.json())
    other = await world.post(
        "/v1/flags", flag_body(PHONE, category="FAKE_LOAN"), **{"Idempotency-Key": "rogue-1"}
    )
    assert other.status_code == 422
    again = await world.post("/v1/flags", body)
    assert again.status_code == 409
    assert await snapshot(world.app) == before


async def test_a_thousand_repeats_in_one_batch_are_one_warning(world: World) -> None:
    before = len((await snapshot(world.app))["warning"])
    items = [ACCOUNT] * 1000
    response = await world.client.post(
        "/v1/lookup/batch", json={"items": items}, headers=world.rogue.headers
    )
    assert response.status_code == 200
    ids = {item["result"]["warning_id"] for item in response.json()["items"]}
    assert len(ids) == 1 and None not in ids
    assert len((await snapshot(world.app))["warning"]) == before + 1


async def test_the_chain_still_verifies_after_every_attempt(world: World) -> None:
    for name in sorted(ATTEMPTS):
        await ATTEMPTS[name][0](world)
    auditor = await make_caller(world.app, world.client, "KTNN", "auditor")
    verify = await world.client.get("/v1/audit/verify", headers=auditor.headers)
    assert verify.json()["ok"] is True, verify.json()
