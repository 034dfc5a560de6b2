from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.auth.scopes import Scope
from app.db.session import ReadSession, WriteSession, commit_and_respond
from app.db.types import utcnow
from app.disputes.auth import DisputeReader, Opener, Resolver
from app.disputes.repository import DisputeRepository
from app.disputes.schemas import (
    DisputeCreate,
    DisputePage,
    DisputeRead,
    DisputeResolve,
    DisputeStatus,
)
from app.disputes.service import (
    DisputeClosed,
    DisputeNotFound,
    NothingToDispute,
    NotOwnInstitution,
    dispute_read,
    get_dispute,
    open_dispute,
    resolve_dispute,
)
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    problem_responses,
)
from app.idempotency.service import idempotent_create
from app.pagination import Cursor, Limit, decode_time_cursor, next_time_cursor
from app.preconditions import IfMatch, etag
from app.subjects.schemas import SubjectKeyFilter

router = APIRouter(tags=["disputes"])

DisputeId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.post(
    "/v1/disputes",
    status_code=201,
    response_model=DisputeRead,
    responses=problem_responses(
        *AUTH_ERRORS, InvalidInput, NotOwnInstitution, NothingToDispute, IdempotencyKeyReused
    ),
)
async def create_dispute(
    request: Request,
    body: DisputeCreate,
    session: WriteSession,
    actor: Opener,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Dispute a listing on behalf of your own customer: only for a subject at your own
    institution (telecoms: phone numbers). The subject shows `under_dispute` in lookups
    until the dispute is decided; `due_at` is the deadline for a decision."""
    settings = request.app.state.runtime.settings

    async def create() -> tuple[DisputeRead, int, str]:
        row = await open_dispute(session, actor, body, dispute_days=settings.dispute_days)
        return dispute_read(*row), row[0].version, f"/v1/disputes/{row[0].id}"

    return await idempotent_create(request, session, actor, body, create)


@router.get(
    "/v1/disputes/{dispute_id}",
    response_model=DisputeRead,
    responses=problem_responses(*AUTH_ERRORS, DisputeNotFound),
)
async def read_dispute(
    dispute_id: DisputeId, response: Response, session: ReadSession, actor: DisputeReader
) -> DisputeRead:
    """One dispute: the opener's own, or any with `disputes:resolve` or `history:read`."""
    row = await get_dispute(session, actor, dispute_id)
    response.headers["ETag"] = etag(row[0].version)
    return dispute_read(*row)


@router.get(
    "/v1/disputes",
    response_model=DisputePage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput),
)
async def list_disputes(
    session: ReadSession,
    actor: DisputeReader,
    status: DisputeStatus | None = None,
    overdue: Annotated[bool, Query(description="only open disputes past due_at")] = False,
    key: SubjectKeyFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> DisputePage:
    """Disputes, oldest first. Resolvers use `overdue=true` to see what is past its
    deadline. Openers see only their own."""
    after = decode_time_cursor(cursor)
    sees_all = bool(actor.scopes & {Scope.DISPUTES_RESOLVE, Scope.HISTORY_READ})
    rows = await DisputeRepository(session).page(
        org_id=None if sees_all else actor.org_id,
        status=status,
        overdue_at=utcnow() if overdue else None,
        key=key,
        after=after,
        limit=limit + 1,
    )
    items = [dispute_read(*row) for row in rows[:limit]]
    return DisputePage(items=items, next_cursor=next_time_cursor(rows, limit))


@router.post(
    "/v1/disputes/{dispute_id}/resolve",
    response_model=DisputeRead,
    responses=problem_responses(
        *AUTH_ERRORS,
        InvalidInput,
        DisputeNotFound,
        DisputeClosed,
        PreconditionRequired,
        StaleVersion,
    ),
)
async def decide_dispute(
    request: Request,
    dispute_id: DisputeId,
    body: DisputeResolve,
    session: WriteSession,
    actor: Resolver,
    if_match: IfMatch = None,
) -> Any:
    """Decide a dispute (`upheld` or `rejected`) with `If-Match`. Upheld clears every
    active flag of the subject, so its lookup answer changes at once."""
    row = await resolve_dispute(session, actor, dispute_id, body, if_match)
    return await commit_and_respond(request, session, dispute_read(*row), row[0].version)
