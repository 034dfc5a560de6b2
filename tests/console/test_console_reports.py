"""The console's reports (``/console/reports``): the six-month or yearly report on screen
(the HTML report's own body and charts), and its CSV and XLSX files, the same as the API's.
The history is the known one of ``tests/reports/history.py``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from app.config import Settings
from app.db.types import utcnow
from app.reports.charts import CHARTS
from tests.console.support import browser, signed_in_person
from tests.factories import make_org
from tests.reports.history import History, first_half, start_history

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    # As in tests/reports: the background expiry pass is left to the known history.
    return Settings(
        database_url=database_url,
        jwt_key_file=key_file,
        expiry_interval_seconds=86_400,
        flag_ttl_days=90,
        dispute_days=15,
        gc_freeze_after_start=False,
    )


@pytest.fixture
async def history(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> History:
    h = await start_history(app, client, monkeypatch)
    await first_half(h)
    return h.at(utcnow())  # console users are created and enrol now


def csv_rows(content: bytes) -> dict[tuple[str, str, str], list[str]]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return {(r[0], r[1], r[2]): r[5:] for r in rows[1:]}


def card(page: str, label: str) -> str:
    """The value of a headline card of the report on the page."""
    found = re.search(
        r'<div class="value">([^<]+)</div><div class="label">' + re.escape(label), page
    )
    assert found, label
    return found.group(1)


async def test_a_regulator_reads_the_half_year_and_downloads_the_same_files(
    app: FastAPI, client: httpx.AsyncClient, history: History
) -> None:
    auditor = history.callers["AUD"].headers
    async with browser(app) as http:
        await signed_in_person(app, http, "SBV", "hoa.pham", "supervisor")
        home = await http.get("/console/")
        assert 'href="/console/reports"' in home.text
        chooser = await http.get("/console/reports")
        assert chooser.status_code == 200 and "<svg" not in chooser.text
        assert 'name="year"' in chooser.text and 'value="H2"' in chooser.text
        page = await http.get("/console/reports", params={"year": "2026", "part": "H1"})
        assert page.status_code == 200, page.text
        html = page.text
        assert html.count("<svg") == len(CHARTS) == 8
        assert "Đã kết thúc / Complete" in html
        # Nothing the console's CSP would block: no script, no inline style at all.
        assert re.findall(r"<script|<style|\sstyle=", html, re.I) == []
        assert 'href="/console/reports/report.css"' in html
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "style-src 'self'" in page.headers["content-security-policy"]
        sheet = await http.get("/console/reports/report.css")
        assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
        assert ".report .card" in sheet.text

        got = await http.get("/console/reports/2026-H1/csv")
        assert got.status_code == 200
        assert got.headers["content-type"] == "text/csv; charset=utf-8"
        assert got.headers["content-disposition"] == 'attachment; filename="report-2026-H1.csv"'
        book = await http.get("/console/reports/2026-H1/xlsx")
        assert book.status_code == 200 and book.headers["content-type"] == XLSX
        assert book.headers["content-disposition"] == 'attachment; filename="report-2026-H1.xlsx"'
    # The same file the API gives.
    api = await client.get("/v1/reports/2026-H1", params={"format": "csv"}, headers=auditor)
    assert api.content == got.content
    api_book = await client.get("/v1/reports/2026-H1", params={"format": "xlsx"}, headers=auditor)
    sheets = [
        [list(s.iter_rows(values_only=True)) for s in load_workbook(io.BytesIO(b)).worksheets]
        for b in (book.content, api_book.content)
    ]
    assert sheets[0] == sheets[1]
    # And the figures on screen are the file's.
    rows = csv_rows(got.content)
    for section, metric, label in (
        ("recovery", "frozen_vnd", "Tiền bị phong tỏa (VND)"),
        ("recovery", "returned_vnd", "Tiền trả lại nạn nhân (VND)"),
        ("flags", "new", "Lượt gắn cờ mới"),
        ("disputes", "opened", "Khiếu nại mới"),
    ):
        total = int(rows[(section, metric, "")][0])
        assert card(html, label) == f"{total:,}".replace(",", ".")
    assert rows[("recovery", "frozen_vnd", "")][0] == "3050000000"
    assert card(html, "Tiền bị phong tỏa (VND)") == "3.050.000.000"


async def test_the_whole_year_and_the_second_half_are_reports_too(
    app: FastAPI, history: History
) -> None:
    async with browser(app) as http:
        await signed_in_person(app, http, "AUD", "minh.le", "auditor")
        year = await http.get("/console/reports", params={"year": "2026", "part": "year"})
        assert year.status_code == 200 and year.text.count("<svg") == 8
        assert "<th>2026-12</th>" in year.text and 'href="/console/reports/2026/csv"' in year.text
        h2 = await http.get("/console/reports", params={"year": "2026", "part": "H2", "lang": "en"})
        assert h2.status_code == 200 and "<th>2026-07</th>" in h2.text
        assert "<th>2026-06</th>" not in h2.text
        assert (await http.get("/console/reports/2026/xlsx")).status_code == 200


@pytest.mark.parametrize(
    ("org", "kind", "role"),
    [
        ("VCB2", "bank", "fraud_officer"),
        ("C07", "police", "analyst"),
        ("VTL2", "telecom", "officer"),
    ],
)
async def test_roles_without_reports_read_find_no_page_and_no_file(
    app: FastAPI, org: str, kind: str, role: str
) -> None:
    await make_org(app, org, kind, "TCB" if kind == "bank" else None)
    async with browser(app) as http:
        await signed_in_person(app, http, org, "u.ser", role)
        assert 'href="/console/reports"' not in (await http.get("/console/")).text
        assert (await http.get("/console/reports")).status_code == 404
        assert (await http.get("/console/reports?year=2026&part=H1")).status_code == 404
        for fmt in ("csv", "xlsx"):
            assert (await http.get(f"/console/reports/2026-H1/{fmt}")).status_code == 404


async def test_a_police_supervisor_holds_reports_read(app: FastAPI) -> None:
    await make_org(app, "C06", "police")
    async with browser(app) as http:
        await signed_in_person(app, http, "C06", "an.nguyen", "supervisor")
        page = await http.get("/console/reports", params={"year": "2025", "part": "H2"})
        assert page.status_code == 200 and page.text.count("<svg") == 8
    async with browser(app) as anonymous:
        answer = await anonymous.get("/console/reports/2025-H2/csv")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


@pytest.mark.parametrize(
    "params",
    [
        {"year": "99999", "part": "H1"},
        {"year": "1999", "part": "H1"},
        {"year": "2101", "part": "year"},
        {"year": "2026", "part": "H3"},
        {"year": "2026", "part": ""},
        {"year": "", "part": "H1"},
        {"year": "20\x0026", "part": "H1"},
        {"year": "2026", "part": "H1\x00"},
        {"year": "<script>alert(1)</script>"[:8], "part": "H1"},
        {"year": "2026", "part": "<b>H1</b>"},
        {"year": "2026", "part": "H1", "format": "csv"},
        {"year": "123456789", "part": "H1"},
    ],
)
async def test_a_bad_period_is_a_clear_422_never_a_500(
    app: FastAPI, params: dict[str, str]
) -> None:
    await make_org(app, "SBV", "regulator")
    async with browser(app) as http:
        await signed_in_person(app, http, "SBV", "hoa.pham", "supervisor")
        answer = await http.get("/console/reports", params=params)
        assert answer.status_code == 422, answer.text
        assert "<svg" not in answer.text
        assert "<script>" not in answer.text and "<b>H1" not in answer.text
        assert 'role="alert"' in answer.text or "<h1>" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/reports/2026-H3/csv",
        "/console/reports/99999/csv",
        "/console/reports/2026-H1/json",
        "/console/reports/2026-H1/html",
        "/console/reports/2026-H1/pdf",
        "/console/reports/2026-H1%00/csv",
        "/console/reports/" + "2" * 17 + "/csv",
        "/console/reports/%3Cscript%3E/xlsx",
    ],
)
async def test_a_bad_download_is_a_clear_422_never_a_500(app: FastAPI, path: str) -> None:
    await make_org(app, "SBV", "regulator")
    async with browser(app) as http:
        await signed_in_person(app, http, "SBV", "hoa.pham", "supervisor")
        answer = await http.get(path)
        # No such file (json, html, pdf): no such route, 404; a bad period: the 422 page.
        assert answer.status_code in (404, 422), answer.text
        if answer.status_code == 422:
            assert answer.headers["content-type"].startswith("text/html")
        assert "<script>" not in answer.text
