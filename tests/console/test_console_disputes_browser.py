"""Disputes in a real browser against a real ``registry serve``: a bank fraud officer signs
in with a TOTP code, reports an account, opens a dispute for it from the flag's page, and a
police supervisor finds it in the dispute queue and upholds it (the API lookup then answers
``allow``). The open, detail and queue pages are checked with axe-core (no serious or
critical violation) and photographed as ``test-artefacts/console/disputes-*.png``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.blackbox.server import Server
from tests.blackbox.test_registry_story import auth, caller
from tests.console.test_console_browser import Person, accessible, server

__all__ = ["server"]  # the fixture, shared with the console's browser story

ACCOUNT = {"kind": "bank_account", "institution": "VCB", "identifier": "0011002345678"}


def test_a_bank_officer_disputes_and_a_police_supervisor_upholds(
    server: Server, browser: Any
) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    server.cli("org", "create", "--code", "C06", "--name", "PC02", "--kind", "police")
    http = httpx.Client(base_url=server.url, timeout=10)

    officer = Person(server, browser, "VCB", "lan.tran", "fraud_officer")
    officer.enrol_and_sign_in()
    page = officer.page
    page.click("header a[href='/console/flags/new']")
    page.select_option("#kind", "bank_account")
    page.fill("#institution", ACCOUNT["institution"])
    page.fill("#identifier", ACCOUNT["identifier"])
    page.fill("#description", "transferred for a parcel that never came")
    page.click("main button[type=submit]")
    page.click("#open-dispute")
    assert page.locator("#identifier").input_value() == ACCOUNT["identifier"]
    accessible(page, "disputes-open")
    page.fill("#reason", "the customer shows the parcel was delivered and paid back")
    page.click("main button[type=submit]")
    assert page.locator("#dispute-status").get_attribute("data-status") == "open"
    dispute_id = page.url.rsplit("/", 1)[1]
    accessible(page, "disputes-detail")
    page.click("header a[href='/console/disputes']")
    assert dispute_id in page.content()
    accessible(page, "disputes-ours")
    looked = http.post("/v1/lookup", json=ACCOUNT, headers=auth(bank)).json()
    assert looked["under_dispute"] is True

    supervisor = Person(server, browser, "C06", "hoa.pham", "supervisor")
    supervisor.enrol_and_sign_in()
    page = supervisor.page
    page.click("header a[href='/console/disputes']")
    accessible(page, "disputes-queue")
    page.click(f"a[href='/console/disputes/{dispute_id}']")
    accessible(page, "disputes-decide")
    page.fill("#note", "delivery receipt on file")
    page.click("button[value=upheld]")
    assert page.locator("#dispute-status").get_attribute("data-status") == "upheld"
    accessible(page, "disputes-decided")
    looked = http.post("/v1/lookup", json=ACCOUNT, headers=auth(bank)).json()
    assert looked["action"] == "allow" and looked["under_dispute"] is False
    page.click("a[hreflang=en]")
    page.click("header a[href='/console/disputes']")
    accessible(page, "disputes-queue-english")
