from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from app.db.session import ReadSession, WriteSession
from app.errors import (
    AUTH_ERRORS,
    IdempotencyKeyReused,
    InvalidInput,
    problem_responses,
)
from app.idempotency.service import idempotent_create
from app.recovery.auth import LedgerReader, Recorder
from app.recovery.schemas import RecoveryCreate, RecoveryRead, SubjectRecoveries
from app.recovery.service import record_entry, subject_recoveries
from app.subjects.schemas import SubjectKey
from app.subjects.service import SubjectNotFound, canonical_key

router = APIRouter(tags=["recovery"])


@router.post(
    "/v1/recoveries",
    status_code=201,
    response_model=RecoveryRead,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, IdempotencyKeyReused),
)
async def create_recovery(
    request: Request,
    body: RecoveryCreate,
    session: WriteSession,
    actor: Recorder,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    """Record money frozen, released to the holder, or returned to victims, in whole VND.
    A release or return larger than what is still held is a 422. Send `Idempotency-Key`."""

    async def create() -> tuple[RecoveryRead, int, str]:
        read = await record_entry(session, actor, body)
        return read, 1, f"/v1/subjects/{read.subject_key}/recoveries"

    return await idempotent_create(request, session, actor, body, create)


@router.get(
    "/v1/subjects/{key}/recoveries",
    response_model=SubjectRecoveries,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput, SubjectNotFound),
)
async def read_recoveries(
    key: SubjectKey, session: ReadSession, actor: LedgerReader
) -> SubjectRecoveries:
    """A subject's ledger: every entry with running totals, totals overall and per case
    (`frozen_vnd`, `released_vnd`, `returned_vnd`, `held_vnd`)."""
    return await subject_recoveries(session, canonical_key(key))
