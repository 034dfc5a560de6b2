"""The recovery ledger and the reports in a real browser (Debian's Chromium) against a real
``registry serve``: a bank fraud officer records a freeze on the ledger page; a regulator
supervisor opens the half-year report (its charts drawn under the console's CSP, which
allows no inline style or script) and downloads its CSV. Both pages pass axe-core (no
serious or critical violation) and are photographed into ``test-artefacts/console/``."""

from __future__ import annotations

import csv
import io
from typing import Any

from playwright.sync_api import expect

from tests.blackbox.server import Server
from tests.blackbox.test_registry_story import caller
from tests.console.test_console_browser import (  # noqa: F401  (the server fixture)
    ARTEFACTS,
    Person,
    accessible,
    server,
)


def csp_complaints(page: Any) -> list[str]:
    """Every message Chromium logs about the Content-Security-Policy, from now on."""
    complaints: list[str] = []
    page.on(
        "console",
        lambda message: (
            complaints.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return complaints


def test_officer_freezes_and_regulator_downloads_the_report(
    server: Server,  # noqa: F811  (the fixture imported above)
    browser: Any,
) -> None:
    caller(server, "VCB", "bank", "VCB")
    server.cli("org", "create", "--code", "SBV", "--name", "NHNN", "--kind", "regulator")

    officer = Person(server, browser, "VCB", "lan.tran", "fraud_officer")
    officer.enrol_and_sign_in()
    page = officer.page
    blocked = csp_complaints(page)
    page.click("header a[href='/console/recovery']")
    page.select_option("#action", "freeze")
    page.select_option("#kind", "bank_account")
    page.fill("#identifier", "0011002345678")
    page.fill("#amount", "8.000.000")
    page.fill("#case_reference", "HS-2026-117")
    page.fill("#note", "phong tỏa theo yêu cầu của cơ quan công an")
    page.click("main form[action='/console/recovery'] button[type=submit]")
    assert page.url.endswith("/console/recovery?recorded=1"), page.url
    expect(page.locator("p.notice")).to_have_count(1)  # waits for the page to load
    entries = page.locator("#entries").inner_text()
    assert "8.000.000 ₫" in entries and "HS-2026-117" in entries
    held = page.locator("#case-totals").inner_text()
    assert "bank_account:970436:0011002345678" in held
    accessible(page, "recovery")
    # Too much out of the case: the service's rule, shown on the page.
    page.select_option("#action", "release")
    page.fill("#identifier", "0011002345678")
    page.fill("#amount", "9.000.000")
    page.fill("#case_reference", "HS-2026-117")
    page.click("main form[action='/console/recovery'] button[type=submit]")
    assert "holds 8000000 VND" in page.locator("p.error").inner_text()
    accessible(page, "recovery-refused")
    assert blocked == []

    regulator = Person(server, browser, "SBV", "hoa.pham", "supervisor")
    regulator.enrol_and_sign_in()
    page = regulator.page
    blocked = csp_complaints(page)
    page.click("header a[href='/console/reports']")
    page.click("main form button[type=submit]")  # the current half-year, preselected
    expect(page.locator("figure.chart svg")).to_have_count(8)
    frozen = page.locator(".card", has_text="Tiền bị phong tỏa").locator(".value").inner_text()
    assert frozen == "8.000.000"
    # The report's stylesheet applied, from the served file: cards laid out as a row.
    assert page.locator(".report .cards").evaluate("e => getComputedStyle(e).display") == "flex"
    accessible(page, "reports")
    assert blocked == []
    with page.expect_download() as download:
        page.click("#download-csv")
    saved = ARTEFACTS / "report.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    totals = {(r[0], r[1], r[2]): r[5] for r in rows[1:]}
    assert totals[("recovery", "frozen_vnd", "")] == "8000000"
    assert download.value.suggested_filename.startswith("report-")

    # The same bytes as the command line's export (and so the API's).
    period = download.value.suggested_filename.removeprefix("report-").removesuffix(".csv")
    exported = ARTEFACTS / "report-cli.csv"
    server.cli("report", period, "--format", "csv", "-o", str(exported))
    assert exported.read_bytes() == saved.read_bytes()
