"""Console reports (``reports:read``): the six-month and yearly report on screen, and its
CSV and XLSX files.

The page shows the body of the HTML report (``app.reports.html.render_body``: the same
cards, charts and table as the downloadable page, no second renderer); the files are
``render_report``'s, the same bytes ``GET /v1/reports/{period}`` and ``registry report``
give. Which periods exist is ``app.reports.periods.parse_period``'s rule. The report's
stylesheet is served as a file, since the console's Content-Security-Policy allows no
inline style, and its charts are SVG with presentation attributes and no script.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need
from app.console.pages import Lang, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff
from app.db.types import utcnow
from app.errors import InvalidInput
from app.reports.html import stylesheet
from app.reports.periods import VIETNAM, parse_period
from app.reports.render import file_headers, render_report, render_report_body

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

PARTS: tuple[str, ...] = ("H1", "H2", "year")
PeriodPath = Annotated[str, Path(max_length=16)]


def period_of(year: str, part: str) -> str:
    """``2026-H1``, ``2026-H2`` or ``2026``, as the report API names periods."""
    return year.strip() if part == "year" else f"{year.strip()}-{part}"


@router.get("/reports")
async def reports(
    request: Request,
    staff: SignedIn,
    year: Annotated[str | None, Query(max_length=8)] = None,
    part: Annotated[str, Query(max_length=8)] = "H1",
    lang: Lang = None,
) -> Response:
    """Choose a period; once chosen, its report with links to its CSV and XLSX files."""
    need(staff, Scope.REPORTS_READ)
    now = utcnow().astimezone(VIETNAM)
    context: dict[str, object] = {
        "staff": staff,
        "year": year if year is not None else str(now.year),
        "part": part if year is not None else ("H1" if now.month <= 6 else "H2"),
        "parts": PARTS,
    }
    status = 200
    if year is not None:
        period = period_of(year, part)
        try:
            parse_period(period)  # "2026-H3", "99999": refused with the API's own message
            async with request.app.state.runtime.db.read_session() as session:
                body = await render_report_body(session, period)
        except InvalidInput as exc:
            context["error"], status = exc.detail, 422
        else:
            # The report's own markup: every value in it is escaped by app.reports.html.
            context["period"], context["body"] = period, Markup(body)  # noqa: S704
    return render(request, "reports.html", context, lang=lang, status_code=status)


@router.get("/reports/report.css")
async def report_stylesheet() -> Response:
    """The report's stylesheet (inlined in the HTML report, a file for the console)."""
    headers = {"Cache-Control": "private, max-age=3600"}
    return Response(stylesheet(), media_type="text/css; charset=utf-8", headers=headers)


@router.get("/reports/{period}/csv")
async def download_csv(request: Request, staff: SignedIn, period: PeriodPath) -> Response:
    """The report's CSV file, as the API and ``registry report`` write it."""
    return await _download(request, staff, period, "csv")


@router.get("/reports/{period}/xlsx")
async def download_xlsx(request: Request, staff: SignedIn, period: PeriodPath) -> Response:
    """The report's XLSX workbook, as the API and ``registry report`` write it."""
    return await _download(request, staff, period, "xlsx")


async def _download(request: Request, staff: Staff, period: str, fmt: str) -> Response:
    need(staff, Scope.REPORTS_READ)
    async with request.app.state.runtime.db.read_session() as session:
        body, media_type = await render_report(session, period, fmt)
    return Response(body, media_type=media_type, headers=file_headers(period, fmt))
