from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.auth.scopes import Scope
from app.db.session import ReadSession, WriteSession, commit_and_respond
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    problem_responses,
)
from app.flags.auth import Reporter, ReporterOrHistory, Reviewer
from app.flags.repository import FlagRepository
from app.flags.schemas import FlagCreate, FlagPage, FlagRead, FlagStatus
from app.flags.service import (
    FlagNotFound,
    InvalidTransition,
    create_flag,
    flag_read,
    get_flag,
    transition_flag,
)
from app.idempotency.service import idempotent_create
from app.pagination import Cursor, Limit, decode_time_cursor, next_time_cursor
from app.preconditions import IfMatch, etag
from app.subjects.schemas import SubjectKeyFilter

router = APIRouter(tags=["flags"])

FlagId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.post(
    "/v1/flags",
    status_code=201,
    response_model=FlagRead,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, IdempotencyKeyReused),
)
async def report_flag(
    request: Request,
    body: FlagCreate,
    session: WriteSession,
    actor: Reporter,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Report (flag) a subject. Police reports are `confirmed` at once; others start
    `reported` and expire unless confirmed within the TTL. Send `Idempotency-Key` to make
    retries safe: the same key and body replay the first response."""
    settings = request.app.state.runtime.settings

    async def create() -> tuple[FlagRead, int, str]:
        row = await create_flag(session, actor, body, ttl_days=settings.flag_ttl_days)
        return flag_read(*row), row[0].version, f"/v1/flags/{row[0].id}"

    return await idempotent_create(request, session, actor, body, create)


@router.get(
    "/v1/flags/{flag_id}",
    response_model=FlagRead,
    responses=problem_responses(*AUTH_ERRORS, FlagNotFound),
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
    """Flags, oldest first, cursor-paginated; own flags only unless `history:read`."""
    after = decode_time_cursor(cursor)
    org_id = None if Scope.HISTORY_READ in actor.scopes else actor.org_id
    rows = await FlagRepository(session).page(
        org_id=org_id, status=status, category=category, key=key, after=after, limit=limit + 1
    )
    items = [flag_read(*row) for row in rows[:limit]]
    return FlagPage(items=items, next_cursor=next_time_cursor(rows, limit))


TRANSITION_ERRORS = problem_responses(
    *AUTH_ERRORS, FlagNotFound, InvalidTransition, PreconditionRequired, StaleVersion
)


async def _transition(
    request: Request,
    session: Any,
    actor: Any,
    flag_id: str,
    action: str,
    if_match: str | None,
    *,
    own_only: bool = False,
) -> Response:
    row = await transition_flag(session, actor, flag_id, action, if_match, own_only=own_only)
    return await commit_and_respond(request, session, flag_read(*row), row[0].version)


@router.post("/v1/flags/{flag_id}/confirm", response_model=FlagRead, responses=TRANSITION_ERRORS)
async def confirm_flag(
    request: Request,
    flag_id: FlagId,
    session: WriteSession,
    actor: Reviewer,
    if_match: IfMatch = None,
) -> Any:
    """Confirm a `reported` flag (police). Requires `If-Match` with the flag's ETag."""
    return await _transition(request, session, actor, flag_id, "confirm", if_match)


@router.post("/v1/flags/{flag_id}/reject", response_model=FlagRead, responses=TRANSITION_ERRORS)
async def reject_flag(
    request: Request,
    flag_id: FlagId,
    session: WriteSession,
    actor: Reviewer,
    if_match: IfMatch = None,
) -> Any:
    """Reject a `reported` flag (police). Requires `If-Match` with the flag's ETag."""
    return await _transition(request, session, actor, flag_id, "reject", if_match)


@router.post("/v1/flags/{flag_id}/withdraw", response_model=FlagRead, responses=TRANSITION_ERRORS)
async def withdraw_flag(
    request: Request,
    flag_id: FlagId,
    session: WriteSession,
    actor: Reporter,
    if_match: IfMatch = None,
) -> Any:
    """Withdraw one of your organisation's own flags. Requires `If-Match`."""
    return await _transition(request, session, actor, flag_id, "withdraw", if_match, own_only=True)
