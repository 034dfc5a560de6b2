"""Holds in a real browser (Debian's Chromium) against a real ``registry serve`` (SPEC §10,
§12): the victim's bank (ACB) requests a hold on an account at VCB with the console's form;
VCB's fraud officer finds it among the holds received, with its answer-by and confirm-by
deadlines, and holds 8 of the 10 million asked; a police analyst finds it awaiting
confirmation and confirms it for a case; VCB returns the 8 million, the hold reads
``closed`` and VCB's recovery ledger shows the freeze and the return. Every hold page (the
form, the lists, the hold in each state) passes axe-core (no serious or critical violation)
and is photographed as ``test-artefacts/console/hold*.png``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from playwright.sync_api import expect

from app.console.i18n import vietnam_time
from app.holds.deadlines import add_working_days
from tests.blackbox.server import Server
from tests.console.test_console_browser import Person, accessible, server

__all__ = ["server"]  # the fixture, shared with the console's browser story

KEY = "bank_account:970436:0011002345678"  # VCB's BIN; the number without its spaces
CASE = "HCM-2026-0412"


def moment(page: Any, selector: str) -> datetime:
    """The instant of a ``<time>`` element, checked to be shown as Vietnam time."""
    element = page.locator(selector)
    stamp = datetime.fromisoformat(element.get_attribute("datetime") or "")
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    expect(element).to_have_text(vietnam_time(stamp, "vi"))
    return stamp


def apart(links: Any) -> None:
    """Links side by side on a row keep a gap between them (glued together, "Chúng tôi
    nhận" and "Đề nghị phong tỏa" read as one link)."""
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    for left, right in pairwise(boxes):
        if abs(left["y"] - right["y"]) < 1:
            assert left["x"] + left["width"] + 4 <= right["x"], boxes


def change(page: Any, action: str, **fields: str) -> None:
    """Fill and send one of the hold page's change forms (held, confirm, return...)."""
    form = page.locator(f"main form:has(input[name=change][value={action}])")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()


def test_bank_requests_holder_holds_police_confirm_holder_returns(
    server: Server, browser: Any
) -> None:
    for bank in ("ACB", "VCB"):
        server.cli(
            "org", "create", "--code", bank, "--name", f"{bank} org", "--kind", "bank",
            "--institution", bank,
        )  # fmt: skip
    server.cli("org", "create", "--code", "C06", "--name", "PC02", "--kind", "police")

    # The victim's bank asks VCB to hold the money.
    requester = Person(server, browser, "ACB", "minh.acb", "fraud_officer")
    requester.enrol_and_sign_in()
    page = requester.page
    page.click("header a[href='/console/holds']")
    page.click("main a[href='/console/holds/new']")
    expect(page.locator("main form[action='/console/holds/new']")).to_be_visible()
    accessible(page, "hold-new")
    page.select_option("#kind", "bank_account")
    page.fill("#institution", "VCB")
    page.fill("#identifier", "0011 0023-45678")
    page.fill("#amount", "10.000.000")
    page.fill("#reason", "nạn nhân chuyển tiền cho kẻ giả danh công an")
    page.fill("#case_reference", CASE)  # the victim reported it to the police first
    page.fill("#transfer_reference", "FT26338000123")
    before = datetime.now(UTC).replace(microsecond=0)
    page.click("main form[action='/console/holds/new'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/holds/[0-9a-f-]{36}$"))
    after = datetime.now(UTC)
    hold_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "requested")
    expect(page.locator("h1")).to_contain_text(KEY)
    # The requester may cancel its request but not answer it.
    expect(page.locator("input[name=change][value=cancel]")).to_have_count(1)
    expect(page.locator("input[name=change][value=held]")).to_have_count(0)
    accessible(page, "hold-requested")

    # VCB, the holder, finds it received, with its deadlines, and holds part of it.
    holder = Person(server, browser, "VCB", "lan.vcb", "fraud_officer")
    holder.enrol_and_sign_in()
    page = holder.page
    page.click("header a[href='/console/holds']")
    tabs = page.locator("main .tabs a")
    expect(tabs).to_have_count(4)  # all, sent, received, request
    apart(tabs)
    page.click("main a[href='/console/holds?role=holder']")
    row = page.locator("#holds tbody tr", has=page.locator(f"a[href='/console/holds/{hold_id}']"))
    expect(row).to_have_count(1)
    # The status by its Vietnamese name; the API's word stays in data-status.
    expect(row.locator("td[data-status]")).to_have_attribute("data-status", "requested")
    expect(row.locator("td[data-status]")).to_have_text("Đã đề nghị")
    expect(row).to_contain_text("10.000.000 ₫")
    expect(row.locator(".overdue-mark")).to_have_count(0)
    respond_by = moment(row, "td:nth-child(7) time")
    confirm_by = moment(row, "td:nth-child(8) time")
    requested_at = respond_by - timedelta(hours=24)  # REGISTRY_HOLD_RESPOND_HOURS's default
    assert before <= requested_at <= after, (before, respond_by, after)
    assert confirm_by == add_working_days(requested_at, 3), (requested_at, confirm_by)
    accessible(page, "holds")
    row.locator("a").click()
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "requested")
    assert moment(page, "dl.facts time >> nth=0") == respond_by
    assert moment(page, "dl.facts time >> nth=1") == confirm_by
    expect(page.locator("input[name=change][value=held]")).to_have_count(1)
    expect(page.locator("input[name=change][value=cancel]")).to_have_count(0)
    accessible(page, "hold")
    change(page, "held", amount="11.000.000")  # more than asked: refused, shown on the page
    expect(page.locator("p.error")).to_contain_text("10000000")
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "requested")
    accessible(page, "hold-refused")
    change(page, "held", amount="8.000.000")
    expect(page).to_have_url(re.compile(rf"/console/holds/{hold_id}$"))
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "held")
    expect(page.locator("#hold-remaining")).to_have_text("8.000.000 ₫")
    # Returning waits for police; releasing to the account holder is offered meanwhile.
    expect(page.locator("input[name=change][value=return]")).to_have_count(0)
    expect(page.locator("input[name=change][value=release]")).to_have_count(1)
    accessible(page, "hold-held")

    # Police find it awaiting confirmation and confirm it for their case.
    analyst = Person(server, browser, "C06", "an.c06", "analyst")
    analyst.enrol_and_sign_in()
    page = analyst.page
    page.click("header a[href='/console/holds']")
    page.click("main a[href='/console/holds?status=held']")
    row = page.locator("#holds tbody tr", has=page.locator(f"a[href='/console/holds/{hold_id}']"))
    expect(row).to_contain_text("8.000.000 ₫")
    expect(page.locator("#status")).to_have_value("held")
    accessible(page, "holds-awaiting-confirmation")
    row.locator("a").click()
    expect(page.locator("input[name=change][value=held]")).to_have_count(0)
    expect(page.locator("#case-confirm")).to_have_value(CASE)  # the request's case
    accessible(page, "hold-confirm")
    change(page, "confirm", case_reference=CASE)
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("dl.facts")).to_contain_text(CASE)
    expect(page.locator("dl.facts")).to_contain_text("C06")
    expect(page.locator("input[name=change][value=confirm]")).to_have_count(0)

    # VCB returns the money to the victim: nothing is held any more and the hold closes.
    page = holder.page
    page.reload()
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "confirmed")
    change(page, "return", amount="8.000.000")
    expect(page.locator("#hold-status")).to_have_attribute("data-status", "closed")
    expect(page.locator("#hold-remaining")).to_have_text("0 ₫")
    expect(page.locator("main form")).to_have_count(0)  # nothing left to do
    accessible(page, "hold-closed")
    page.click("header a[href='/console/holds']")
    row = page.locator("#holds tbody tr", has=page.locator(f"a[href='/console/holds/{hold_id}']"))
    expect(row.locator("td[data-status]")).to_have_text("Đã đóng")

    # The recovery ledger holds the freeze and the return of the hold, under the case.
    page.click("header a[href='/console/recovery']")
    entries = page.locator("#entries tbody tr", has_text=f"hold {hold_id}")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("Trả lại nạn nhân")  # newest first
    expect(entries.nth(1)).to_contain_text("Phong tỏa")
    for entry in (entries.nth(0), entries.nth(1)):
        expect(entry).to_contain_text(KEY)
        expect(entry).to_contain_text("8.000.000 ₫")
    case = page.locator("#case-totals tbody tr", has_text=KEY)
    expect(case).to_have_count(1)
    expect(case.locator("td")).to_have_text([KEY, CASE, "8.000.000 ₫", "0 ₫", "8.000.000 ₫", "0 ₫"])
    accessible(page, "recovery-after-hold")

    # The victim's bank sees its request closed too, in English as well.
    page = requester.page
    page.click("header a[href='/console/holds']")
    page.click("main a[href='/console/holds?role=requester']")
    row = page.locator("#holds tbody tr", has=page.locator(f"a[href='/console/holds/{hold_id}']"))
    expect(row.locator("td[data-status]")).to_have_text("Đã đóng")
    page.click("a[hreflang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    row = page.locator("#holds tbody tr", has=page.locator(f"a[href='/console/holds/{hold_id}']"))
    expect(row.locator("td[data-status]")).to_have_text("Closed")
    accessible(page, "holds-english")
