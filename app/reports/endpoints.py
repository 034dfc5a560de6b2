"""``GET /v1/reports/{period}`` in JSON, CSV, XLSX or HTML."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from app.db.session import ReadSession
from app.errors import AUTH_ERRORS, InvalidInput, problem_responses
from app.reports.auth import ReportReader
from app.reports.periods import PERIOD_PATTERN
from app.reports.render import MEDIA_TYPES, file_headers, render_report
from app.reports.schemas import Report, ReportFormat

router = APIRouter(tags=["reports"])

PeriodParam = Annotated[
    str,
    Path(
        description="`YYYY-H1`, `YYYY-H2` or `YYYY` (years 2000 to 2100), Vietnam time",
        examples=["2026-H1"],
        pattern=PERIOD_PATTERN,
    ),
]

_OTHER_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report; `format` picks the media type (JSON is the default).",
        "content": {
            MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
            MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            MEDIA_TYPES["html"]: {"schema": {"type": "string"}},
        },
    }
}


@router.get(
    "/v1/reports/{period}",
    response_model=Report,
    responses={**_OTHER_FORMATS, **problem_responses(*AUTH_ERRORS, InvalidInput)},
)
async def get_report(
    period: PeriodParam,
    session: ReadSession,
    actor: ReportReader,
    fmt: Annotated[
        ReportFormat, Query(alias="format", description="json, csv, xlsx or html")
    ] = "json",
) -> Response:
    """The half-year (`2026-H1`, `2026-H2`) or year (`2026`) report, in Vietnam time.

    New flags by category, identifier kind and reporting organisation kind; confirmations,
    rejections and expiries; risk levels at the period end; disputes opened, upheld,
    rejected, overdue and the median days to decide; money frozen, released and returned;
    warnings issued, transfers cancelled and VND protected; lookups by organisation kind;
    each for the whole period and month by month.

    Every figure is rebuilt from the immutable history, so the report of an ended period
    never changes. A period not yet ended is computed so far and marked `complete: false`.
    `csv` and `xlsx` hold the same figure table (one row per figure, one column per month);
    `html` is a self-contained page with charts that needs no network to display.
    """
    body, media_type = await render_report(session, period, fmt)
    return Response(body, media_type=media_type, headers=file_headers(period, fmt))
