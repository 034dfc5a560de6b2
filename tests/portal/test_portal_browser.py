"""The portal in a real browser (Debian's Chromium) against a real ``registry serve``: a
citizen checks a listed and an unlisted account, uploads a photo of a VietQR code, reads a
scam method and reports a scam; an analyst finds the report in the console's queue and
turns it into a flag; police publish a bulletin that the portal then shows. Every public
page is checked with axe-core (no serious or critical violation) and photographed at
phone (390×844) and desktop widths into ``test-artefacts/portal/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.identifiers.vietqr import build_vietqr
from tests.blackbox.server import Server, serving
from tests.blackbox.test_registry_story import auth, caller
from tests.browser_support import ARTEFACTS_ROOT
from tests.browser_support import accessible as check_page
from tests.console.test_console_browser import Person
from tests.portal.support import qr_png

ARTEFACTS = ARTEFACTS_ROOT / "portal"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LISTED = "0011002345678"


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    with serving(database_url, key_file, tmp_path) as srv:
        yield srv


def accessible(page: Any, name: str) -> None:
    check_page(page, name, "portal")


def check_account(page: Any, url: str, account: str) -> None:
    page.goto(url + "/")
    page.select_option("#bank", "970436")
    page.fill("#account", account)
    page.click("form:has(#account) button[type=submit]")


def citizen(server: Server, browser: Any, tmp_path: Path) -> str:
    """A citizen on a phone; returns the reference of the report they file."""
    page = browser.new_context(locale="vi-VN", viewport=PHONE).new_page()
    page.goto(server.url + "/")
    accessible(page, "phone-home")
    check_account(page, server.url, LISTED)
    assert "Công an đã xác nhận" in page.locator("h1").inner_text()
    accessible(page, "phone-answer-confirmed")
    check_account(page, server.url, "0099887766")
    assert "Chưa có báo cáo" in page.locator("h1").inner_text()
    accessible(page, "phone-answer-none")
    image = tmp_path / "vietqr.png"
    image.write_bytes(qr_png(build_vietqr("970436", LISTED, 1_500_000)))
    page.goto(server.url + "/")
    page.set_input_files("#image", str(image))
    page.click("form[action='/kiem-tra/anh'] button[type=submit]")
    assert "Công an đã xác nhận" in page.locator("h1").inner_text()
    assert "1.500.000 ₫" in page.content()
    accessible(page, "phone-answer-qr")
    page.click("main a[href='/thu-doan/FAKE_SHOP']")
    assert page.locator("h1").inner_text().startswith("Lừa đảo mua bán")
    accessible(page, "phone-scam-method")
    page.click("header a[href='/thu-doan']")
    accessible(page, "phone-scam-methods")
    page.click("header a[href='/bao-cao']")
    accessible(page, "phone-report")
    page.check("input[name=kind][value=bank_account]")
    page.select_option("#bank", "970436")
    page.fill("#identifier", "0123 456 789")
    page.fill("#amount", "4.000.000")
    page.fill("#occurred_on", "2026-11-30")
    page.fill("#description", "Người bán trên mạng nhận cọc rồi chặn liên lạc.")
    page.click("main button[type=submit]")
    reference: str = page.locator(".reference").inner_text()
    assert reference.startswith("BC-")
    accessible(page, "phone-report-received")
    return reference


def test_a_citizen_checks_reads_and_reports_and_an_analyst_acts(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    police = caller(server, "C06", "police")
    http = httpx.Client(base_url=server.url, timeout=10)
    body = {
        "subject": {"kind": "bank_account", "institution": "VCB", "identifier": LISTED},
        "category": "FAKE_SHOP",
        "description": "shop that never ships",
    }
    assert http.post("/v1/flags", json=body, headers=auth(police)).status_code == 201
    reference = citizen(server, browser, tmp_path)

    analyst = Person(server, browser, "C06", "an.nguyen", "analyst")
    analyst.enrol_and_sign_in()
    page = analyst.page
    page.click("header a[href='/console/citizen-reports']")
    assert reference in page.content()
    accessible(page, "console-citizen-reports")
    page.click(f"text={reference}")
    accessible(page, "console-citizen-report")
    page.select_option("#category", "FAKE_SHOP")
    page.click("form[action$='/flag'] button[type=submit]")
    assert page.locator("#flag-status").get_attribute("data-status") == "confirmed"
    page.click("header a[href='/console/bulletins']")
    page.fill("#title", "Cảnh báo: shop online giả nhận cọc")
    page.select_option("#category", "FAKE_SHOP")
    page.fill("#body", "Không chuyển tiền cọc cho người bán chưa xác minh.")
    page.click("main button[type=submit]")
    accessible(page, "console-bulletins")
    answer = http.post(
        "/v1/public/check",
        json={
            "subject": {"kind": "bank_account", "institution": "970436", "identifier": "0123456789"}
        },
    ).json()
    assert answer["level"] == "confirmed"

    desktop = browser.new_context(locale="vi-VN", viewport=DESKTOP).new_page()
    desktop.goto(server.url + "/")
    assert "Cảnh báo: shop online giả nhận cọc" in desktop.content()
    accessible(desktop, "desktop-home")
    desktop.click("header a[href='/canh-bao']")
    accessible(desktop, "desktop-bulletins")
    desktop.click("header a[href='/thu-doan']")
    accessible(desktop, "desktop-scam-methods")
    desktop.click("header a[hreflang=en]")
    assert desktop.locator("html").get_attribute("lang") == "en"
    accessible(desktop, "desktop-scam-methods-english")
    desktop.click("header a[href='/']")
    assert desktop.locator("html").get_attribute("lang") == "en"
    accessible(desktop, "desktop-home-english")
    feed = http.get("/feeds/canh-bao.xml")
    assert "Cảnh báo: shop online giả nhận cọc" in feed.text
