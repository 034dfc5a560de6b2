"""Disputes in the console over HTTP: a bank fraud officer opens one for its customer, a
police supervisor or the regulator decides it from the queue (overdue first), and the lookup
answer over /v1 changes as the service says. Attack cases first: another organisation's
dispute and a role without the scope answer 404, CSRF, double submits, hostile text."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from app.console import disputes as console_disputes
from tests.console.support import browser, csrf_of, signed_in_person
from tests.factories import Caller, make_caller

ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011 0023 45678"}
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
DISPUTE_LINK = re.compile(r'href="/console/disputes/([0-9a-f-]{36})"')


async def listed(client: httpx.AsyncClient, police: Caller, identifier: str) -> dict[str, str]:
    """A VCB account flagged (confirmed) by police; returns the flag."""
    subject = {**ACCOUNT, "identifier": identifier}
    body = {"subject": subject, "category": "FAKE_SHOP", "description": "shop"}
    response = await client.post("/v1/flags", json=body, headers=police.headers)
    assert response.status_code == 201, response.text
    flag: dict[str, str] = response.json()
    return flag


async def open_form(http: httpx.AsyncClient, **fields: str) -> dict[str, str]:
    page = await http.get("/console/disputes/new")
    assert page.status_code == 200, page.text
    found = KEY.search(page.text)
    assert found
    form = {**ACCOUNT, "reason": "the customer shows the transfer was a refund"}
    return {**form, "csrf": csrf_of(page.text), "idempotency_key": found.group(1), **fields}


async def setup(app: FastAPI, client: httpx.AsyncClient) -> tuple[Caller, Caller]:
    bank = await make_caller(app, client, "VCB", "bank", "VCB")
    police = await make_caller(app, client, "C06", "police")
    return bank, police


async def test_a_bank_officer_opens_and_a_police_supervisor_upholds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank, police = await setup(app, client)
    await listed(client, police, ACCOUNT["identifier"])
    subject = {k: ACCOUNT[k] for k in ("kind", "institution", "identifier")}
    assert (await client.post("/v1/lookup", json=subject, headers=bank.headers)).json()[
        "action"
    ] == "hold"
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        opened = await http.post("/console/disputes/new", data=await open_form(http))
        assert opened.status_code == 303, opened.text
        location = opened.headers["location"]
        dispute_id = location.rsplit("/", 1)[1]
        page = await http.get(location)
        assert page.status_code == 200
        assert 'id="dispute-status" data-status="open">Đang xử lý' in page.text
        assert "/decide" not in page.text  # an opener does not decide
        mine = await http.get("/console/disputes")
        assert dispute_id in mine.text and "Khiếu nại của chúng tôi" in mine.text
    answer = (await client.post("/v1/lookup", json=subject, headers=bank.headers)).json()
    assert answer["under_dispute"] is True
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "hoa.pham", "supervisor")
        queue = await http.get("/console/disputes")
        assert queue.status_code == 200 and dispute_id in queue.text
        assert "VCB" in queue.text and "refund" in queue.text
        page = await http.get(f"/console/disputes/{dispute_id}")
        version = re.search(r'name="version" value="(\d+)"', page.text)
        assert version
        form = {
            "csrf": csrf_of(page.text),
            "version": version.group(1),
            "outcome": "upheld",
            "note": "refund proven",
        }
        decided = await http.post(f"/console/disputes/{dispute_id}/decide", data=form)
        assert decided.status_code == 303, decided.text
        page = await http.get(f"/console/disputes/{dispute_id}")
        assert 'id="dispute-status" data-status="upheld">Được chấp nhận' in page.text
        assert "refund proven" in page.text
        # The same form again: the dispute changed since it was read.
        again = await http.post(f"/console/disputes/{dispute_id}/decide", data=form)
        assert again.status_code in (409, 412)
        assert "đã thay đổi kể từ khi bạn mở trang" in again.text
        assert dispute_id not in (await http.get("/console/disputes")).text  # decided
    answer = (await client.post("/v1/lookup", json=subject, headers=bank.headers)).json()
    assert answer["action"] == "allow" and answer["under_dispute"] is False
    read = await client.get(f"/v1/disputes/{dispute_id}", headers=bank.headers)
    assert read.json()["status"] == "upheld" and read.json()["resolved_by"] == "C06"
    history = await client.get(
        f"/v1/subjects/{answer['key']}/history",
        headers=(await make_caller(app, client, "AUD", "auditor")).headers,
    )
    actions = {e["action"]: e["actor_client"] for e in history.json()["items"]}
    assert actions["opened"] == "user:lan.tran" and actions["upheld"] == "user:hoa.pham"


async def test_from_a_flag_page_and_the_regulator_rejects(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank, _ = await setup(app, client)
    await make_caller(app, client, "SBV", "regulator")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        page = await http.get("/console/flags/new")
        report = {
            "csrf": csrf_of(page.text),
            **ACCOUNT,
            "category": "FAKE_SHOP",
            "description": "reported by mistake",
        }
        created = await http.post("/console/flags/new", data=report)
        flag_page = await http.get(created.headers["location"])
        link = re.search(r'id="open-dispute" href="([^"]+)"', flag_page.text)
        assert link, flag_page.text
        form_page = await http.get(link.group(1).replace("&amp;", "&"))
        assert 'value="0011002345678"' in form_page.text and 'name="flag_id"' in form_page.text
        assert 'value="bank_account" selected' in form_page.text
        form = {
            "csrf": csrf_of(form_page.text),
            "idempotency_key": KEY.findall(form_page.text)[0],
            "flag_id": link.group(1).split("flag=")[1],
            "kind": "bank_account",
            "institution": "970436",
            "identifier": "0011002345678",
            "reason": "our own report was a mistake",
        }
        opened = await http.post("/console/disputes/new", data=form)
        assert opened.status_code == 303, opened.text
        dispute_id = opened.headers["location"].rsplit("/", 1)[1]
    async with browser(app) as http:
        await signed_in_person(app, http, "SBV", "thu.vo", "supervisor")
        page = await http.get(f"/console/disputes/{dispute_id}")
        decision = {"csrf": csrf_of(page.text), "version": "1", "outcome": "rejected"}
        decided = await http.post(f"/console/disputes/{dispute_id}/decide", data=decision)
        assert decided.status_code == 303, decided.text
    subject = {k: ACCOUNT[k] for k in ("kind", "institution", "identifier")}
    answer = (await client.post("/v1/lookup", json=subject, headers=bank.headers)).json()
    assert answer["listed"] is True and answer["under_dispute"] is False


async def test_the_queue_is_overdue_first_then_by_deadline_and_pages(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, police = await setup(app, client)
    settings = app.state.runtime.settings
    ids = {}
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        for number, days in (("1111111111", 10), ("2222222222", -2), ("3333333333", 3)):
            await listed(client, police, number)
            settings.dispute_days = days
            opened = await http.post(
                "/console/disputes/new", data=await open_form(http, identifier=number)
            )
            assert opened.status_code == 303, opened.text
            ids[days] = opened.headers["location"].rsplit("/", 1)[1]
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "hoa.pham", "supervisor")
        queue = await http.get("/console/disputes")
        assert DISPUTE_LINK.findall(queue.text) == [ids[-2], ids[3], ids[10]]
        assert queue.text.count('class="overdue-mark"') == 1
        overdue_row = queue.text.split(ids[-2])[1].split("</tr>")[0]
        assert "Quá hạn" in overdue_row
        monkeypatch.setattr(console_disputes, "PAGE", 2)
        first = await http.get("/console/disputes", params={"lang": "en"})
        assert DISPUTE_LINK.findall(first.text) == [ids[-2], ids[3]] and "Overdue" in first.text
        next_link = re.search(r'<a href="\?([^"]+)">', first.text)
        assert next_link
        second = await http.get("/console/disputes?" + next_link.group(1).replace("&amp;", "&"))
        assert DISPUTE_LINK.findall(second.text) == [ids[10]]
        assert (await http.get("/console/disputes?cursor=bm9wZQ")).status_code == 422


async def test_another_organisation_and_roles_without_the_scope_get_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, police = await setup(app, client)
    await make_caller(app, client, "ACB", "bank", "ACB")
    await listed(client, police, ACCOUNT["identifier"])
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        opened = await http.post("/console/disputes/new", data=await open_form(http))
        dispute_id = opened.headers["location"].rsplit("/", 1)[1]
        decide = {"csrf": csrf_of((await http.get("/console/")).text), "version": "1"}
        refused = await http.post(
            f"/console/disputes/{dispute_id}/decide", data={**decide, "outcome": "upheld"}
        )
        assert refused.status_code == 404  # an opener has no disputes:resolve
    async with browser(app) as http:
        await signed_in_person(app, http, "ACB", "binh.do", "fraud_officer")
        assert (await http.get(f"/console/disputes/{dispute_id}")).status_code == 404
        assert dispute_id not in (await http.get("/console/disputes")).text
        # The subject is held at VCB: ACB may not dispute it, and the page says why.
        form = await open_form(http)
        refused = await http.post("/console/disputes/new", data=form)
        assert refused.status_code == 403
        assert "không thuộc đơn vị của bạn" in refused.text
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        assert (await http.get("/console/disputes")).status_code == 404
        assert (await http.get("/console/disputes/new")).status_code == 404
        csrf = csrf_of((await http.get("/console/")).text)
        decide = {"csrf": csrf, "version": "1", "outcome": "upheld"}
        post = await http.post(f"/console/disputes/{dispute_id}/decide", data=decide)
        assert post.status_code == 404
        # history:read reads a dispute, as over the API, without a decision form.
        page = await http.get(f"/console/disputes/{dispute_id}")
        assert page.status_code == 200 and "/decide" not in page.text
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "hoa.pham", "supervisor")
        assert (await http.get("/console/disputes/new")).status_code == 404
        missing = "00000000-0000-0000-0000-000000000000"
        assert (await http.get(f"/console/disputes/{missing}")).status_code == 404
    read = await client.get(f"/v1/disputes/{dispute_id}", headers=police.headers)
    assert read.json()["status"] == "open"


async def test_csrf_is_checked_and_a_double_submit_opens_one_dispute(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank, police = await setup(app, client)
    await listed(client, police, ACCOUNT["identifier"])
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        form = await open_form(http)
        no_token = {k: v for k, v in form.items() if k != "csrf"}
        assert (await http.post("/console/disputes/new", data=no_token)).status_code == 403
        wrong = {**form, "csrf": "x" * 43}
        assert (await http.post("/console/disputes/new", data=wrong)).status_code == 403
        first = await http.post("/console/disputes/new", data=form)
        second = await http.post("/console/disputes/new", data=form)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        # The same key with other values is refused; a new form names the open dispute.
        changed = await http.post("/console/disputes/new", data={**form, "reason": "other"})
        assert changed.status_code == 422 and "tải lại trang" in changed.text
        fresh = await http.post("/console/disputes/new", data=await open_form(http))
        assert fresh.status_code == 409 and first.headers["location"] in fresh.text
        dispute_id = first.headers["location"].rsplit("/", 1)[1]
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "hoa.pham", "supervisor")
        page = await http.get(f"/console/disputes/{dispute_id}")
        decision = {"version": "1", "outcome": "upheld"}
        url = f"/console/disputes/{dispute_id}/decide"
        assert (await http.post(url, data=decision)).status_code == 403
        assert (await http.post(url, data={**decision, "csrf": "y" * 43})).status_code == 403
        assert 'name="csrf"' in page.text
    listing = await client.get("/v1/disputes", headers=bank.headers)
    assert [d["status"] for d in listing.json()["items"]] == ["open"]


async def test_hostile_text_and_nul_give_clear_pages_never_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank, police = await setup(app, client)
    await listed(client, police, ACCOUNT["identifier"])
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        for field in ("reason", "identifier", "institution", "kind", "idempotency_key"):
            bad = await http.post(
                "/console/disputes/new", data=await open_form(http, **{field: "a\x00b"})
            )
            assert bad.status_code == 422, (field, bad.text)
        for fields in (
            {"identifier": "<b>x</b>"},
            {"kind": "<script>x</script>"},
            {"reason": ""},
            {"reason": "x" * 2001},
            {"flag_id": "not-a-flag"},
        ):
            bad = await http.post("/console/disputes/new", data=await open_form(http, **fields))
            assert bad.status_code == 422, (fields, bad.text)
            assert "<b>x</b>" not in bad.text and "<script>x" not in bad.text
        unlisted = await http.post(
            "/console/disputes/new", data=await open_form(http, identifier="999999999")
        )
        assert unlisted.status_code == 409 and "không có cảnh báo" in unlisted.text
        assert (await http.get("/console/disputes/new?flag=nope")).status_code == 422
        hostile = '<script>alert("x")</script> & "quoted"'
        form = await open_form(http, reason=hostile)
        opened = await http.post("/console/disputes/new", data=form)
        assert opened.status_code == 303, opened.text
        dispute_id = opened.headers["location"].rsplit("/", 1)[1]
        for url in (opened.headers["location"], "/console/disputes"):
            page = await http.get(url)
            assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "hoa.pham", "supervisor")
        page = await http.get(f"/console/disputes/{dispute_id}")
        assert "<script>alert" not in page.text
        form = {"csrf": csrf_of(page.text), "version": "1", "outcome": "rejected"}
        url = f"/console/disputes/{dispute_id}/decide"
        assert (await http.post(url, data={**form, "note": "a\x00b"})).status_code == 422
        assert (await http.post(url, data={**form, "outcome": "maybe"})).status_code == 422
        assert (await http.post(url, data={**form, "version": "x"})).status_code == 422
        decided = await http.post(url, data={**form, "note": "<img src=x onerror=1>"})
        assert decided.status_code == 303
        page = await http.get(f"/console/disputes/{dispute_id}")
        assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
    read = await client.get(f"/v1/disputes/{dispute_id}", headers=bank.headers)
    assert read.json()["status"] == "rejected"
