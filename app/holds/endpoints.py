from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Request, Response

from app.db.session import ReadSession, resource_response, writing
from app.db.unit_of_work import UnitOfWork
from app.errors import (
    AUTH_ERRORS,
    AppError,
    IdempotencyKeyReused,
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    problem_responses,
)
from app.holds import policy
from app.holds.auth import Confirmer, HoldReader, Releaser, Requester, Responder
from app.holds.money import release_hold, return_hold
from app.holds.repository import HoldRepository, HoldRow
from app.holds.schemas import (
    HoldAmount,
    HoldConfirm,
    HoldCreate,
    HoldPage,
    HoldRead,
    HoldRespond,
    HoldRole,
    HoldStatus,
)
from app.holds.service import (
    HoldNotFound,
    HoldStateConflict,
    HoldTerms,
    cancel_hold,
    confirm_hold,
    get_hold,
    hold_read,
    request_hold,
    respond_hold,
)
from app.idempotency.service import CREATED_RESPONSE, idempotent_create
from app.pagination import Cursor, Limit, decode_time_cursor, next_time_cursor
from app.preconditions import IfMatch, etag, etag_response

router = APIRouter(tags=["holds"])

RespondBody = Annotated[
    HoldRespond,
    Body(examples=[{"outcome": "held", "held_vnd": 45000000}, {"outcome": "no_funds"}]),
]
HoldId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
_CHANGE_ERRORS: tuple[type[AppError], ...] = (
    *AUTH_ERRORS,
    InvalidInput,
    HoldNotFound,
    HoldStateConflict,
    PreconditionRequired,
    StaleVersion,
)
CHANGED = {**etag_response(), **problem_responses(*_CHANGE_ERRORS)}


def _answer(row: HoldRow) -> Response:
    read = hold_read(*row)
    return resource_response(read, read.version)


@router.post(
    "/v1/holds",
    status_code=201,
    response_model=HoldRead,
    responses={
        **CREATED_RESPONSE,
        **problem_responses(*AUTH_ERRORS, InvalidInput, IdempotencyKeyReused),
    },
)
async def create_hold(
    request: Request,
    body: HoldCreate,
    actor: Requester,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Ask the institution that holds an account or e-wallet to hold money: stop it
    first, sort out the case after. The subject must be a bank account or e-wallet of a
    registered institution (422 otherwise); `holder` names that institution.

    The holder answers by `respond_by` (`REGISTRY_HOLD_RESPOND_HOURS` after the request);
    police confirm by `confirm_by` (`REGISTRY_HOLD_CONFIRM_WORKING_DAYS` working days,
    Monday to Friday in Vietnam time, less `REGISTRY_HOLD_HOLIDAYS`) or the hold lapses.
    A hold still `requested` after `respond_by` stays requested and reads `overdue: true`.
    Send `Idempotency-Key`: a retry with the same key and body makes no second hold."""
    terms = HoldTerms.of(request.app.state.runtime.settings)

    async def create(uow: UnitOfWork) -> tuple[HoldRead, int, str]:
        row = await request_hold(uow, body, terms)
        return hold_read(*row), row[0].version, f"/v1/holds/{row[0].id}"

    return await idempotent_create(request, actor, body, create)


@router.get(
    "/v1/holds/{hold_id}",
    response_model=HoldRead,
    responses={**etag_response(), **problem_responses(*AUTH_ERRORS, HoldNotFound)},
)
async def read_hold(
    hold_id: HoldId, response: Response, session: ReadSession, actor: HoldReader
) -> HoldRead:
    """One hold, for its requester, its holder, police, regulators and `history:read`;
    anyone else gets 404, as for a hold that does not exist."""
    row = await get_hold(session, actor, hold_id)
    response.headers["ETag"] = etag(row[0].version)
    return hold_read(*row)


@router.get(
    "/v1/holds",
    response_model=HoldPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput),
)
async def list_holds(
    session: ReadSession,
    actor: HoldReader,
    status: HoldStatus | None = None,
    role: HoldRole | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> HoldPage:
    """Holds, oldest first: those you requested (`role=requester`), those on accounts
    at your institution (`role=holder`), or both. Police, regulators and `history:read`
    see every hold unless they name a role."""
    rows = await HoldRepository(session).page(
        requester_id=actor.org_id,
        holder=policy.held_at(actor),
        role=role,
        every=policy.sees_every_hold(actor),
        status=status,
        after=decode_time_cursor(cursor),
        limit=limit + 1,
    )
    items = [hold_read(*row) for row in rows[:limit]]
    return HoldPage(items=items, next_cursor=next_time_cursor(rows, limit))


@router.post("/v1/holds/{hold_id}/respond", response_model=HoldRead, responses=CHANGED)
async def respond(
    request: Request, hold_id: HoldId, body: RespondBody, actor: Responder, if_match: IfMatch = None
) -> Any:
    """The holder's answer, with `If-Match`: `{"outcome": "held", "held_vnd"}` (more than
    0, at most `amount_vnd`) moves the hold to `held` and records a `freeze` in the
    recovery ledger for the hold's case in the same transaction; `no_funds` or
    `no_such_account` moves it to `declined`. Only the institution holding the account
    may answer (404 for anyone else), once (409 after)."""
    async with writing(request, actor) as uow:
        row = await respond_hold(uow, hold_id, body, if_match)
    return _answer(row)


@router.post("/v1/holds/{hold_id}/confirm", response_model=HoldRead, responses=CHANGED)
async def confirm(
    request: Request, hold_id: HoldId, body: HoldConfirm, actor: Confirmer, if_match: IfMatch = None
) -> Any:
    """Police confirm a `held` hold for their case, with `If-Match`, before `confirm_by`;
    a hold requested for a case keeps that case (422 for another). After `confirm_by` an
    unconfirmed hold is `lapsed` and its holder should release the money."""
    async with writing(request, actor) as uow:
        row = await confirm_hold(uow, hold_id, body, if_match)
    return _answer(row)


@router.post("/v1/holds/{hold_id}/release", response_model=HoldRead, responses=CHANGED)
async def release(
    request: Request, hold_id: HoldId, body: HoldAmount, actor: Releaser, if_match: IfMatch = None
) -> Any:
    """Release held money back to the account holder (the holder, or police), with
    `If-Match`: a `release` in the recovery ledger. Never more than the hold still holds
    (422); when nothing is held any more the hold is `closed`."""
    async with writing(request, actor) as uow:
        row = await release_hold(uow, hold_id, body.amount_vnd, if_match)
    return _answer(row)


@router.post("/v1/holds/{hold_id}/return", response_model=HoldRead, responses=CHANGED)
async def return_money(
    request: Request, hold_id: HoldId, body: HoldAmount, actor: Responder, if_match: IfMatch = None
) -> Any:
    """Return held money to the victim (the holder, once police `confirmed`), with
    `If-Match`: a `return` in the recovery ledger. Never more than the hold still holds
    (422); when nothing is held any more the hold is `closed`."""
    async with writing(request, actor) as uow:
        row = await return_hold(uow, hold_id, body.amount_vnd, if_match)
    return _answer(row)


@router.post("/v1/holds/{hold_id}/cancel", response_model=HoldRead, responses=CHANGED)
async def cancel(
    request: Request, hold_id: HoldId, actor: Requester, if_match: IfMatch = None
) -> Any:
    """The requester cancels its request, with `If-Match`, while it is still
    `requested` (409 once the holder answered)."""
    async with writing(request, actor) as uow:
        row = await cancel_hold(uow, hold_id, if_match)
    return _answer(row)
