"""The police review queue of citizen reports (``flags:review``): each is turned into a
flag (the flag service, with the analyst as the actor, prefilled from the report) or
closed with a reason; both are chained changes naming the analyst."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.scopes import Scope
from app.console.auth import SignedIn, need, submitting
from app.console.pages import Lang, locale_of, render
from app.console.routing import ConsoleRoute
from app.console.session import Staff
from app.console.statuses import categories
from app.db.session import writing
from app.errors import AppError
from app.models import CitizenReport
from app.portal.repository import CitizenReportRepository
from app.portal.service import CitizenReportNotFound, close_report, flag_from_report
from app.text import Text

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

ReportId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
Reviewer = Annotated[Staff, Depends(submitting(Scope.FLAGS_REVIEW))]
Version = Annotated[int, Form(ge=1, le=2**31)]
QUEUE = 100


@router.get("/citizen-reports")
async def queue(request: Request, staff: SignedIn, lang: Lang = None) -> Response:
    """Citizen reports waiting for review, oldest first."""
    need(staff, Scope.FLAGS_REVIEW)
    async with request.app.state.runtime.db.read_session() as session:
        repo = CitizenReportRepository(session)
        rows = await repo.with_status("new", QUEUE)
        waiting = await repo.count("new")
    context = {"staff": staff, "reports": rows, "waiting": waiting}
    return render(request, "citizen_reports.html", context, lang=lang)


async def _report(request: Request, report_id: str) -> CitizenReport:
    async with request.app.state.runtime.db.read_session() as session:
        report = await CitizenReportRepository(session).get(report_id)
    if report is None:
        raise CitizenReportNotFound("no such citizen report")
    return report


def _page(
    request: Request,
    staff: Staff,
    report: CitizenReport,
    error: str | None = None,
    lang: str | None = None,
) -> Response:
    context = {
        "staff": staff,
        "report": report,
        "categories": categories(locale_of(request, lang)),
        "error": error,
    }
    status = 200 if error is None else 409
    return render(request, "citizen_report.html", context, lang=lang, status_code=status)


@router.get("/citizen-reports/{report_id}")
async def report_page(
    request: Request, staff: SignedIn, report_id: ReportId, lang: Lang = None
) -> Response:
    """One citizen report, with the forms to turn it into a flag or close it."""
    need(staff, Scope.FLAGS_REVIEW)
    return _page(request, staff, await _report(request, report_id), lang=lang)


@router.post("/citizen-reports/{report_id}/flag")
async def turn_into_flag(
    request: Request,
    staff: Reviewer,
    report_id: ReportId,
    version: Version,
    category: Annotated[Text, Form(max_length=64)],
    description: Annotated[Text, Form(max_length=2000)] = "",
) -> Response:
    """A flag by the analyst's organisation on the reported subject (police: confirmed)."""
    ttl_days = request.app.state.runtime.settings.flag_ttl_days
    try:
        async with writing(request, staff.actor) as uow:
            _, row = await flag_from_report(
                uow,
                report_id,
                version,
                category=category,
                description=description,
                ttl_days=ttl_days,
            )
    except AppError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        return _page(request, staff, await _report(request, report_id), exc.detail)
    return RedirectResponse(f"/console/flags/{row[0].id}", status_code=303)


@router.post("/citizen-reports/{report_id}/close")
async def close(
    request: Request,
    staff: Reviewer,
    report_id: ReportId,
    version: Version,
    reason: Annotated[Text, Form(min_length=1, max_length=2000)],
) -> Response:
    """Close the report without a flag, with the reason (kept in its history)."""
    try:
        async with writing(request, staff.actor) as uow:
            await close_report(uow, report_id, version, reason)
    except AppError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        return _page(request, staff, await _report(request, report_id), exc.detail)
    return RedirectResponse("/console/citizen-reports", status_code=303)
