"""A citizen's report reaches the police review queue in the console; an analyst turns it
into a flag (the lookup then holds) or closes it; police publish bulletins. Every step is
a chained change, and the state check agrees with the chain."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.console.support import browser, csrf_of, signed_in_person
from tests.factories import make_caller, make_org
from tests.portal.support import UNLISTED, at

REFERENCE = re.compile(r'<strong class="reference">(BC-[0-9A-Z]{8})</strong>')
HOSTILE = "<script>alert('x')</script> chuyển 5.000.000đ"


async def _file(app: FastAPI, identifier: str, description: str = HOSTILE) -> str:
    async with at(app) as http:
        form = await http.get("/bao-cao")
        assert form.status_code == 200
        done = await http.post(
            "/bao-cao",
            data={
                "kind": "ewallet",
                "wallet": "MOMO",
                "identifier": identifier,
                "amount": "5.000.000",
                "occurred_on": "2026-11-30",
                "description": description,
                "contact": "0912 000 111",
            },
        )
    assert done.status_code == 200, done.text
    found = REFERENCE.search(done.text)
    assert found, done.text
    return found.group(1)


async def test_an_analyst_turns_a_citizen_report_into_a_flag(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "C06", "police")
    reference = await _file(app, UNLISTED["identifier"])
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        queue = await http.get("/console/citizen-reports")
        assert queue.status_code == 200 and reference in queue.text
        report_id = re.search(r'href="/console/citizen-reports/([0-9a-f-]{36})"', queue.text)
        assert report_id
        page = await http.get(f"/console/citizen-reports/{report_id.group(1)}")
        assert "&lt;script&gt;" in page.text and "<script>" not in page.text
        assert "5.000.000 ₫" in page.text and "0912 000 111" in page.text
        form = {
            "csrf": csrf_of(page.text),
            "version": "1",
            "category": "FAKE_SHOP",
            "description": f"citizen report {reference}",
        }
        no_csrf = await http.post(
            f"/console/citizen-reports/{report_id.group(1)}/flag", data={**form, "csrf": "x"}
        )
        assert no_csrf.status_code == 403
        flagged = await http.post(f"/console/citizen-reports/{report_id.group(1)}/flag", data=form)
        assert flagged.status_code == 303, flagged.text
        assert flagged.headers["location"].startswith("/console/flags/")
        again = await http.post(f"/console/citizen-reports/{report_id.group(1)}/flag", data=form)
        assert again.status_code in (409, 412)
        emptied = await http.get("/console/citizen-reports")
        assert reference not in emptied.text
    bank = await make_caller(app, client, "VCB", "bank")
    answer = await client.post("/v1/lookup", json=UNLISTED, headers=bank.headers)
    assert answer.json()["action"] == "hold" and answer.json()["categories"] == ["FAKE_SHOP"]
    auditor = await make_caller(app, client, "AUD", "auditor")
    events = (await client.get("/v1/audit/events", headers=auditor.headers)).json()["items"]
    report_events = [e for e in events if e["entity_type"] == "citizen_report"]
    assert [e["action"] for e in report_events] == ["created", "flagged"]
    assert report_events[0]["actor_client"] == "public"
    assert report_events[1]["actor_client"] == "user:an.nguyen"
    verified = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert verified["ok"] and verified["state_ok"], verified


async def test_an_analyst_closes_a_report_with_a_reason_and_nothing_is_listed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "C06", "police")
    await make_org(app, "VCB", "bank", "VCB")
    reference = await _file(app, "0933 111 222", "a misunderstanding with a seller")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        assert (await http.get("/console/citizen-reports")).status_code == 404
        assert (await http.get("/console/bulletins")).status_code == 404
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        queue = await http.get("/console/citizen-reports")
        report_id = re.search(r'href="/console/citizen-reports/([0-9a-f-]{36})"', queue.text)
        assert report_id and reference in queue.text
        page = await http.get(f"/console/citizen-reports/{report_id.group(1)}")
        form = {"csrf": csrf_of(page.text), "version": "1", "reason": "no fraud: refund made"}
        closed = await http.post(f"/console/citizen-reports/{report_id.group(1)}/close", data=form)
        assert closed.status_code == 303
        shown = await http.get(f"/console/citizen-reports/{report_id.group(1)}")
        assert "closed" in shown.text and "no fraud: refund made" in shown.text
    async with at(app) as http:
        answer = await http.post(
            "/v1/public/check",
            json={"subject": {**UNLISTED, "identifier": "0933 111 222"}},
        )
    assert answer.json()["level"] == "none"


async def test_police_publish_a_bulletin_from_the_console(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        page = await http.get("/console/bulletins")
        assert page.status_code == 200
        form = {
            "csrf": csrf_of(page.text),
            "title": "Thủ đoạn mới: giả danh cán bộ thuế",
            "category": "IMPERSONATE_TAX_CUSTOMS",
            "body": "Không cài ứng dụng theo hướng dẫn qua điện thoại.",
        }
        published = await http.post("/console/bulletins", data=form)
        assert published.status_code == 303, published.text
        bad = await http.post("/console/bulletins", data={**form, "category": "NOPE"})
        assert bad.status_code == 422
    async with at(app) as http:
        portal = await http.get("/canh-bao")
        feed = await http.get("/feeds/canh-bao.xml")
    assert "Thủ đoạn mới: giả danh cán bộ thuế" in portal.text
    assert "Thủ đoạn mới: giả danh cán bộ thuế" in feed.text
    auditor = await make_caller(app, client, "AUD", "auditor")
    verified = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert verified["ok"] and verified["state_ok"], verified


async def test_a_report_edited_behind_the_chain_is_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from tests.audit.test_chain import tamper

    reference = await _file(app, "0944 555 666", "the original words")
    auditor = await make_caller(app, client, "AUD", "auditor")
    assert (await client.get("/v1/audit/verify", headers=auditor.headers)).json()["state_ok"]
    await tamper(
        app,
        f"UPDATE citizen_report SET description = 'other words' WHERE reference = '{reference}'",
    )
    result = (await client.get("/v1/audit/verify", headers=auditor.headers)).json()
    assert result["state_ok"] is False
    assert result["first_state_mismatch"]["entity_type"] == "citizen_report", result
