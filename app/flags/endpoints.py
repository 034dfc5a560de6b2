from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.auth.actor import Actor
from app.db.session import ReadSession, resource_response, writing
from app.db.unit_of_work import UnitOfWork
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    problem_responses,
)
from app.flags.auth import Reporter, ReporterOrHistory, Reviewer
from app.flags.policy import FlagAction, InvalidTransition, sees_every_flag
from app.flags.repository import FlagRepository
from app.flags.schemas import FlagCreate, FlagDecision, FlagPage, FlagRead, FlagStatus
from app.flags.service import (
    DuplicateFlag,
    FlagNotFound,
    create_flag,
    flag_read,
    get_flag,
    transition_flag,
)
from app.idempotency.service import CREATED_RESPONSE, idempotent_create
from app.pagination import Cursor, Limit, decode_time_cursor, next_time_cursor
from app.preconditions import IfMatch, etag, etag_response
from app.subjects.schemas import SubjectKeyFilter

router = APIRouter(tags=["flags"])

FlagId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.post(
    "/v1/flags",
    status_code=201,
    response_model=FlagRead,
    responses={
        **CREATED_RESPONSE,
        **problem_responses(*AUTH_ERRORS, InvalidInput, DuplicateFlag, IdempotencyKeyReused),
    },
)
async def report_flag(
    request: Request,
    body: FlagCreate,
    actor: Reporter,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Report (flag) a subject. Police reports are `confirmed` at once; others start
    `reported` and expire unless confirmed within the TTL. Your organisation holds at most
    one active flag per subject: a second report is a 409 naming the first (`flag_id`).
    Send `Idempotency-Key` to make retries safe: the same key and body replay the first
    response."""
    ttl_days = request.app.state.runtime.settings.flag_ttl_days

    async def create(uow: UnitOfWork) -> tuple[FlagRead, int, str]:
        row = await create_flag(uow, body, ttl_days=ttl_days)
        return flag_read(*row), row[0].version, f"/v1/flags/{row[0].id}"

    return await idempotent_create(request, actor, body, create)


@router.get(
    "/v1/flags/{flag_id}",
    response_model=FlagRead,
    responses={**etag_response(), **problem_responses(*AUTH_ERRORS, FlagNotFound)},
)
async def read_flag(
    flag_id: FlagId, response: Response, session: ReadSession, actor: ReporterOrHistory
) -> FlagRead:
    """One flag: your organisation's own with `flags:write`, any with `history:read`."""
    row = await get_flag(session, actor, flag_id)
    response.headers["ETag"] = etag(row[0].version)
    return flag_read(*row)


@router.get(
    "/v1/flags", response_model=FlagPage, responses=problem_responses(*AUTH_ERRORS, InvalidInput)
)
async def list_flags(
    session: ReadSession,
    actor: ReporterOrHistory,
    status: FlagStatus | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    key: SubjectKeyFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> FlagPage:
    """Flags, oldest first, cursor-paginated; your organisation's own, or every flag with
    `history:read` or `flags:review`."""
    after = decode_time_cursor(cursor)
    org_id = None if sees_every_flag(actor) else actor.org_id
    rows = await FlagRepository(session).page(
        org_id=org_id, status=status, category=category, key=key, after=after, limit=limit + 1
    )
    items = [flag_read(*row) for row in rows[:limit]]
    return FlagPage(items=items, next_cursor=next_time_cursor(rows, limit))


TRANSITION_ERRORS = {
    **etag_response(),
    **problem_responses(
        *AUTH_ERRORS,
        InvalidInput,
        FlagNotFound,
        InvalidTransition,
        PreconditionRequired,
        StaleVersion,
    ),
}


async def _transition(
    request: Request,
    actor: Actor,
    flag_id: str,
    action: FlagAction,
    if_match: str | None,
    body: FlagDecision | None,
) -> Response:
    reason = body.reason if body is not None else None
    async with writing(request, actor) as uow:
        row = await transition_flag(uow, flag_id, action, if_match, reason=reason)
        read = flag_read(*row)
    return resource_response(read, read.version)


@router.post("/v1/flags/{flag_id}/confirm", response_model=FlagRead, responses=TRANSITION_ERRORS)
async def confirm_flag(
    request: Request,
    flag_id: FlagId,
    actor: Reviewer,
    if_match: IfMatch = None,
    body: FlagDecision | None = None,
) -> Any:
    """Confirm a `reported` flag (police): the subject's answer becomes `hold`. Requires
    `If-Match` with the flag's ETag; an optional `reason` is kept on the flag."""
    return await _transition(request, actor, flag_id, FlagAction.CONFIRM, if_match, body)


@router.post("/v1/flags/{flag_id}/reject", response_model=FlagRead, responses=TRANSITION_ERRORS)
async def reject_flag(
    request: Request,
    flag_id: FlagId,
    actor: Reviewer,
    if_match: IfMatch = None,
    body: FlagDecision | None = None,
) -> Any:
    """Reject a `reported` or `confirmed` flag (police). Requires `If-Match`; an optional
    `reason` is kept on the flag and in its history."""
    return await _transition(request, actor, flag_id, FlagAction.REJECT, if_match, body)


@router.post("/v1/flags/{flag_id}/withdraw", response_model=FlagRead, responses=TRANSITION_ERRORS)
async def withdraw_flag(
    request: Request,
    flag_id: FlagId,
    actor: Reporter,
    if_match: IfMatch = None,
    body: FlagDecision | None = None,
) -> Any:
    """Withdraw one of your organisation's own flags while it is `reported`. A `confirmed`
    flag is withdrawn only by a reporter holding `flags:review` (409 otherwise: ask the
    police to reject it). Requires `If-Match`; an optional `reason` is kept."""
    return await _transition(request, actor, flag_id, FlagAction.WITHDRAW, if_match, body)
