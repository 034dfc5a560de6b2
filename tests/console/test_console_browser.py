"""The console in a real browser (Debian's Chromium) against a real ``registry serve``:
an analyst enrols, signs in with a TOTP code and confirms a reported flag (the API lookup
then answers ``hold``); a bank officer reports an account; an auditor verifies the chain
and downloads a checkpoint. Every main page is checked with axe-core (no serious or
critical violation) and photographed into ``test-artefacts/console/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.blackbox.server import Server, serving
from tests.blackbox.test_registry_story import auth, caller
from tests.browser_support import ARTEFACTS_ROOT, accessible

ARTEFACTS = ARTEFACTS_ROOT / "console"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    with serving(database_url, key_file, tmp_path) as srv:
        yield srv


def fresh_code(secret: str, after: int) -> tuple[str, int]:
    """A TOTP code for a time step later than ``after`` (each step is accepted once)."""
    while (step := int(time.time() // 30)) <= after:
        time.sleep(0.5)
    return pyotp.TOTP(secret).at(step * 30), step


class Person:
    def __init__(self, server: Server, browser: Any, org: str, username: str, role: str):
        created = server.cli("user", "create", "--org", org, "--username", username, "--role", role)
        self.username = username
        self.link = created["enrolment_url"].replace("http://127.0.0.1:8000", server.url)
        self.page = browser.new_context(locale="vi-VN").new_page()
        self.step = -1

    def enrol_and_sign_in(self, shot: str | None = None) -> None:
        page = self.page
        page.goto(self.link)
        if shot:
            accessible(page, shot)
        secret = page.locator("#totp-secret").inner_text()
        self.secret = secret
        page.fill("#password", PASSWORD)
        code, self.step = fresh_code(secret, self.step)
        page.fill("#code", code)
        page.click("button[type=submit]")
        page.click("a[href='/console/login']")
        if shot:
            accessible(page, "login")
        page.fill("#username", self.username)
        page.fill("#password", PASSWORD)
        code, self.step = fresh_code(secret, self.step)
        page.fill("#code", code)
        page.click("main button[type=submit]")
        assert page.url.endswith("/console/"), page.content()


def test_analyst_bank_officer_and_auditor_at_work(server: Server, browser: Any) -> None:
    bank = caller(server, "VCB", "bank", "VCB")
    server.cli("org", "create", "--code", "C06", "--name", "PC02", "--kind", "police")
    server.cli("org", "create", "--code", "AUD", "--name", "Audit", "--kind", "auditor")
    http = httpx.Client(base_url=server.url, timeout=10)
    subject = {"kind": "phone", "identifier": "0912 345 678"}
    body = {"subject": subject, "category": "FAKE_SHOP", "description": "shop that never ships"}
    flag = http.post("/v1/flags", json=body, headers=auth(bank)).json()

    analyst = Person(server, browser, "C06", "an.nguyen", "analyst")
    analyst.enrol_and_sign_in(shot="enrol")
    page = analyst.page
    accessible(page, "home")
    page.click("header a[href='/console/queue']")
    accessible(page, "review-queue")
    page.click(f"a[href='/console/flags/{flag['id']}']")
    accessible(page, "flag")
    page.fill("#reason", "victim statement on file")
    page.click("button[value=confirm]")
    assert page.locator("#flag-status").get_attribute("data-status") == "confirmed"
    page.goto(f"{server.url}/console/search?q=0912345678")
    accessible(page, "search")
    answer = http.post("/v1/lookup", json=subject, headers=auth(bank)).json()
    assert answer["action"] == "hold"

    officer = Person(server, browser, "VCB", "lan.tran", "fraud_officer")
    officer.enrol_and_sign_in()
    page = officer.page
    page.click("header a[href='/console/flags/new']")
    accessible(page, "flag-new")
    page.select_option("#kind", "bank_account")
    page.fill("#institution", "VCB")
    page.fill("#identifier", "0011002345678")
    page.fill("#amount", "8.000.000")
    page.fill("#description", "transferred for a parcel that never came")
    page.click("main button[type=submit]")
    assert "8.000.000 ₫" in page.content()
    page.click("header a[href='/console/flags']")
    accessible(page, "our-flags")
    assert page.goto(f"{server.url}/console/queue").status == 404  # police only

    auditor = Person(server, browser, "AUD", "minh.le", "auditor")
    auditor.enrol_and_sign_in()
    page = auditor.page
    page.click("header a[href='/console/audit']")
    page.click("form[action='/console/audit/verify'] button")
    assert "ok" in (page.locator("#verify-result").get_attribute("class") or "")
    accessible(page, "audit")
    with page.expect_download() as download:
        page.click("form[action='/console/audit/checkpoint'] button")
    saved = ARTEFACTS / "checkpoint.json"
    download.value.save_as(saved)
    assert '"head_seq"' in saved.read_text()
    page.click("a[hreflang=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    accessible(page, "audit-english")
