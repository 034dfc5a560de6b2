"""Holds in the console: the victim's bank requests, the holder holds 8 of 10 M, police
confirm, the holder returns 8 M and the hold closes, all as users through the hold service;
another bank, a requester acting as holder, a stale page, a bad CSRF token or a bad amount
are refused as the API refuses them."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.console.support import browser, csrf_of, signed_in_person
from tests.holds.support import build_world

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
HOLD_LINK = re.compile(r"/console/holds/([0-9a-f-]{36})")


async def _request(http: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await http.get("/console/holds/new")
    assert page.status_code == 200, page.text
    found = KEY.search(page.text)
    assert found
    form = {
        "csrf": csrf_of(page.text),
        "idempotency_key": found.group(1),
        "kind": "bank_account",
        "institution": "VCB",
        "identifier": "0011002345678",
        "amount": "10.000.000",
        "reason": "victim transferred to a fake police officer",
        **fields,
    }
    return await http.post("/console/holds/new", data=form)


async def _change(
    http: httpx.AsyncClient, hold_id: str, action: str, **fields: str
) -> httpx.Response:
    """Send the change form; the version is read from the hold's page where the user may
    see it, else the hold's first version (someone who may not see it still tries)."""
    page = await http.get(f"/console/holds/{hold_id}")
    versions = VERSION.findall(page.text) if page.status_code == 200 else ["1"]
    csrf = csrf_of((await http.get("/console/holds")).text)
    data = {"csrf": csrf, "change": action, "version": versions[0], **fields}
    return await http.post(f"/console/holds/{hold_id}/change", data=data)


async def test_request_hold_confirm_return_close(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    async with browser(app) as acb, browser(app) as vcb, browser(app) as c06, browser(app) as tcb:
        await signed_in_person(app, acb, "ACB", "minh.acb", "fraud_officer")
        await signed_in_person(app, vcb, "VCB", "lan.vcb", "fraud_officer")
        await signed_in_person(app, c06, "C06", "an.c06", "analyst")
        await signed_in_person(app, tcb, "TCB", "tu.tcb", "fraud_officer")
        sent = await _request(acb)
        assert sent.status_code == 303, sent.text
        hold_id = HOLD_LINK.search(sent.headers["location"]).group(1)  # type: ignore[union-attr]
        # The holder sees it received, with its deadlines; another bank does not at all.
        received = await vcb.get("/console/holds?role=holder")
        assert hold_id in received.text and "overdue-mark" not in received.text
        assert (await tcb.get(f"/console/holds/{hold_id}")).status_code == 404
        assert hold_id not in (await tcb.get("/console/holds")).text
        # The requester has no answer form, and posting one anyway is the API's 404.
        mine = await acb.get(f"/console/holds/{hold_id}")
        assert 'value="held"' not in mine.text and 'value="cancel"' in mine.text
        assert (await _change(acb, hold_id, "held", amount="8.000.000")).status_code == 404
        # Nor may another bank answer, even knowing the id.
        assert (await _change(tcb, hold_id, "held", amount="8.000.000")).status_code == 404
        over = await _change(vcb, hold_id, "held", amount="11.000.000")
        assert over.status_code == 422
        assert (await _change(vcb, hold_id, "held", amount="8.000.000")).status_code == 303
        waiting = await c06.get("/console/holds?status=held")
        assert hold_id in waiting.text
        assert (await _change(c06, hold_id, "confirm", case_reference="HCM-1")).status_code == 303
        too_much = await _change(vcb, hold_id, "return", amount="9.000.000")
        assert too_much.status_code == 422
        assert (await _change(vcb, hold_id, "return", amount="8.000.000")).status_code == 303
        closed = await acb.get(f"/console/holds/{hold_id}")
        assert '<dd id="hold-status" data-status="closed">Đã đóng' in closed.text
    read = await client.get(f"/v1/holds/{hold_id}", headers=world.police.headers)
    assert (read.json()["status"], read.json()["returned_vnd"]) == ("closed", 8_000_000)
    key = "bank_account%3A970436%3A0011002345678"
    ledger = await client.get(f"/v1/subjects/{key}/recoveries", headers=world.police.headers)
    assert ledger.json()["totals"]["held_vnd"] == 0
    history = await client.get(f"/v1/subjects/{key}/history", headers=world.police.headers)
    clients = {e["actor_client"] for e in history.json()["items"] if e["entity_type"] == "hold"}
    assert clients == {"user:minh.acb", "user:lan.vcb", "user:an.c06"}


async def test_stale_pages_csrf_double_submits_and_bad_amounts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await build_world(app, client)
    async with browser(app) as acb, browser(app) as vcb:
        await signed_in_person(app, acb, "ACB", "minh.acb", "fraud_officer")
        await signed_in_person(app, vcb, "VCB", "lan.vcb", "fraud_officer")
        page = await acb.get("/console/holds/new")
        form = {
            "csrf": csrf_of(page.text),
            "idempotency_key": KEY.search(page.text).group(1),  # type: ignore[union-attr]
            "kind": "bank_account",
            "institution": "VCB",
            "identifier": "0011002345678",
            "amount": "10.000.000",
            "reason": "victim",
        }
        first = await acb.post("/console/holds/new", data=form)
        again = await acb.post("/console/holds/new", data=form)
        assert first.headers["location"] == again.headers["location"]
        assert (await acb.post("/console/holds/new", data={**form, "csrf": "x"})).status_code == 403
        for amount in ("-5", "0", "8,5", "1" * 25, "8\x00000"):
            bad = await _request(acb, amount=amount)
            assert bad.status_code == 422, (amount, bad.status_code)
        hostile = await _request(acb, reason="<script>alert(1)</script>")
        assert hostile.status_code == 303
        hold_id = HOLD_LINK.search(first.headers["location"]).group(1)  # type: ignore[union-attr]
        detail = await vcb.get(f"/console/holds/{hold_id}")
        stale = {"csrf": csrf_of(detail.text), "change": "held", "version": "1", "amount": "1"}
        assert (await _change(acb, hold_id, "cancel")).status_code == 303
        refused = await vcb.post(f"/console/holds/{hold_id}/change", data=stale)
        assert refused.status_code in (409, 412)
        assert "cancelled" in refused.text
        shown = await vcb.get(f"/console/holds/{HOLD_LINK.findall(hostile.headers['location'])[0]}")
        assert "<script>alert" not in shown.text and "&lt;script&gt;" in shown.text
    holds = await client.get("/v1/holds?role=requester", headers=world.requester.headers)
    assert len(holds.json()["items"]) == 2
