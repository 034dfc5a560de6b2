from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request

from app.db.session import ReadSession
from app.db.unit_of_work import UnitOfWork
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    problem_responses,
)
from app.idempotency.service import CREATED_RESPONSE, idempotent_create
from app.recovery.auth import LedgerReader, Recorder
from app.recovery.schemas import RecoveryCreate, RecoveryRead, SubjectRecoveries
from app.recovery.service import record_entry, subject_recoveries
from app.subjects.schemas import SubjectKey
from app.subjects.service import SubjectNotFound, canonical_subject

router = APIRouter(tags=["recovery"])


@router.post(
    "/v1/recoveries",
    status_code=201,
    response_model=RecoveryRead,
    responses={
        **CREATED_RESPONSE,
        **problem_responses(*AUTH_ERRORS, InvalidInput, SubjectNotFound, IdempotencyKeyReused),
    },
)
async def create_recovery(
    request: Request,
    body: RecoveryCreate,
    actor: Recorder,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Record money frozen, released to the holder, or returned to victims, in whole VND.

    Only the institution that holds the account (the subject's `institution`) or police
    may record; for anyone else the subject does not exist (404). Money is held per case
    (`case_reference`; entries without one share a no-case bucket): a release or return
    larger than what its case still holds is a 422. Phone numbers hold no money (422).
    Send `Idempotency-Key`."""

    async def create(uow: UnitOfWork) -> tuple[RecoveryRead, int, str]:
        read = await record_entry(uow, body)
        return read, 1, f"/v1/subjects/{quote(read.subject_key, safe='')}/recoveries"

    return await idempotent_create(request, actor, body, create)


@router.get(
    "/v1/subjects/{key}/recoveries",
    response_model=SubjectRecoveries,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, SubjectNotFound),
)
async def read_recoveries(
    key: SubjectKey, session: ReadSession, actor: LedgerReader
) -> SubjectRecoveries:
    """A subject's ledger: every entry with running totals, totals overall and per case
    (`frozen_vnd`, `released_vnd`, `returned_vnd`, `held_vnd`); zero totals when nothing
    was recorded. Readable by the holding institution, police and `history:read`."""
    return await subject_recoveries(session, actor, canonical_subject(key))
