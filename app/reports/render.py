"""Report formats: JSON (the source of truth), CSV and XLSX for analysts, HTML for people.

``render_report`` is the one entry point for the API, the command line and the staff
console's downloads; ``render_report_body`` gives the console the HTML report's body.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import get_args

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.errors import InvalidInput
from app.reports.labels import header, table
from app.reports.periods import parse_period
from app.reports.schemas import Report, ReportFormat
from app.reports.service import build_report

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
FORMATS: tuple[str, ...] = get_args(ReportFormat)


def render_json(report: Report) -> bytes:
    return report.model_dump_json(indent=2).encode("utf-8")


def render_csv(report: Report) -> bytes:
    """One row per figure: labels, period total, then a column per month (``2026-01``).

    UTF-8 with a byte-order mark, because without it Excel garbles Vietnamese text.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(report))
    for row in table(report):
        writer.writerow(["" if cell is None else _csv_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_cell(cell: str | int | float | bool) -> str | int | float:
    return str(cell).lower() if isinstance(cell, bool) else cell


def render_xlsx(report: Report) -> bytes:
    """A workbook with the figure table and a sheet describing the period."""
    # Imported here: openpyxl (with numpy behind it) costs every worker ~30 MB of RSS,
    # and only report downloads need it.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    figures = workbook.active
    assert figures is not None
    figures.title = "Figures"
    figures.append(header(report))
    for row in table(report):
        figures.append(row)
    for cell in figures[1]:
        cell.font = Font(bold=True)
    figures.freeze_panes = "F2"
    figures.column_dimensions["D"].width = 48
    figures.column_dimensions["E"].width = 44
    about = workbook.create_sheet("Period")
    for name, value in (
        ("period", report.period),
        ("kind", report.kind),
        ("start (UTC+7, inclusive)", report.start.isoformat()),
        ("end (UTC+7, exclusive)", report.end.isoformat()),
        ("complete", report.complete),
    ):
        about.append([name, value])
    # Fixed document dates keep the file the same when the report is the same.
    workbook.properties.created = workbook.properties.modified = report.end.replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def _render(report: Report, fmt: str) -> bytes:
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "xlsx":
        return await anyio.to_thread.run_sync(render_xlsx, report)
    # Imported here: matplotlib is loaded only by a process that draws a report.
    from app.reports.html import render_html

    # Drawing charts takes a while; keep the event loop free for lookups meanwhile.
    return await anyio.to_thread.run_sync(render_html, report)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        message = f"format must be one of {', '.join(FORMATS)}"
        raise InvalidInput(
            message, errors=[{"loc": ["query", "format"], "msg": message, "type": "value_error"}]
        )
    return fmt


async def render_report(
    db_or_session: Database | AsyncSession,
    period: str,
    fmt: str,
    *,
    now: datetime | None = None,
) -> tuple[bytes, str]:
    """The report for ``period`` in ``fmt`` (json, csv, xlsx, html) and its media type.

    Takes a ``Database`` (a read session is opened and closed here) or an open session.
    An invalid period or format raises ``InvalidInput`` naming the field.
    """
    check_format(fmt)
    parse_period(period)  # a bad period fails before any database work
    if isinstance(db_or_session, AsyncSession):
        report = await build_report(db_or_session, period, now)
    else:
        async with db_or_session.read_session() as session:
            report = await build_report(session, period, now)
    return await _render(report, fmt), MEDIA_TYPES[fmt]


def file_headers(period: str, fmt: str) -> dict[str, str]:
    """How a report in ``fmt`` is served: a download, except HTML shown in place."""
    if fmt == "json":
        return {}
    disposition = "inline" if fmt == "html" else "attachment"
    return {"Content-Disposition": f'{disposition}; filename="report-{period}.{fmt}"'}


async def render_report_body(
    session: AsyncSession, period: str, *, now: datetime | None = None
) -> str:
    """The HTML report's body (cards, charts, table, notes) for a page of its own."""
    parse_period(period)
    report = await build_report(session, period, now)
    from app.reports.html import render_body

    return await anyio.to_thread.run_sync(render_body, report)
