from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from app.audit.auth import Auditor
from app.audit.checkpoint import CheckpointError, checkpoint_jwks, configured_public_keys
from app.audit.schemas import (
    AuditEvent,
    AuditEventPage,
    CheckpointJwk,
    CheckpointKeySet,
    VerifyResult,
)
from app.audit.verify import verify_chain
from app.db.session import ReadSession
from app.errors import (
    AUTH_ERRORS,
    InvalidInput,
    problem_responses,
)
from app.models import ChangeEvent, RegistryHead
from app.pagination import Limit

router = APIRouter(tags=["audit"])
log = logging.getLogger(__name__)


@router.get(
    "/v1/audit/events",
    response_model=AuditEventPage,
    responses=problem_responses(*AUTH_ERRORS, InvalidInput),
)
async def audit_events(
    session: ReadSession,
    actor: Auditor,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Limit = 100,
) -> AuditEventPage:
    """Every change event after `after`, in `seq` order, with actor, token id, request id,
    the entity's full new state, `prev_hash` and `hash`. Page with `next_after`."""
    stmt = select(ChangeEvent).where(ChangeEvent.seq > after).order_by(ChangeEvent.seq).limit(limit)
    events = (await session.execute(stmt)).scalars().all()
    head = (await session.execute(select(RegistryHead.seq))).scalar_one()
    items = [AuditEvent.model_validate(e, from_attributes=True) for e in events]
    return AuditEventPage(items=items, next_after=items[-1].seq if items else after, head_seq=head)


@router.get(
    "/v1/audit/verify", response_model=VerifyResult, responses=problem_responses(*AUTH_ERRORS)
)
async def audit_verify(session: ReadSession, actor: Auditor) -> VerifyResult:
    """Recompute the whole hash chain and report the first `seq` that does not verify
    (`first_bad_seq`), or `ok` with the head `seq` and hash to keep."""
    return await verify_chain(session)


@router.get("/v1/audit/checkpoint-keys", response_model=CheckpointKeySet)
async def checkpoint_keys(request: Request) -> CheckpointKeySet:
    """Public: the keys that verify signed audit checkpoints, as a JWK Set (ES256, `kid` =
    RFC 7638 thumbprint). Empty until the first `registry audit checkpoint` creates the key;
    this endpoint never creates one."""
    key_file = request.app.state.runtime.settings.checkpoint_key_file
    try:
        jwks = checkpoint_jwks(configured_public_keys(key_file))
    except CheckpointError as exc:
        log.error("checkpoint key unusable: %s", exc)
        jwks = {"keys": []}
    return CheckpointKeySet(keys=[CheckpointJwk(**jwk) for jwk in jwks["keys"]])
