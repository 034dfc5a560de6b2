"""The console's work over HTTP: a police analyst reviews, a bank officer reports, an
auditor verifies; each change is a chained event naming the user."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.console.support import browser, csrf_of, signed_in_person
from tests.factories import make_caller, make_org


async def test_an_analyst_confirms_a_reported_flag_and_the_lookup_holds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bank = await make_caller(app, client, "VCB", "bank")
    await make_org(app, "C06", "police")
    subject = {"kind": "phone", "identifier": "0912 345 678"}
    body = {"subject": subject, "category": "FAKE_SHOP", "description": "shop"}
    flag = (await client.post("/v1/flags", json=body, headers=bank.headers)).json()
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "analyst")
        queue = await http.get("/console/queue")
        assert queue.status_code == 200
        assert flag["id"] in queue.text
        page = await http.get(f"/console/flags/{flag['id']}")
        assert "reported" in page.text
        form = {
            "csrf": csrf_of(page.text),
            "version": str(flag["version"]),
            "decision": "confirm",
            "reason": "victim statement",
        }
        decided = await http.post(f"/console/flags/{flag['id']}/decide", data=form)
        assert decided.status_code == 303, decided.text
        # The same form again is stale (the flag moved on): refused, nothing changes.
        again = await http.post(f"/console/flags/{flag['id']}/decide", data=form)
        assert again.status_code in (409, 412), again.text
    answer = await client.post("/v1/lookup", json=subject, headers=bank.headers)
    assert answer.json()["action"] == "hold"
    events = await client.get(
        f"/v1/subjects/{flag['subject']['key']}/history",
        headers=(await make_caller(app, client, "AUD", "auditor")).headers,
    )
    confirmed = [e for e in events.json()["items"] if e["action"] == "confirmed"]
    assert confirmed[0]["actor_org"] == "C06"
    assert confirmed[0]["actor_client"] == "user:an.nguyen"


async def test_a_bank_officer_reports_and_sees_it_in_their_flags(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_org(app, "VCB", "bank", "VCB")
    async with browser(app) as http:
        await signed_in_person(app, http, "VCB", "lan.tran", "fraud_officer")
        form_page = await http.get("/console/flags/new")
        form = {
            "csrf": csrf_of(form_page.text),
            "kind": "bank_account",
            "institution": "VCB",
            "identifier": "0011 0023 45678",
            "category": "FAKE_SHOP",
            "amount": "8.000.000",
            "description": "<script>alert(1)</script>",
        }
        created = await http.post("/console/flags/new", data=form)
        assert created.status_code == 303, created.text
        page = await http.get(created.headers["location"])
        assert "8.000.000 ₫" in page.text
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text
        mine = await http.get("/console/flags")
        assert "bank_account:970436:001100234567" in mine.text or "970436" in mine.text
        # A police-only page answers like a page that does not exist.
        assert (await http.get("/console/queue")).status_code == 404
        assert (await http.get("/console/audit")).status_code == 404


async def test_an_auditor_filters_events_verifies_and_downloads_a_checkpoint(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from app.audit.checkpoint import check_checkpoint, parse_checkpoint
    from app.audit.checkpoint_keys import configured_public_keys

    app.state.runtime.settings.checkpoint_key_file = tmp_path / "checkpoint.pem"
    police = await make_caller(app, client, "C06", "police")
    body = {"subject": {"kind": "phone", "identifier": "0912345678"}, "category": "FAKE_SHOP"}
    assert (await client.post("/v1/flags", json=body, headers=police.headers)).status_code == 201
    await make_org(app, "AUD", "auditor")
    async with browser(app) as http:
        await signed_in_person(app, http, "AUD", "minh.le", "auditor")
        page = await http.get("/console/audit", params={"actor": "C06", "entity": "flag"})
        assert page.status_code == 200
        assert "reported" in page.text or "confirmed" in page.text
        assert ">organisation<" not in page.text.split("<tbody>")[1]  # filtered to flags
        exported = await http.get("/console/audit/events.csv", params={"actor": "C06"})
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.text.splitlines()[0].startswith("seq,occurred_at")
        assert all(",C06," in line for line in exported.text.splitlines()[1:])
        verified = await http.post("/console/audit/verify", data={"csrf": csrf_of(page.text)})
        assert verified.status_code == 200 and 'id="verify-result" class="ok"' in verified.text
        signed = await http.post("/console/audit/checkpoint", data={"csrf": csrf_of(page.text)})
        assert signed.status_code == 200, signed.text
        assert "attachment" in signed.headers["content-disposition"]
    checkpoint = parse_checkpoint(signed.text)
    key_file = app.state.runtime.settings.checkpoint_key_file
    async with app.state.runtime.db.read_session() as session:
        result = await check_checkpoint(session, checkpoint, configured_public_keys(key_file))
    assert result.ok, result
