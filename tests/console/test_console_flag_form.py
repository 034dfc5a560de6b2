"""Flagging from the console: a double submit (the same form sent twice) makes one flag and
lands both times on it; a changed form under the same key is refused, never a second flag."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.console.support import browser, csrf_of, signed_in_person
from tests.factories import make_caller, make_org

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def test_a_double_submit_of_the_flag_form_makes_one_flag(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    police = await make_caller(app, client, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        page = await http.get("/console/flags/new")
        found = KEY.search(page.text)
        assert found
        form = {
            "csrf": csrf_of(page.text),
            "idempotency_key": found.group(1),
            "kind": "bank_account",
            "institution": "970436",
            "identifier": "0011002345678",
            "category": "FAKE_SHOP",
            "amount": "8.000.000",
            "description": "a shop that never delivered",
        }
        first = await http.post("/console/flags/new", data=form)
        second = await http.post("/console/flags/new", data=form)
        assert first.status_code == second.status_code == 303, first.text
        assert first.headers["location"] == second.headers["location"]
        changed = await http.post("/console/flags/new", data={**form, "amount": "9.000.000"})
        assert changed.status_code == 422
    flags = await client.get("/v1/flags", headers=police.headers)
    assert [f["amount_lost_vnd"] for f in flags.json()["items"]] == [8_000_000]
