"""``POST /v1/public/check`` and ``POST /v1/public/reports`` (SPEC §13)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import CitizenReport, LookupCount, PublicCheckCount, Warning
from tests.factories import make_caller
from tests.portal.support import CONFIRMED, CONFIRMED_QR, REPORTED, UNLISTED, at, listed_world

ANSWER_FIELDS = {"key", "level", "categories", "advice"}


async def check(http: httpx.AsyncClient, body: object, **headers: str) -> httpx.Response:
    return await http.post("/v1/public/check", json=body, headers=headers)


async def test_levels_follow_the_lookup_answer_and_say_nothing_more(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await listed_world(app, client)
    async with at(app) as http:
        confirmed = (await check(http, {"subject": CONFIRMED})).json()
        reported = (await check(http, {"subject": REPORTED})).json()
        unlisted = (await check(http, {"subject": UNLISTED})).json()
        by_qr = (await check(http, {"vietqr": CONFIRMED_QR})).json()
    assert confirmed["level"] == "confirmed" and confirmed["categories"] == ["FAKE_SHOP"]
    assert confirmed["key"] == "bank_account:970436:0011002345678"
    assert reported["level"] == "reported" and reported["categories"] == ["TASK_SCAM"]
    assert reported["key"] == "phone::+84912345678"
    assert unlisted == {**unlisted, "level": "none", "categories": []}
    assert by_qr == confirmed
    for answer in (confirmed, reported, unlisted):
        assert set(answer) == ANSWER_FIELDS
        assert answer["advice"] and all(isinstance(line, str) for line in answer["advice"])
        text = str(answer)
        for secret in ("C06", "ACB", "TCB", "HCM-2026", "NGUYEN", "7000000", "victim"):
            assert secret not in text, (secret, answer)
    # The same builder: the member lookup agrees on what the public level says.
    member = await client.post("/v1/lookup", json=REPORTED, headers=world["acb"].headers)
    assert member.json()["risk"] == "medium" and member.json()["categories"] == ["TASK_SCAM"]


async def test_advice_is_vietnamese_by_default_and_english_on_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await listed_world(app, client)
    async with at(app) as http:
        vi = (await check(http, {"subject": CONFIRMED})).json()["advice"]
        en = (await check(http, {"subject": CONFIRMED}, **{"Accept-Language": "en-GB"})).json()
    assert "Không chuyển bất kỳ khoản tiền nào vào tài khoản này." in vi
    assert "Do not transfer any money to this account." in en["advice"]
    assert any("113" in line for line in vi)


async def test_public_checks_issue_no_warning_and_are_counted_apart(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await listed_world(app, client)
    async with at(app) as http:
        for body in ({"subject": CONFIRMED}, {"subject": REPORTED}, {"subject": UNLISTED}):
            assert (await check(http, body)).status_code == 200
    runtime = app.state.runtime
    await runtime.counter.flush(runtime.db)
    await runtime.public_counter.flush(runtime.db)
    async with runtime.db.read_session() as session:
        warnings = (await session.execute(select(func.count()).select_from(Warning))).scalar()
        lookups = (await session.execute(select(func.count()).select_from(LookupCount))).scalar()
        counted = (await session.execute(select(PublicCheckCount))).scalars().all()
    assert warnings == 0 and lookups == 0
    assert [(c.checks, c.listed) for c in counted] == [(3, 2)]
    police = await make_caller(app, client, "C07", "police", scopes="reports:read")
    year = counted[0].day.year
    report = await client.get(f"/v1/reports/{year}", headers=police.headers)
    figures = report.json()["totals"]["lookups"]
    assert figures["public_checks"] == 3 and figures["public_checks_listed"] == 2
    assert figures["lookups"] == 0


async def test_bad_bodies_are_422_naming_the_field(app: FastAPI) -> None:
    async with at(app) as http:
        both = await check(http, {"subject": UNLISTED, "vietqr": CONFIRMED_QR})
        neither = await check(http, {})
        bad_bank = await check(http, {"subject": {**CONFIRMED, "institution": "NOPE"}})
        bad_crc = await check(http, {"vietqr": CONFIRMED_QR[:-4] + "0000"})
        nul = await check(http, {"vietqr": "0002\x0001"})
        extra = await check(http, {"subject": UNLISTED, "reporter": "x"})
    for response in (both, neither, bad_bank, bad_crc, nul, extra):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert bad_bank.json()["errors"][0]["loc"] == ["body", "subject", "institution"]
    assert bad_crc.json()["errors"][0]["loc"] == ["body", "vietqr"]
    assert "CRC" in bad_crc.json()["detail"] or "crc" in bad_crc.json()["detail"]


async def test_a_citizen_report_is_queued_and_lists_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = {
        "subject": UNLISTED,
        "amount_vnd": 3_000_000,
        "occurred_on": "2026-11-30",
        "description": "Người bán trên mạng nhận tiền rồi chặn liên lạc.",
        "contact": "an@example.vn",
    }
    async with at(app) as http:
        filed = await http.post("/v1/public/reports", json=body)
        answer = (await check(http, {"subject": UNLISTED})).json()
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "received"
    assert filed.json()["reference"].startswith("BC-") and len(filed.json()["reference"]) == 11
    assert answer["level"] == "none"
    async with app.state.runtime.db.read_session() as session:
        report = (await session.execute(select(CitizenReport))).scalar_one()
    assert report.status == "new" and report.subject_key == "ewallet:MOMO:+84987654321"
    assert report.amount_vnd == 3_000_000 and report.contact == "an@example.vn"
    auditor = await make_caller(app, client, "AUD", "auditor")
    verified = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert verified["ok"] and verified["state_ok"], verified


async def test_a_report_date_is_a_date_written_yyyy_mm_dd(app: FastAPI) -> None:
    async with at(app) as http:
        for bad in (0, 20261130, "30/11/2026", "2026-13-01", True):
            body = {"subject": UNLISTED, "description": "x", "occurred_on": bad}
            response = await http.post("/v1/public/reports", json=body)
            assert response.status_code == 422, (bad, response.text)
            assert response.json()["errors"][0]["loc"] == ["body", "occurred_on"]
