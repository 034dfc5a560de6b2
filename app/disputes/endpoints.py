from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.db.session import ReadSession, resource_response, writing
from app.db.types import utcnow
from app.db.unit_of_work import UnitOfWork
from app.disputes.auth import DisputeReader, Opener, Resolver
from app.disputes.policy import sees_every_dispute
from app.disputes.repository import DisputeRepository
from app.disputes.schemas import (
    DisputeCreate,
    DisputePage,
    DisputeRead,
    DisputeResolve,
    DisputeStatus,
)
from app.disputes.service import (
    DisputeAlreadyOpen,
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
from app.idempotency.service import CREATED_RESPONSE, idempotent_create
from app.pagination import Cursor, Limit, decode_time_cursor, next_time_cursor
from app.preconditions import IfMatch, etag, etag_response
from app.subjects.schemas import SubjectKeyFilter

router = APIRouter(tags=["disputes"])

DisputeId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.post(
    "/v1/disputes",
    status_code=201,
    response_model=DisputeRead,
    responses={
        **CREATED_RESPONSE,
        **problem_responses(
            *AUTH_ERRORS,
            InvalidInput,
            NotOwnInstitution,
            NothingToDispute,
            DisputeAlreadyOpen,
            IdempotencyKeyReused,
        ),
    },
)
async def create_dispute(
    request: Request,
    body: DisputeCreate,
    actor: Opener,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Dispute a listing on behalf of your own customer: only for a subject at your own
    institution (telecoms: phone numbers). The subject shows `under_dispute` in lookups
    until the dispute is decided; `due_at` is the deadline for a decision. The subject must
    have an active flag, and a subject has at most one open dispute (409 naming it)."""
    dispute_days = request.app.state.runtime.settings.dispute_days

    async def create(uow: UnitOfWork) -> tuple[DisputeRead, int, str]:
        row = await open_dispute(uow, body, dispute_days=dispute_days)
        return dispute_read(*row), row[0].version, f"/v1/disputes/{row[0].id}"

    return await idempotent_create(request, actor, body, create)


@router.get(
    "/v1/disputes/{dispute_id}",
    response_model=DisputeRead,
    responses={**etag_response(), **problem_responses(*AUTH_ERRORS, DisputeNotFound)},
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
    rows = await DisputeRepository(session).page(
        org_id=None if sees_every_dispute(actor) else actor.org_id,
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
    responses={
        **etag_response(),
        **problem_responses(
            *AUTH_ERRORS,
            InvalidInput,
            DisputeNotFound,
            DisputeClosed,
            PreconditionRequired,
            StaleVersion,
        ),
    },
)
async def decide_dispute(
    request: Request,
    dispute_id: DisputeId,
    body: DisputeResolve,
    actor: Resolver,
    if_match: IfMatch = None,
) -> Any:
    """Decide a dispute (`upheld` or `rejected`) with `If-Match`. Upheld clears every
    active flag of the subject, so its lookup answer changes at once."""
    async with writing(request, actor) as uow:
        row = await resolve_dispute(uow, dispute_id, body, if_match)
        read = dispute_read(*row)
    return resource_response(read, read.version)
