"""``GET /v1/reports/{period}``: access, errors, and the same figures in every format."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from app.errors import InvalidInput
from app.reports.charts import CHARTS
from app.reports.render import render_report
from tests.reports.expected import flatten
from tests.reports.history import History, vn
from tests.reports.test_figures import report

URL = "/v1/reports/2026-H1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_reports_need_the_reports_read_scope(app: FastAPI, history: History) -> None:
    client = history.client
    anonymous = await client.get(URL)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    bank = await client.get(URL, headers=history.callers["VCB"].headers)
    assert bank.status_code == 403
    assert 'error="insufficient_scope"' in bank.headers["www-authenticate"]
    for reader in ("C06", "SBV", "AUD"):
        response = await client.get(URL, headers=history.callers[reader].headers)
        assert response.status_code == 200, reader


@pytest.mark.parametrize(
    "period", ["2026-H3", "2026-h1", "26", "2026-Q1", "2026-01", "1999", "20260", "2026-H1-x"]
)
async def test_invalid_period_is_422_naming_the_field(history: History, period: str) -> None:
    response = await history.client.get(
        f"/v1/reports/{period}", headers=history.callers["AUD"].headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["path", "period"]


async def test_invalid_format_is_422_naming_the_field(history: History) -> None:
    response = await history.client.get(
        URL, params={"format": "pdf"}, headers=history.callers["AUD"].headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "format"]


async def _get(history: History, fmt: str) -> httpx.Response:
    response = await history.client.get(
        URL, params={"format": fmt}, headers=history.callers["AUD"].headers
    )
    assert response.status_code == 200, response.text
    return response


async def test_json_is_the_report_built_from_history(app: FastAPI, history: History) -> None:
    response = await _get(history, "json")
    assert response.headers["content-type"] == "application/json"
    # H1 2026 has ended by the real clock, so the API's "now" does not matter.
    expected = (await report(app, "2026-H1")).model_dump(mode="json")
    assert response.json() == expected
    assert response.json()["totals"]["warnings"]["protected_vnd"] == 7_000_000


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


async def test_csv_holds_every_figure_per_month(app: FastAPI, history: History) -> None:
    response = await _get(history, "csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="report-2026-H1.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    body = (await report(app, "2026-H1")).model_dump()
    months = [flatten(m["figures"]) for m in body["months"]]
    totals = flatten(body["totals"])
    assert rows[0][:6] == ["section", "metric", "key", "label_vi", "label_en", "total"]
    assert rows[0][6:] == [f"2026-0{m}" for m in range(1, 7)]
    assert rows[1][:2] == ["report", "complete"] and rows[1][5:] == ["true"] * 7
    seen = set()
    for section, metric, key, _vi, _en, *values in rows[2:]:
        path = ".".join(p for p in (section, metric, key) if p)
        seen.add(path)
        assert values == [_csv_value(f[path]) for f in (totals, *months)], path
    assert seen == {p for p in totals if not p.endswith("snapshot_at")}
    labels = {row[1]: (row[3], row[4]) for row in rows if row[0] == "warnings"}
    assert labels["issued"] == ("Cảnh báo đã phát", "Warnings issued")


async def test_xlsx_holds_the_csv_table(history: History) -> None:
    response = await _get(history, "xlsx")
    assert response.headers["content-type"] == XLSX
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Figures"]
    cells = [[_csv_value(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    rows = list(csv.reader(io.StringIO((await _get(history, "csv")).content.decode("utf-8-sig"))))
    assert cells == rows
    about = {row[0]: row[1] for row in workbook["Period"].iter_rows(values_only=True)}
    assert about["period"] == "2026-H1" and about["complete"] is True


async def test_html_is_one_self_contained_page(history: History) -> None:
    response = await _get(history, "html")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert page.count("<svg") == len(CHARTS) == 8
    assert "Cảnh báo đã phát / Warnings issued" in page
    assert "Chưa kết thúc" not in page  # H1 has ended
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I) == []
    assert re.findall(r"<(?:script|link|img|iframe|object)\b", page, re.I) == []
    assert "@import" not in page and "url(http" not in page
    assert "default-src 'none'" in page


async def test_openapi_documents_every_media_type(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/v1/reports/{period}"]["get"]
    content = operation["responses"]["200"]["content"]
    assert {"application/json", "text/csv; charset=utf-8", XLSX} <= set(content)
    assert "text/html; charset=utf-8" in content
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Report"}
    assert {"401", "403", "422"} <= set(operation["responses"])
    assert operation["description"].startswith("The half-year")


async def test_render_report_serves_the_command_line(app: FastAPI, history: History) -> None:
    db = app.state.runtime.db
    body, media_type = await render_report(db, "2026", "json", now=vn(2027, 2, 1))
    assert media_type == "application/json"
    assert b'"complete": true' in body
    with pytest.raises(InvalidInput) as caught:
        await render_report(db, "2026", "pdf")
    assert caught.value.errors is not None
    assert caught.value.errors[0]["loc"] == ["query", "format"]
