"""``POST /v1/public/check`` and ``POST /v1/public/reports``: no token (SPEC §13)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from app.db.unit_of_work import unit_of_work
from app.errors import InvalidInput, RateLimited, ServiceUnavailable, problem_responses
from app.portal.check import public_answer, subject_of_vietqr
from app.portal.language import from_accept_language
from app.portal.policy import PublicAction, check_public_limit
from app.portal.schemas import (
    CitizenReportIn,
    CitizenReportReceipt,
    PublicCheckRequest,
    PublicCheckResult,
)
from app.portal.service import file_report, public_actor
from app.request_context import request_id_var
from app.subjects.service import identify

router = APIRouter(tags=["public"])

AcceptLanguage = Annotated[
    str | None,
    Header(alias="Accept-Language", max_length=200, description="en for English advice"),
]


@router.post(
    "/v1/public/check",
    response_model=PublicCheckResult,
    responses=problem_responses(InvalidInput, RateLimited, ServiceUnavailable),
)
async def public_check(
    request: Request, body: PublicCheckRequest, accept_language: AcceptLanguage = None
) -> PublicCheckResult:
    """Check an account, e-wallet or phone number (`subject`), or a VietQR code (`vietqr`),
    before paying. No token. The answer is only `level` (`confirmed` by police: do not pay;
    `reported` by organisations: be careful; `none`: no report, which does not mean safe),
    the scam methods reported and what to do: never reporters, cases, holders or counts.
    Limited per address and overall (429 with Retry-After); a public check issues no
    warning and is counted apart from member lookups."""
    await check_public_limit(request, PublicAction.CHECK)
    runtime = request.app.state.runtime
    if body.subject is not None:
        key = identify(body.subject, ("body", "subject")).key
    else:
        assert body.vietqr is not None
        key = subject_of_vietqr(body.vietqr, ("body", "vietqr"))[0].key
    answer = await public_answer(runtime, key)
    return PublicCheckResult.model_validate(answer.as_json(from_accept_language(accept_language)))


@router.post(
    "/v1/public/reports",
    status_code=201,
    response_model=CitizenReportReceipt,
    responses=problem_responses(InvalidInput, RateLimited, ServiceUnavailable),
)
async def public_report(request: Request, body: CitizenReportIn) -> CitizenReportReceipt:
    """Report a scam: the account, e-wallet or phone number paid, the amount, the date,
    how it happened and, if you wish, how police may contact you. It goes to a police
    review queue and lists nothing by itself. Keep the `reference`. Limited per address."""
    await check_public_limit(request, PublicAction.REPORT)
    report = await file_citizen_report(request, body)
    return CitizenReportReceipt(reference=report)


async def file_citizen_report(request: Request, body: CitizenReportIn) -> str:
    """Files the report in its own unit of work (committed on return); its reference."""
    runtime = request.app.state.runtime
    if runtime.mirror.state_error is not None:
        raise ServiceUnavailable(runtime.mirror.state_error, retry_after=60)
    async with unit_of_work(runtime.db, public_actor(request_id_var.get())) as uow:
        report = await file_report(uow, body)
    return report.reference
