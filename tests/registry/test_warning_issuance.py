"""Who is issued warnings, and how many (SPEC §8 "Warnings", the lookup side)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.actor import Actor
from app.auth.scopes import OrgKind
from app.models import LookupCount, Organisation, Warning
from app.warnings.policy import receives_warnings
from tests.factories import make_caller
from tests.registry.test_flags_and_lookup import ACCOUNT, KEY, flag_body

WARN = {"kind": "phone", "identifier": "0987 654 321"}
# Police's own flag on this account makes it "hold"; the code is from test_vietqr_lookup.
QR_ACCOUNT = {"kind": "bank_account", "institution": "ACB", "identifier": "257678859"}
VIETQR = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA530370454"
    "0410005802VN62150811Chuyen tien6304BBB8"
)


async def listed(app: FastAPI, client: httpx.AsyncClient) -> None:
    """ACCOUNT and QR_ACCOUNT on hold (police flags), WARN at warn (a bank's report)."""
    police = await make_caller(app, client, "C06", "police")
    reporter = await make_caller(app, client, "ACB", "bank", "ACB")
    for subject, caller in ((ACCOUNT, police), (QR_ACCOUNT, police), (WARN, reporter)):
        created = await client.post("/v1/flags", json=flag_body(subject), headers=caller.headers)
        assert created.status_code == 201, created.text


async def stored(app: FastAPI) -> tuple[list[Warning], dict[str, tuple[int, int]]]:
    """Every warning row, and each organisation's (lookups, warned) after a counter flush."""
    runtime = app.state.runtime
    await runtime.counter.flush(runtime.db)
    async with runtime.db.read_session() as session:
        warnings = list((await session.execute(select(Warning))).scalars())
        counts = await session.execute(
            select(Organisation.code, LookupCount.lookups, LookupCount.warned).join(
                Organisation, Organisation.id == LookupCount.organisation_id
            )
        )
        return warnings, {code: (lookups, warned) for code, lookups, warned in counts}


async def org_id(app: FastAPI, code: str) -> int:
    async with app.state.runtime.db.read_session() as session:
        found = await session.execute(select(Organisation.id).where(Organisation.code == code))
        return int(found.scalar_one())


@pytest.mark.parametrize("kind", list(OrgKind))
def test_only_kinds_that_move_money_or_calls_receive_warnings(kind: OrgKind) -> None:
    actor = Actor(1, "X", kind, None, "client", "jti", "req")
    assert receives_warnings(actor) is (kind in {"bank", "ewallet", "telecom"})


@pytest.mark.parametrize("kind", ["police", "regulator"])
async def test_police_and_regulator_lookups_carry_no_warning(
    app: FastAPI, client: httpx.AsyncClient, kind: str
) -> None:
    await listed(app, client)
    caller = await make_caller(app, client, "LOOKER", kind)
    answers = []
    for subject in (ACCOUNT, WARN):
        response = await client.post("/v1/lookup", json=subject, headers=caller.headers)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    batch = await client.post(
        "/v1/lookup/batch", json={"items": [ACCOUNT, WARN, ACCOUNT]}, headers=caller.headers
    )
    assert batch.status_code == 200, batch.text
    answers.extend(item["result"] for item in batch.json()["items"])
    qr = await client.post("/v1/lookup/vietqr", json={"payload": VIETQR}, headers=caller.headers)
    assert qr.status_code == 200, qr.text
    answers.append(qr.json())

    # The answer still says what the registry knows; only the warning is not issued.
    assert [a["action"] for a in answers] == ["hold", "warn", "hold", "warn", "hold", "hold"]
    assert [a["warning_id"] for a in answers] == [None] * 6
    warnings, counts = await stored(app)
    assert warnings == []
    assert counts["LOOKER"] == (6, 0)  # counted as lookups, not as warned


async def test_a_subject_repeated_in_a_batch_gets_one_warning(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await listed(app, client)
    bank = await make_caller(app, client, "VCB", "bank")
    # Three spellings of the one account: normalised first, so one subject.
    spellings = [
        ACCOUNT,
        {"kind": "bank_account", "institution": "970436", "identifier": "0011002345678"},
        {"kind": "bank_account", "institution": "Vietcombank", "identifier": "00110023.45678"},
    ]
    items = [spellings[i % 3] for i in range(1000)]
    response = await client.post("/v1/lookup/batch", json={"items": items}, headers=bank.headers)
    assert response.status_code == 200, response.text
    results = [item["result"] for item in response.json()["items"]]
    assert {r["key"] for r in results} == {KEY}
    ids = {r["warning_id"] for r in results}
    assert len(ids) == 1 and None not in ids

    warnings, counts = await stored(app)
    assert [(w.id, w.subject_key, w.action) for w in warnings] == [(ids.pop(), KEY, "hold")]
    assert counts["VCB"] == (1000, 1)  # every item answered; one warning issued


async def test_two_subjects_repeated_in_a_batch_get_a_warning_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await listed(app, client)
    bank = await make_caller(app, client, "VCB", "bank")
    unlisted = {"kind": "phone", "identifier": "0912345678"}
    items = [ACCOUNT, WARN, unlisted, WARN, ACCOUNT, unlisted]
    response = await client.post("/v1/lookup/batch", json={"items": items}, headers=bank.headers)
    assert response.status_code == 200, response.text
    ids = [item["result"]["warning_id"] for item in response.json()["items"]]
    assert ids[0] == ids[4] and ids[1] == ids[3] and ids[0] != ids[1]
    assert ids[2] is None and ids[5] is None and None not in (ids[0], ids[1])
    warnings, counts = await stored(app)
    assert sorted(w.id for w in warnings) == sorted({ids[0], ids[1]})
    assert counts["VCB"] == (6, 2)


@pytest.mark.parametrize("kind", ["bank", "ewallet", "telecom"])
async def test_a_single_lookup_by_a_money_or_call_carrier_is_warned(
    app: FastAPI, client: httpx.AsyncClient, kind: str
) -> None:
    await listed(app, client)
    caller = await make_caller(app, client, "CARRIER", kind)
    response = await client.post("/v1/lookup", json=WARN, headers=caller.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["action"] == "warn" and answer["warning_id"]
    warnings, counts = await stored(app)
    assert [(w.id, w.organisation_id, w.action) for w in warnings] == [
        (answer["warning_id"], await org_id(app, "CARRIER"), "warn")
    ]
    assert counts["CARRIER"] == (1, 1)
